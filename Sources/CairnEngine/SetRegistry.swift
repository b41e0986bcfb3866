import Synchronization

/// Set names and their ids (1...setCountMax; 0 is the null set). Ids are assigned in order of
/// first use and kept for the life of the process. Thread-safe.
public final class SetRegistry: Sendable {
    public static let setCountMax = 1023

    private struct State {
        var idsByName: [String: UInt16] = [:]
        var names: [String] = [""]
    }

    private let state = Mutex(State())

    public init() {}

    /// A registry holding `names` with ids 1, 2, … in order (a warm restart restores the table
    /// the previous process left). Duplicates or more than `setCountMax` names trap: the caller
    /// read them from a CRC-checked file written by `all`.
    public init(names: [String]) {
        precondition(names.count <= SetRegistry.setCountMax, "\(names.count) set names")
        var s = State()
        for name in names {
            precondition(s.idsByName[name] == nil, "set name \(name) twice")
            s.idsByName[name] = UInt16(s.names.count)
            s.names.append(name)
        }
        state.withLock { $0 = s }
    }

    /// The id of `name`, assigned if new; nil when the registry is full.
    public func id(for name: String) -> UInt16? {
        state.withLock { s in
            if let id = s.idsByName[name] { return id }
            guard s.names.count <= SetRegistry.setCountMax else { return nil }
            let id = UInt16(s.names.count)
            s.names.append(name)
            s.idsByName[name] = id
            return id
        }
    }

    /// The id of `name` if it is known.
    public func existingID(for name: String) -> UInt16? { state.withLock { $0.idsByName[name] } }

    public func name(for id: UInt16) -> String? {
        guard id != 0 else { return nil }
        return state.withLock { Int(id) < $0.names.count ? $0.names[Int(id)] : nil }
    }

    /// Every known set name with its id.
    public var all: [(id: UInt16, name: String)] {
        state.withLock { s in s.names.enumerated().dropFirst().map { (UInt16($0.offset), $0.element) } }
    }
}
