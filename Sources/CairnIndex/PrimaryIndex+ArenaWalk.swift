// MARK: Arena-order walk (warm restart statistics)

extension PrimaryIndex {
    /// Calls `body` for every record in arena (handle) order, not digest order: part `part` of
    /// `handles 1..<nextUnusedHandle` cut into `parts` contiguous ranges, so `parts` threads can
    /// walk the whole index at once.
    ///
    /// It reads the arena sequentially (the ordered walk jumps between tree nodes scattered
    /// over the arena, one cache miss per record), which makes whole-index statistics after a
    /// warm restart several times faster. It takes no sprig lock: call it only while no thread
    /// changes the index (between `attach` and serving).
    public func forEachRecordInArenaOrder(part: Int, of parts: Int, _ body: (IndexRecord) -> Void) {
        precondition(parts > 0 && part >= 0 && part < parts, "part \(part) of \(parts)")
        let end = arena.statistics.nextUnusedHandle
        let count = end - 1
        let first = 1 + count * UInt64(part) / UInt64(parts)
        let last = 1 + count * UInt64(part + 1) / UInt64(parts)
        var handle = first
        while handle < last {
            let entry = arena.entry(UInt32(handle))
            if entry.pointee.state == EntryState.live.rawValue { body(entry.pointee.record) }
            handle += 1
        }
    }
}
