@_spi(EngineInternals) import CairnEngine

/// What the simulator acknowledged, key by key, and what each key may hold after a restart.
///
/// Every value written is unique (its version), so a value read back names the write it came
/// from. A key's events are kept in issue order since its last checked restart.
struct SimulationModel {
    enum Status { case pending, acked, failed }

    enum Kind: Equatable {
        case put(version: UInt32, voidTime: UInt32)
        case delete(durable: Bool)
        case truncated
        /// The state a restart check observed (its start of history).
        case observed(version: UInt32?, voidTime: UInt32)
    }

    struct Event {
        var kind: Kind
        var status: Status
        var issuedNs: UInt64
        /// Versions below this were issued before the event.
        var versionFloor: UInt32 = 0
    }

    struct Key {
        var events: [Event] = [.init(kind: .observed(version: nil, voidTime: 0), status: .acked, issuedNs: 0)]
        /// Versions a plain delete may let come back (every version since the last truncation).
        var resurrectable: [UInt32: UInt32] = [:]  // version → void time
        /// A plain delete happened since the last barrier: older versions may come back.
        var plainDeleted = false
    }

    var keys: [Key]

    init(keyCount: Int) { keys = Array(repeating: Key(), count: keyCount) }

    /// Appends an event; returns its position for the completion.
    mutating func issue(_ key: Int, _ kind: Kind, nowNs: UInt64, status: Status = .pending, versionFloor: UInt32 = 0) -> Int {
        keys[key].events.append(Event(kind: kind, status: status, issuedNs: nowNs, versionFloor: versionFloor))
        if case .put(let v, let vt) = kind { keys[key].resurrectable[v] = vt }
        if kind == .delete(durable: false) { keys[key].plainDeleted = true }
        if kind == .truncated && status == .acked {
            keys[key].resurrectable.removeAll()
            keys[key].plainDeleted = false
        }
        return keys[key].events.count - 1
    }

    mutating func complete(_ key: Int, _ position: Int, _ status: Status, voidTime: UInt32? = nil) {
        guard position < keys[key].events.count else { return }  // history cut by a restart
        keys[key].events[position].status = status
        if let voidTime, case .put(let v, _) = keys[key].events[position].kind {
            keys[key].events[position].kind = .put(version: v, voidTime: voidTime)
            keys[key].resurrectable[v] = voidTime
        }
    }

    /// The version a state shows at `nowVoidTime` (nil: absent).
    static func visible(_ kind: Kind, nowVoidTime: UInt32) -> UInt32?? {
        switch kind {
        case .put(let v, let vt), .observed(let v?, let vt):
            return (vt != 0 && vt <= nowVoidTime) ? .some(nil) : .some(v)
        case .observed(nil, _), .delete, .truncated:
            return .some(nil)
        }
    }

    /// What a read may see while running: the newest event's state, or (past failed writes,
    /// which may or may not have been applied) the states before them.
    func allowedWhileRunning(_ key: Int, nowVoidTime: UInt32) -> Set<UInt32?> {
        var allowed: Set<UInt32?> = []
        for e in keys[key].events.reversed() {
            allowed.insert(Self.visible(e.kind, nowVoidTime: nowVoidTime)!)
            if e.status != .failed { break }
        }
        return allowed
    }

    /// What a key may hold after a restart: the state of its last guaranteed event or of any
    /// later one; with a plain delete among them, any version since the last truncation (a
    /// plain delete promises nothing across a restart). `guaranteed` says which events had to
    /// survive (commit-to-device: acknowledged; else acknowledged and older than the flush
    /// window; a clean stop: every event that did not fail).
    mutating func allowedAfterRestart(_ key: Int, nowVoidTime: UInt32, guaranteed: (Event) -> Bool) -> Set<UInt32?> {
        let events = keys[key].events
        var start = 0
        for (i, e) in events.enumerated().reversed() where guaranteed(e) {
            start = i
            break
        }
        // A durable delete that had to survive is a barrier: nothing older can come back.
        if events[start].kind == .delete(durable: true) {
            let floor = events[start].versionFloor
            keys[key].resurrectable = keys[key].resurrectable.filter { $0.key >= floor }
            keys[key].plainDeleted = events[(start + 1)...].contains { $0.kind == .delete(durable: false) }
        }
        var allowed: Set<UInt32?> = []
        for e in events[start...] { allowed.insert(Self.visible(e.kind, nowVoidTime: nowVoidTime)!) }
        if keys[key].plainDeleted {
            for (v, vt) in keys[key].resurrectable where vt == 0 || vt > nowVoidTime { allowed.insert(v) }
        }
        return allowed
    }

    /// After a restart's check: the observed state becomes the key's history.
    mutating func settle(_ key: Int, observed version: UInt32?, voidTime: UInt32) {
        keys[key].events = [Event(kind: .observed(version: version, voidTime: voidTime), status: .acked, issuedNs: 0)]
    }
}
