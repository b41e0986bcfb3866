@_spi(EngineInternals) import CairnEngine
import CairnStorage
import Foundation
import Testing

/// A thread's kept memory for writes: the operation list and the value arrays come back for
/// the next write once nothing holds them, are never shared with a write still holding them,
/// and are not handed out on another thread.
@Suite struct OperationScratchTests {
    func value(_ scratch: OperationScratch, _ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { scratch.bytes(copying: $0) }
    }

    @Test func valuesAndListsAreReused() {
        let scratch = OperationScratch()
        var operations = scratch.takeOperations() ?? []
        operations.append(.write(StoredBin(name: "a", particleType: .blob, bytes: value(scratch, [UInt8](repeating: 1, count: 900)))))
        operations.append(.touch)
        let valueAddress = operations.first.flatMap { op -> UnsafePointer<UInt8>? in
            guard case .write(let bin) = op else { return nil }
            return bin.bytes.withUnsafeBufferPointer { $0.baseAddress }
        }
        let listAddress = operations.withUnsafeBufferPointer { $0.baseAddress }
        scratch.keep(operations: operations)
        operations = []  // the write is over: nothing else holds its memory

        var next = scratch.takeOperations() ?? []
        #expect(next.isEmpty)
        #expect(next.withUnsafeBufferPointer { $0.baseAddress } == listAddress)
        let copied = value(scratch, [5, 6, 7])
        #expect(copied == [5, 6, 7])
        #expect(copied.withUnsafeBufferPointer { $0.baseAddress } == valueAddress)
        next.append(.write(StoredBin(name: "b", particleType: .blob, bytes: copied)))
        scratch.keep(operations: next)
    }

    /// A pending write keeps its memory from its continuation, while the continuation still
    /// holds it: the next write reuses it once the continuation let go.
    @Test func aPendingWritesMemoryIsReusedOnceItsContinuationLetGo() {
        let scratch = OperationScratch()
        var continuation: [BinOperation]? = {
            var operations = scratch.takeOperations() ?? []
            operations.append(.write(StoredBin(name: "a", particleType: .blob, bytes: value(scratch, [UInt8](repeating: 2, count: 700)))))
            return operations
        }()
        let listAddress = continuation!.withUnsafeBufferPointer { $0.baseAddress }
        let valueAddress = continuation!.first.flatMap { op -> UnsafePointer<UInt8>? in
            guard case .write(let bin) = op else { return nil }
            return bin.bytes.withUnsafeBufferPointer { $0.baseAddress }
        }
        scratch.keep(operations: continuation!)  // from the continuation, which still holds them
        continuation = nil  // and then lets go
        let next = scratch.takeOperations() ?? []
        #expect(next.isEmpty)
        #expect(next.withUnsafeBufferPointer { $0.baseAddress } == listAddress)
        #expect(value(scratch, [1, 2]).withUnsafeBufferPointer { $0.baseAddress } == valueAddress)
    }

    @Test func aValueStillHeldIsNotOverwritten() {
        let scratch = OperationScratch()
        var operations = scratch.takeOperations() ?? []
        operations.append(.write(StoredBin(name: "a", particleType: .blob, bytes: value(scratch, [1, 2, 3]))))
        let held = operations  // a pending write's continuation, say
        scratch.keep(operations: operations)
        operations = []
        _ = value(scratch, [9, 9, 9, 9])
        guard case .write(let bin) = held[0] else {
            Issue.record("the held operation changed")
            return
        }
        #expect(bin.bytes == [1, 2, 3])
    }

    @Test func anotherThreadGetsFreshMemory() {
        let scratch = OperationScratch()
        let answers = OffThreadAnswers {
            let list: [BinOperation] = [.touch]
            scratch.keep(operations: list)  // ignored off the owner thread
            return [scratch.takeOperations() == nil ? 1 : 0, list.count, [UInt8]([3, 4]).withUnsafeBytes { scratch.bytes(copying: $0) } == [3, 4] ? 1 : 0]
        }
        #expect(answers.values == [1, 1, 1])
        #expect(scratch.takeOperations()?.isEmpty == true)
    }
}

/// Runs `body` on a new thread and waits for its answers.
final class OffThreadAnswers: @unchecked Sendable {
    private(set) var values: [Int] = []
    init(_ body: @escaping @Sendable () -> [Int]) {
        let done = DispatchSemaphore(value: 0)
        Thread { [self] in
            values = body()
            done.signal()
        }.start()
        done.wait()
    }
}
