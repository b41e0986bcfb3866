import CairnParticle
import CairnStorage
import CairnTesting
import Testing
@_spi(EngineInternals) @testable import CairnEngine

/// Collection operations through `Namespace.operate`: the engine keeps record semantics, the
/// operation layer computes bins and results.
@Suite struct OperationLayerTests {
    func payload(_ command: Int, _ args: Value...) -> [UInt8] { Value.list([.int(Int64(command))] + args).encoded }

    func code(_ body: () throws -> Void) -> EngineResult? {
        do { try body(); return nil } catch let e as EngineError { return e.result } catch { return .serverError }
    }

    @Test func listAppendCreatesTheBinAndResultsAreParticles() throws {
        let dir = try TemporaryDirectory()
        let ns = try Namespace.open(namespaceOptions([dir.file("p.dat")], fileSizeBytes: 16 << 20))
        let d = testDigest(1)
        var result = try ns.operate(d, operations: [
            .cdt("l", payload(2, .list([.int(3), .string("x")])), isWrite: true),
            .cdt("l", payload(17, .int(1)), isWrite: false),
            .cdt("l", payload(18, .int(0)), isWrite: false),
        ])
        #expect(result.generation == 1)
        #expect(result.bins[0].1 == StoredBin(name: "l", particleType: .integer, bytes: [0, 0, 0, 0, 0, 0, 0, 2]))
        #expect(result.bins[1].1 == StoredBin(name: "l", particleType: .string, bytes: Array("x".utf8)))
        #expect(result.bins[2].1 == StoredBin(name: "l", particleType: .list, bytes: [0x92, 0x03, 0xa2, 0x03, 0x78]))
        // The stored bin is the list, byte for byte.
        #expect(try ns.get(d)?.bins == [StoredBin(name: "l", particleType: .list, bytes: [0x92, 0x03, 0xa2, 0x03, 0x78])])
        // A read-only operate (no write) sees it too, and a missing bin reads as nothing.
        result = try ns.operate(d, operations: [.cdt("l", payload(16), isWrite: false), .cdt("none", payload(16), isWrite: false)])
        #expect(result.bins[0].1?.bytes == [0, 0, 0, 0, 0, 0, 0, 2])
        #expect(result.bins[1].1 == nil)
        try ns.close()
    }

    @Test func failuresLeaveTheRecordAlone() throws {
        let dir = try TemporaryDirectory()
        let ns = try Namespace.open(namespaceOptions([dir.file("p.dat")], fileSizeBytes: 16 << 20))
        let d = testDigest(2)
        try ns.put(d, bins: [intBin("i", 5)])
        #expect(code { _ = try ns.operate(d, operations: [.cdt("i", payload(1, .int(1)), isWrite: true)]) } == .binTypeError)
        #expect(code {
            _ = try ns.operate(d, operations: [
                .cdt("l", payload(1, .int(1)), isWrite: true), .cdt("l", payload(17, .int(5)), isWrite: false),
            ])
        } == .opNotApplicable)
        #expect(code { _ = try ns.operate(d, operations: [.cdt("m", payload(67, .double(1.5), .int(1)), isWrite: true)]) } == .parameterError)
        #expect(code { _ = try ns.operate(d, operations: [.cdt(String(repeating: "n", count: 16), payload(1, .int(1)), isWrite: true)]) } == .binNameTooLong)
        let record = try #require(try ns.get(d))
        #expect(record.bins == [intBin("i", 5)])
        #expect(record.generation == 1)
        // A CDT read of a missing record is not found.
        #expect(code { _ = try ns.operate(testDigest(3), operations: [.cdt("l", payload(16), isWrite: false)]) } == .keyNotFound)
        try ns.close()
    }

    /// Map writes on a stored map run on its bytes (InPlaceCDT.mapWrite): the stored bin and the
    /// results are the general path's, and a write the fast path declines (CREATE_ONLY on an
    /// existing key) fails as before, leaving the record alone.
    @Test func mapWritesOnAStoredMapRunOnItsBytes() throws {
        let dir = try TemporaryDirectory()
        let ns = try Namespace.open(namespaceOptions([dir.file("p.dat")], fileSizeBytes: 16 << 20))
        let d = testDigest(4)
        func int(_ v: Int64) -> StoredBin { StoredBin(name: "m", particleType: .integer, bytes: (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * (7 - Int64($0)))) }) }
        // put with order attributes 1 creates a key-ordered map (general path: no bin yet).
        var result = try ns.operate(d, operations: [.cdt("m", payload(67, .string("b"), .int(2), .int(1)), isWrite: true)])
        #expect(result.bins[0].1 == int(1))
        result = try ns.operate(d, operations: [
            .cdt("m", payload(73, .string("b"), .int(40)), isWrite: true),  // increment an existing key: 42
            .cdt("m", payload(74, .string("a")), isWrite: true),  // decrement a new key: -1, first in key order
            .cdt("m", payload(67, .string("c"), .list([.int(1)])), isWrite: true),  // a new key: 3 entries
            .cdt("m", payload(68, .map([MapEntry(.int(7), .int(7)), MapEntry(.string("c"), .string("x"))], flags: 0)), isWrite: true),
        ])
        #expect(result.bins.map(\.1) == [int(42), int(-1), int(3), int(4)])
        let expected = Value.map([
            MapEntry(.int(7), .int(7)), MapEntry(.string("a"), .int(-1)), MapEntry(.string("b"), .int(42)),
            MapEntry(.string("c"), .string("x")),
        ], flags: MapFlags.keyOrdered).encoded
        #expect(try ns.get(d)?.bins == [StoredBin(name: "m", particleType: .map, bytes: expected)])
        // CREATE_ONLY on an existing key: 24, nothing written.
        #expect(code { _ = try ns.operate(d, operations: [.cdt("m", payload(67, .string("a"), .int(1), .int(1), .int(1)), isWrite: true)]) }
            == .elementExists)
        let record = try #require(try ns.get(d))
        #expect(record.bins == [StoredBin(name: "m", particleType: .map, bytes: expected)])
        #expect(record.generation == 2)
        try ns.close()
    }

    @Test func bitAndHLLOperationsStoreTheirParticleTypes() throws {
        let dir = try TemporaryDirectory()
        let ns = try Namespace.open(namespaceOptions([dir.file("p.dat")], fileSizeBytes: 16 << 20))
        let d = testDigest(5)
        // Resize creates a blob bin; set_int, then get_int reads it back in the same call.
        var result = try ns.operate(d, operations: [
            .bits("b", payload(0, .int(2)), isWrite: true),
            .bits("b", payload(12, .int(4), .int(8), .int(0xab)), isWrite: true),
            .bits("b", payload(54, .int(4), .int(8)), isWrite: false),
            .hll("h", payload(1, .list([.string("a"), .string("b")]), .int(4)), isWrite: true),
        ])
        #expect(result.bins.map(\.1) == [nil, nil, StoredBin(name: "b", particleType: .integer, bytes: [0, 0, 0, 0, 0, 0, 0, 0xab]),
                                          StoredBin(name: "h", particleType: .integer, bytes: [0, 0, 0, 0, 0, 0, 0, 2])])
        let record = try #require(try ns.get(d))
        #expect(record.bins.first { $0.name == "b" } == StoredBin(name: "b", particleType: .blob, bytes: [0x0a, 0xb0]))
        #expect(record.bins.first { $0.name == "h" }?.particleType == .hll)
        // A read-only operate counts the HLL; a bit op on the HLL bin (not a blob) is a type error,
        // and leaves the record alone.
        result = try ns.operate(d, operations: [.hll("h", payload(50), isWrite: false)])
        #expect(result.bins[0].1 == StoredBin(name: "h", particleType: .integer, bytes: [0, 0, 0, 0, 0, 0, 0, 2]))
        #expect(code { _ = try ns.operate(d, operations: [.bits("h", payload(0, .int(2)), isWrite: true)]) } == .binTypeError)
        #expect(code { _ = try ns.operate(d, operations: [.bits("b", payload(3, .int(12), .int(8), .blob(4, [0xff])), isWrite: true)]) }
            == .opNotApplicable)
        #expect(try ns.get(d)?.generation == 1)
        try ns.close()
    }

    @Test func aFilteredWriteChangesNothingAndACreateIsNotFiltered() throws {
        let dir = try TemporaryDirectory()
        let ns = try Namespace.open(namespaceOptions([dir.file("p.dat")], fileSizeBytes: 16 << 20))
        let d = testDigest(6)
        // [1, [81, 2, "i"], 6]: bin i == 6.
        var options = WriteOptions()
        options.filter = try RecordFilter([0x93, 0x01, 0x93, 81, 2, 0xa1, UInt8(ascii: "i"), 6])
        try ns.put(d, bins: [intBin("i", 5)], options: options)  // created: not filtered
        #expect(code { try ns.put(d, bins: [intBin("i", 7)], options: options) } == .filteredOut)
        var replace = options
        replace.exists = .replace  // a replace reads the record it filters too
        #expect(code { try ns.put(d, bins: [intBin("i", 7)], options: replace) } == .filteredOut)
        #expect(code { _ = try ns.operate(d, operations: [.deleteRecord], options: options) } == .filteredOut)
        let record = try #require(try ns.get(d))
        #expect(record.bins == [intBin("i", 5)] && record.generation == 1)
        options.filter = try RecordFilter([0x93, 0x01, 0x93, 81, 2, 0xa1, UInt8(ascii: "i"), 5])
        try ns.put(d, bins: [intBin("i", 7)], options: options)
        #expect(try ns.get(d)?.bins == [intBin("i", 7)])
        // A read-only operate is filtered too (i is 7 now, the filter wants 5).
        #expect(code { _ = try ns.operate(d, operations: [.read("i")], options: options) } == .filteredOut)
        options.filter = try RecordFilter([0x93, 0x01, 0x93, 81, 2, 0xa1, UInt8(ascii: "i"), 7])
        #expect(try ns.operate(d, operations: [.read("i")], options: options).bins.first?.1 == intBin("i", 7))
        try ns.close()
    }

    @Test func generationCheckOnAMissingRecordIsNotFound() throws {
        let dir = try TemporaryDirectory()
        let ns = try Namespace.open(namespaceOptions([dir.file("p.dat")], fileSizeBytes: 16 << 20))
        #expect(code { try ns.put(testDigest(4), bins: [intBin("a", 1)], options: WriteOptions(generation: .expectEqual(0))) } == .keyNotFound)
        #expect(code { try ns.put(testDigest(4), bins: [intBin("a", 1)], options: WriteOptions(generation: .expectGreater(0))) } == .keyNotFound)
        try ns.close()
    }
}
