@_spi(EngineInternals) import CairnEngine
import CairnModel

/// What the simulator acknowledged, key by key, and what each key may hold after a restart.
///
/// Every value written is unique (its version), so a value read back names the write it came
/// from. A key's events are kept in issue order since its last checked restart.
///
/// Eviction: the model keeps the namespace's eviction mark (a void time and a LUT, raised by
/// nsup cycles and cold starts). A state with a TTL whose void time is at or below the mark's, last
/// updated at or before the mark's LUT, in a set that allows eviction, is gone, and must stay gone
/// through every read, scan and restart (docs/simulation.md).
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
        /// The LUT the engine gave the write (nil: not known, the write may not have been applied).
        var lut: UInt64? = nil
        /// A put's copy among its version's ``Key/resurrectable`` copies.
        var copyIndex = 0
        /// The key's ``Key/truncations`` when the put was issued: a truncation since empties the
        /// copies, and `copyIndex` may then name a later put's copy.
        var copyEpoch = 0
    }

    /// A copy of a version that may come back after a plain delete: its void time and LUT. A
    /// touch writes the version again with another void time and LUT; the copies before it stay
    /// on the device until their blocks are reused, and any of them may come back.
    struct Copy {
        var voidTime: UInt32
        var lut: UInt64?
    }

    /// The namespace's eviction mark as the model knows it (zero: nothing evicted).
    struct Mark: Equatable, CustomStringConvertible {
        var voidTime: UInt32 = 0
        var lutMs: UInt64 = 0
        var description: String { "void time \(voidTime), LUT \(lutMs)" }
        /// Whether one half is below `other`'s (the mark only grows).
        func isBelow(_ other: Mark) -> Bool { voidTime < other.voidTime || lutMs < other.lutMs }
    }

    struct Key {
        var events: [Event] = [.init(kind: .observed(version: nil, voidTime: 0), status: .acked, issuedNs: 0)]
        /// Versions a plain delete may let come back (every version since the last truncation).
        var resurrectable: [UInt32: [Copy]] = [:]
        /// A plain delete happened since the last barrier: older versions may come back.
        var plainDeleted = false
        /// Truncations that emptied ``resurrectable``.
        var truncations = 0

        /// Sets the copy `event`'s put recorded (nothing when a truncation emptied the list since:
        /// its index may name another put's copy by now).
        mutating func setCopy(of version: UInt32, for event: Event, _ copy: Copy) {
            guard event.copyEpoch == truncations, let count = resurrectable[version]?.count, event.copyIndex < count
            else { return }
            resurrectable[version]![event.copyIndex] = copy
        }
    }

    var keys: [Key]
    var mark = Mark()
    /// Per key: whether its set allows eviction (false in a `disable-eviction` set).
    let evictable: [Bool]

    init(keyCount: Int, evictable: (Int) -> Bool = { _ in true }) {
        keys = Array(repeating: Key(), count: keyCount)
        self.evictable = (0..<keyCount).map(evictable)
    }

    /// Appends an event; returns its position for the completion.
    mutating func issue(_ key: Int, _ kind: Kind, nowNs: UInt64, status: Status = .pending, versionFloor: UInt32 = 0) -> Int {
        var event = Event(kind: kind, status: status, issuedNs: nowNs, versionFloor: versionFloor)
        if case .put(let v, let vt) = kind {
            event.copyIndex = keys[key].resurrectable[v, default: []].count
            event.copyEpoch = keys[key].truncations
            keys[key].resurrectable[v, default: []].append(Copy(voidTime: vt, lut: nil))
        }
        keys[key].events.append(event)
        if kind == .delete(durable: false) { keys[key].plainDeleted = true }
        if kind == .truncated && status == .acked {
            keys[key].resurrectable.removeAll()
            keys[key].truncations += 1
            keys[key].plainDeleted = false
        }
        return keys[key].events.count - 1
    }

    mutating func complete(_ key: Int, _ position: Int, _ status: Status, voidTime: UInt32? = nil) {
        guard position < keys[key].events.count else { return }  // history cut by a restart
        keys[key].events[position].status = status
        if let voidTime, case .put(let v, _) = keys[key].events[position].kind {
            keys[key].events[position].kind = .put(version: v, voidTime: voidTime)
            keys[key].setCopy(of: v, for: keys[key].events[position], Copy(voidTime: voidTime, lut: keys[key].events[position].lut))
        }
    }

    /// What the engine applied for the event at `position` (read from its index right after the
    /// write): the void time and LUT of the new copy.
    mutating func applied(_ key: Int, _ position: Int, voidTime: UInt32, lut: UInt64) {
        guard position < keys[key].events.count else { return }
        keys[key].events[position].lut = lut
        if case .put(let v, _) = keys[key].events[position].kind {
            keys[key].events[position].kind = .put(version: v, voidTime: voidTime)
            keys[key].setCopy(of: v, for: keys[key].events[position], Copy(voidTime: voidTime, lut: lut))
        }
    }

    /// Whether the eviction mark hides a copy of `key` with this void time and LUT: true, false,
    /// or nil when the LUT is not known (either may be seen).
    func isEvicted(_ key: Int, voidTime: UInt32, lut: UInt64?, under mark: Mark? = nil) -> Bool? {
        let mark = mark ?? self.mark
        guard evictable[key], voidTime != 0, voidTime <= mark.voidTime else { return false }
        guard let lut else { return nil }
        return lut <= mark.lutMs
    }

    /// The versions a state may show at `nowVoidTime` (nil: absent): expired and evicted states
    /// are absent.
    func visible(_ key: Int, _ e: Event, nowVoidTime: UInt32, mark: Mark? = nil) -> Set<UInt32?> {
        switch e.kind {
        case .put(let v, let vt), .observed(let v?, let vt):
            if Expiry.hasExpired(voidTime: vt, now: nowVoidTime) { return [nil] }
            switch isEvicted(key, voidTime: vt, lut: e.lut, under: mark) {
            case true?: return [nil]
            case false?: return [v]
            case nil: return [v, nil]
            }
        case .observed(nil, _), .delete, .truncated:
            return [nil]
        }
    }

    /// What a read may see while running: the newest event's state, or (past failed writes,
    /// which may or may not have been applied) the states before them.
    func allowedWhileRunning(_ key: Int, nowVoidTime: UInt32) -> Set<UInt32?> {
        var allowed: Set<UInt32?> = []
        for e in keys[key].events.reversed() {
            allowed.formUnion(visible(key, e, nowVoidTime: nowVoidTime))
            if e.status != .failed { break }
        }
        return allowed
    }

    /// What a key may hold after a restart: the state of its last guaranteed event or of any
    /// later one; with a plain delete since the last guaranteed durable delete, any version since
    /// that delete or the last truncation (a plain delete promises nothing across a restart, but
    /// a durable delete's barrier holds), unless the last guaranteed event is a put (or a found
    /// copy) that no plain delete followed: nothing older than it comes back. `guaranteed` says
    /// which events had to survive (commit-to-device: acknowledged; else acknowledged and older
    /// than the flush window; a clean stop: every event that did not fail).
    mutating func allowedAfterRestart(_ key: Int, nowVoidTime: UInt32, mark: Mark? = nil,
                                      guaranteed: (Event) -> Bool) -> Set<UInt32?> {
        let events = keys[key].events
        var start = 0
        for (i, e) in events.enumerated().reversed() where guaranteed(e) {
            start = i
            break
        }
        // A durable delete that had to survive is a barrier: nothing older can come back, whatever
        // followed it (a put over it keeps the barrier, and a plain delete of that copy writes a
        // tombstone: FORMAT.md "Durable-delete barrier").
        if let barrier = events[...start].lastIndex(where: { $0.kind == .delete(durable: true) && guaranteed($0) }) {
            let floor = events[barrier].versionFloor
            keys[key].resurrectable = keys[key].resurrectable.filter { $0.key >= floor }
            keys[key].plainDeleted = events[(barrier + 1)...].contains { $0.kind == .delete(durable: false) }
        }
        var allowed: Set<UInt32?> = []
        for e in events[start...] { allowed.formUnion(visible(key, e, nowVoidTime: nowVoidTime, mark: mark)) }
        // A copy that had to survive (a put, or what the last restart found) is the newest of
        // its key's copies on the device: a record created again after a plain delete is
        // ordered above the deleted copies even within their millisecond (`RemovedCopyLuts`),
        // so they come back only after a plain delete of that copy.
        let newestSurvives: Bool
        switch events[start].kind {
        case .put, .observed(_?, _): newestSurvives = !events[(start + 1)...].contains { $0.kind == .delete(durable: false) }
        case .observed(nil, _), .delete, .truncated: newestSurvives = false
        }
        if keys[key].plainDeleted && !newestSurvives {
            for (v, copies) in keys[key].resurrectable {
                // An older copy the mark hides stays hidden, whatever a plain delete lets return.
                if copies.contains(where: { copy in
                    !Expiry.hasExpired(voidTime: copy.voidTime, now: nowVoidTime)
                        && isEvicted(key, voidTime: copy.voidTime, lut: copy.lut, under: mark) != true
                }) { allowed.insert(v) }
            }
        }
        return allowed
    }

    /// After a restart's check: the observed state becomes the key's history.
    mutating func settle(_ key: Int, observed version: UInt32?, voidTime: UInt32, lut: UInt64? = nil) {
        keys[key].events = [Event(kind: .observed(version: version, voidTime: voidTime), status: .acked, issuedNs: 0, lut: lut)]
    }
}
