import CairnEngine
import CairnIndex
import CairnStorage
import CairnTesting
import Foundation
import Synchronization
import Testing

/// Record transforms (record UDFs) through the write path: what they see, what they commit, and
/// that a failing one writes nothing.
@Suite struct NamespaceApplyTests {
    private func apply(_ ns: Namespace, _ digest: Digest, options: WriteOptions = WriteOptions(),
                       _ body: @escaping @Sendable (TransformInput) -> TransformDecision) throws(EngineError) -> OperateResult {
        let result = Mutex<Result<OperateResult, EngineError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        ns.apply(digest, options: options, transform: RecordTransform(body), resume: .inline) { outcome in
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }

    @Test func transformsCommitLikeWrites() throws {
        let dir = try TemporaryDirectory()
        let ns = try Namespace.open(namespaceOptions([dir.file("a.dat")], commitToDevice: true))
        let digest = testDigest(1)
        // A missing record: the transform sees none and creates it.
        let created = try apply(ns, digest) { input in
            #expect(!input.exists && input.bins.isEmpty && input.generation == 0)
            return TransformDecision(change: .write([intBin("a", 1)]), reply: [intBin("SUCCESS", 0)])
        }
        #expect(created.generation == 1 && created.failure == nil)
        #expect(created.bins.map(\.0) == ["SUCCESS"])
        // An existing one: it sees its bins and generation; its write bumps the generation.
        let updated = try apply(ns, digest) { input in
            #expect(input.exists && input.bins == [intBin("a", 1)] && input.generation == 1)
            return TransformDecision(change: .write(input.bins + [intBin("b", 2)]), ttl: .seconds(100), reply: [])
        }
        #expect(updated.generation == 2 && updated.voidTime != 0)
        #expect(try ns.get(digest)?.bins == [intBin("a", 1), intBin("b", 2)])
        // A read-only transform writes nothing and reports the record's metadata.
        let read = try apply(ns, digest) { _ in TransformDecision(change: .none, reply: [intBin("SUCCESS", 9)]) }
        #expect(read.generation == 2)
        // A failing one writes nothing, and its reply and code come back.
        let failed = try apply(ns, digest) { input in
            TransformDecision(change: .write([]), reply: [stringBin("FAILURE", "boom")], failure: 100)
        }
        #expect(failed.failure == 100 && failed.bins.map(\.0) == ["FAILURE"])
        #expect(try ns.get(digest)?.generation == 2)
        // No bins left: the record is deleted; deleting a missing one is not found.
        _ = try apply(ns, digest) { _ in TransformDecision(change: .write([]), reply: []) }
        #expect(try ns.get(digest) == nil)
        #expect(throws: EngineError.self) { try apply(ns, digest) { _ in TransformDecision(change: .write([]), reply: []) } }
        // Policies hold: a generation check that fails never runs the transform.
        var options = WriteOptions()
        options.generation = .expectEqual(7)
        _ = try apply(ns, digest) { _ in TransformDecision(change: .write([intBin("a", 1)]), reply: []) }
        #expect(throws: EngineError.self) {
            try apply(ns, digest, options: options) { _ in
                Issue.record("the transform ran despite the generation check")
                return TransformDecision(change: .none, reply: [])
            }
        }
        try ns.close()
    }
}
