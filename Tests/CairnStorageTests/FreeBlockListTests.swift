@testable import CairnStorage
import Testing

/// The writer's free list: LIFO order, O(1) membership that follows every push and pop.
@Suite struct FreeBlockListTests {
    @Test func membershipFollowsPushesAndPopsInLIFOOrder() {
        var list = FreeBlockList(blockCount: 200)
        #expect(list.isEmpty && !list.contains(5))
        list.append(contentsOf: [5, 64, 63, 199])
        #expect(list.count == 4)
        for b: UInt32 in [5, 63, 64, 199] { #expect(list.contains(b)) }
        #expect(!list.contains(6) && !list.contains(0) && !list.contains(1000))
        #expect(list.popLast() == 199)
        #expect(!list.contains(199))
        list.append(199)
        #expect(list.blocks == [5, 64, 63, 199])
        var popped: [UInt32] = []
        while let b = list.popLast() { popped.append(b) }
        #expect(popped == [199, 63, 64, 5])
        for b: UInt32 in [5, 63, 64, 199] { #expect(!list.contains(b)) }
        list.append(5)  // a block popped can be freed again
        #expect(list.contains(5))
    }
}
