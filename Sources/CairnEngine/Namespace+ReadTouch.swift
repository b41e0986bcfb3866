import CairnIndex
import CairnModel

extension Namespace {
    /// What a read asks of read-touch (the read request's `record_ttl`, PROTOCOL.md §6.5).
    public enum ReadTouchRequest: Sendable, Equatable {
        /// 0: the namespace's `default-read-touch-ttl-pct`.
        case namespaceDefault
        /// -1: never touch on this read.
        case never
        /// 1...100: touch within this percentage of the last write's TTL before end of life.
        case percent(UInt32)

        /// The request for a read's wire `record_ttl`, or nil when it is none of the above
        /// (PARAMETER).
        public init?(wire: UInt32) {
            switch wire {
            case 0: self = .namespaceDefault
            case 0xFFFF_FFFF: self = .never
            case 1...100: self = .percent(wire)
            default: return nil
            }
        }
    }

    /// Read-touch (Aerospike 7.1+): when `record` was just read and at most `percent`% of the
    /// TTL its last write gave it is left (whole seconds, rounded down as Aerospike does), touches
    /// it so the TTL starts again (and the generation goes up), which makes a TTL namespace a
    /// least-recently-used cache. The touch is a normal update that only applies if the record
    /// is still at the generation that was read (a write in between already reset the TTL); its
    /// outcome is not waited for. Returns whether a touch was started.
    @discardableResult
    public func readTouch(_ record: EngineRecord, digest: Digest, request: ReadTouchRequest, resume: Resume) -> Bool {
        readTouch(digest, generation: record.generation, voidTime: record.voidTime, lastUpdateMs: record.lastUpdateMs,
                  request: request, resume: resume)
    }

    /// `exists` with read-touch: the record's metadata, after starting a touch when the read is
    /// inside the window (see `readTouch`).
    public func exists(_ digest: Digest, request: ReadTouchRequest, resume: Resume) -> (generation: UInt16, voidTime: UInt32)? {
        guard let current = index.lookup(digest), isVisible(current, nowVoidTime: nowVoidTime) else { return nil }
        readTouch(digest, generation: current.generation, voidTime: current.voidTimeSeconds,
                  lastUpdateMs: current.lastUpdateTimeMs, request: request, resume: resume)
        return (current.generation, current.voidTimeSeconds)
    }

    @discardableResult
    func readTouch(_ digest: Digest, generation: UInt16, voidTime: UInt32, lastUpdateMs: UInt64,
                   request: ReadTouchRequest, resume: Resume) -> Bool {
        let percent: UInt32
        switch request {
        case .never: return false
        case .percent(let p): percent = p
        case .namespaceDefault: percent = options.readTouchTTLPercent
        }
        guard percent > 0, voidTime != 0 else { return false }
        let lastWrite = UInt32(truncatingIfNeeded: lastUpdateMs / 1000)
        guard voidTime > lastWrite else { return false }
        let ttl = voidTime - lastWrite
        let now = nowVoidTime
        // Aerospike's window: the last `ttl × percent / 100` whole seconds of the record's life,
        // its void-time second included (it is still live then).
        guard !Expiry.hasExpired(voidTime: voidTime, now: now) else { return false }
        let remaining = UInt64(voidTime - now)
        guard remaining <= UInt64(ttl) * UInt64(percent) / 100 else { return false }
        var options = WriteOptions()
        options.exists = .updateOnly
        options.generation = .expectEqual(generation)
        options.ttl = .seconds(ttl)
        readTouches.add(1, ordering: .relaxed)
        operate(digest, operations: [.touch], options: options, resume: resume) { _ in }
        return true
    }
}
