import Testing

@testable import CairnIO

@Suite struct AlignedBufferTests {
    /// A mapped buffer reads as zeros, says so once, and writes and reads like any other.
    @Test func mappedBufferStartsZeroAndSaysSoOnce() {
        let buffer = AlignedBuffer(mappedCountBytes: 1 << 20, alignmentBytes: 4096)
        #expect(buffer.withUnsafeBytes { $0.allSatisfy { $0 == 0 } })
        #expect(buffer.takeFreshZeroes())
        #expect(!buffer.takeFreshZeroes())
        buffer.withUnsafeMutableBytes { $0[12345] = 7 }
        buffer.zero(0..<4096)
        #expect(buffer.withUnsafeBytes { $0[12345] } == 7)
        buffer.zero()
        #expect(buffer.withUnsafeBytes { $0.allSatisfy { $0 == 0 } })
    }

    /// A written (posix_memalign) buffer is zeroed when made, so it never claims fresh zeroes:
    /// its user zeroes it as before.
    @Test func writtenBufferNeverClaimsFreshZeroes() {
        let buffer = AlignedBuffer(countBytes: 8192, alignmentBytes: 4096)
        #expect(buffer.withUnsafeBytes { $0.allSatisfy { $0 == 0 } })
        #expect(!buffer.takeFreshZeroes())
    }

    /// A mapped pool hands each new buffer out fresh once; a recycled one is not fresh again,
    /// so the writer zeroes what a block left in it.
    @Test func mappedPoolHandsOutFreshBuffersOnce() throws {
        let pool = AlignedBufferPool(bufferSizeBytes: 1 << 20, alignmentBytes: 4096, capacity: 2, mapped: true)
        let first = try pool.take()
        #expect(first.takeFreshZeroes())
        first.withUnsafeMutableBytes { $0[0] = 1 }
        pool.recycle(first)
        let again = try pool.take()
        #expect(again === first)
        #expect(!again.takeFreshZeroes())
        let second = try pool.take()
        #expect(second !== first)
        #expect(second.takeFreshZeroes())
        pool.recycle(again)
        pool.recycle(second)
        #expect(pool.outstandingCount == 0)
    }
}
