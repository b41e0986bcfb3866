import Synchronization

/// Names and their ids (1...capacity; 0 is no name) in order of first use, kept for the life of
/// the process: a namespace's set names (the index stores a set id per record) and its bin
/// names (``BinNameIDs``). A warm restart restores both tables from the state file. Thread-safe.
public final class NameRegistry: Sendable {
    /// Sets per namespace, as Aerospike allows (ids 1...1023).
    public static let setCountMax = 1023
    /// Bin names a namespace's table holds; a record with a name beyond them is stored with
    /// unknown bin names (its updates read it first), nothing more.
    public static let binNameCountMax = Int(UInt16.max)

    /// The most names this table holds.
    public let capacity: Int
    /// Unique among the tables of this process (never reused), so a thread may cache ids by it.
    public let serial: UInt64

    private struct State {
        var idsByName: [String: UInt16] = [:]
        var names: [String] = [""]
    }

    private let state = Mutex(State())
    private static let serials = Atomic<UInt64>(0)

    /// A table holding `names` with ids 1, 2, … in order (a warm restart restores the table the
    /// previous process left). Duplicates or more than `capacity` names trap: the caller read
    /// them from a CRC-checked file written by `all`.
    public init(capacity: Int, names: [String] = []) {
        precondition(capacity >= 1 && capacity <= Int(UInt16.max), "name table of \(capacity)")
        precondition(names.count <= capacity, "\(names.count) names for a table of \(capacity)")
        self.capacity = capacity
        serial = NameRegistry.serials.add(1, ordering: .relaxed).newValue
        var s = State()
        for name in names {
            precondition(s.idsByName[name] == nil, "name \(name) twice")
            s.idsByName[name] = UInt16(s.names.count)
            s.names.append(name)
        }
        state.withLock { $0 = s }
    }

    /// The id of `name`, assigned if new; nil when the table is full.
    public func id(for name: String) -> UInt16? {
        state.withLock { s in
            if let id = s.idsByName[name] { return id }
            guard s.names.count <= capacity else { return nil }
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

    /// Every known name with its id.
    public var all: [(id: UInt16, name: String)] {
        state.withLock { s in s.names.enumerated().dropFirst().map { (UInt16($0.offset), $0.element) } }
    }
}
