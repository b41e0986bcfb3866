import Testing

@testable import CairnServer

/// The io_uring service's per-connection byte area: data stays in order across appends,
/// consumes, compaction and growth, and nothing moves while the kernel holds it.
@Suite struct SocketBytesTests {
    @Test func appendConsumeCompactAndGrowKeepTheBytesInOrder() {
        let area = SocketBytes(capacityBytes: 16)
        var model: [UInt8] = []
        var next: UInt8 = 0
        for round in 0..<200 {
            let add = (round * 7) % 23
            let bytes = (0..<add).map { _ -> UInt8 in
                next &+= 1
                return next
            }
            bytes.withUnsafeBytes { area.append($0) }
            model += bytes
            let drop = min(model.count, (round * 5) % 19)
            area.consume(drop)
            model.removeFirst(drop)
            #expect(Array(area.readable) == model)
            #expect(area.countBytes == model.count)
        }
    }

    @Test func receiveIntoTheTailAfterReserve() {
        let area = SocketBytes(capacityBytes: 8)
        ([1, 2, 3] as [UInt8]).withUnsafeBytes { area.append($0) }
        area.consume(2)
        area.reserve(20)
        #expect(area.freeBytes >= 20)
        #expect(Array(area.readable) == [3])
        // What a receive does: the kernel writes at the tail, then the owner counts it in.
        area.isLent = true
        let tail = area.writableTail
        for i in 0..<4 { tail.storeBytes(of: UInt8(10 + i), toByteOffset: i, as: UInt8.self) }
        // Consuming while lent never moves the data under the kernel.
        area.consume(1)
        #expect(area.isEmpty)
        area.isLent = false
        area.didFill(4)
        #expect(Array(area.readable) == [10, 11, 12, 13])
    }

    @Test func trimShrinksOnlyAnEmptyArea() {
        let area = SocketBytes(capacityBytes: 8)
        area.reserve(1000)
        #expect(area.capacityBytes >= 1000)
        ([7] as [UInt8]).withUnsafeBytes { area.append($0) }
        area.trim(to: 8)
        #expect(area.capacityBytes >= 1000)
        area.consume(1)
        area.trim(to: 8)
        #expect(area.capacityBytes == 8)
    }
}
