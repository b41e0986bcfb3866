/// A device writer's free blocks: a LIFO list (the block freed last is reused first) with a
/// membership bit per block, so asking whether a block is free costs O(1) under the writer's lock
/// (defrag asks for every block it takes) instead of a walk of the list.
///
/// A block can be on the list once: a second entry would give one block to two write buffers,
/// and the later buffer's records would overwrite the earlier's (`append` traps instead).
struct FreeBlockList {
    private(set) var blocks: [UInt32] = []
    private var members: [UInt64]
    let blockCount: Int

    init(blockCount: Int) {
        precondition(blockCount >= 0, "negative block count")
        self.blockCount = blockCount
        members = [UInt64](repeating: 0, count: (blockCount + 63) / 64)
    }

    var count: Int { blocks.count }
    var isEmpty: Bool { blocks.isEmpty }

    func contains(_ block: UInt32) -> Bool {
        let b = Int(block)
        guard b < blockCount else { return false }
        return members[b >> 6] & (1 << UInt64(b & 63)) != 0
    }

    mutating func append(_ block: UInt32) {
        let b = Int(block)
        precondition(b < blockCount, "free block \(block) past the device's \(blockCount) blocks")
        precondition(!contains(block), "block \(block) freed twice (it is already on the free list)")
        members[b >> 6] |= 1 << UInt64(b & 63)
        blocks.append(block)
    }

    mutating func append(contentsOf more: some Sequence<UInt32>) {
        for block in more { append(block) }
    }

    mutating func popLast() -> UInt32? {
        guard let block = blocks.popLast() else { return nil }
        let b = Int(block)
        members[b >> 6] &= ~(1 << UInt64(b & 63))
        return block
    }
}
