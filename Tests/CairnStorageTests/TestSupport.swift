import CairnModel
import Foundation
@testable import CairnStorage

/// A small seeded generator (SplitMix64) for reproducible test data.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }
}

/// The seed of a randomized test: `CAIRN_TEST_SEED` if set (to replay a failure), else fresh.
/// Always printed with the command that replays it.
func testSeed(_ testName: String) -> UInt64 {
    let seed: UInt64
    if let text = ProcessInfo.processInfo.environment["CAIRN_TEST_SEED"], let parsed = UInt64(text) {
        seed = parsed
    } else {
        seed = UInt64.random(in: 1...UInt64.max)
    }
    print("\(testName): seed \(seed) — replay with CAIRN_TEST_SEED=\(seed) swift test --filter CairnStorageTests")
    return seed
}

/// Parses "0a 1b …" (spaces and newlines ignored) into bytes.
func bytesFromHex(_ text: String) -> [UInt8] {
    let digits = text.filter { $0.isHexDigit }
    precondition(digits.count % 2 == 0)
    var result: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        result.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return result
}

/// Lower-case hex, 16 bytes per line, for golden-bytes comparisons and failure messages.
func hexLines(_ bytes: [UInt8]) -> String {
    stride(from: 0, to: bytes.count, by: 16).map { start in
        bytes[start..<min(start + 16, bytes.count)].map { String(format: "%02x", $0) }.joined(separator: " ")
    }.joined(separator: "\n")
}

/// A digest whose bytes are `first, first+1, …` (easy to spot in a dump).
func sequentialDigest(startingAt first: UInt8) -> Digest {
    Digest(bytes: (0..<20).map { first &+ UInt8($0) })!
}

/// The digest of ('test', 'demo', 'key1') from PROTOCOL.md §4.3.
let key1Digest = Digest(bytes: bytesFromHex("ec91192d4b7f8ce35d5d78d34bca65cbaaaac960"))!

/// A value of the right shape for `type`.
func sampleValue(_ type: ParticleType, generator: inout SeededGenerator, maxBytes: Int = 64) -> [UInt8] {
    if let fixed = type.fixedValueSizeBytes {
        return type == .bool ? [UInt8(truncatingIfNeeded: generator.next() & 1)] : generator.bytes(fixed)
    }
    let count = Int(generator.next() % UInt64(maxBytes + 1))
    if type == .string || type == .geoJSON {
        return (0..<count).map { _ in UInt8(0x61 + generator.next() % 26) }
    }
    return generator.bytes(count)
}

/// A random valid name of 1 ... `maxBytes` ASCII letters/digits, sometimes with a multi-byte character.
func randomName(_ generator: inout SeededGenerator, maxBytes: Int) -> String {
    let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
    var name = ""
    let length = 1 + Int(generator.next() % UInt64(maxBytes))
    while name.utf8.count < length {
        if generator.next() % 8 == 0, name.utf8.count + 2 <= length {
            name.append("é")  // 2 UTF-8 bytes
        } else {
            name.append(alphabet[Int(generator.next() % UInt64(alphabet.count))])
        }
    }
    return name
}

/// A random valid record (live or tombstone) that fits `recordSizeBytesMax`.
func randomRecord(_ generator: inout SeededGenerator, valueBytesMax: Int = 200) -> StoredRecord {
    let isTombstone = generator.next() % 5 == 0
    var bins: [StoredBin] = []
    if !isTombstone {
        let count = 1 + Int(generator.next() % 8)
        for index in 0..<count {
            let storable = ParticleType.allCases.filter(\.isStorable)
            let type = storable[Int(generator.next() % UInt64(storable.count))]
            let name = "b\(index)" + (generator.next() % 2 == 0 ? "" : randomName(&generator, maxBytes: 10))
            bins.append(StoredBin(name: name, particleType: type, bytes: sampleValue(type, generator: &generator, maxBytes: valueBytesMax)))
        }
    }
    var key: StoredKey?
    switch generator.next() % 4 {
    case 0: key = .integer(Int64(bitPattern: generator.next()))
    case 1: key = .string(randomName(&generator, maxBytes: 40))
    case 2: key = .blob(generator.bytes(Int(generator.next() % 32)))
    default: key = nil
    }
    return StoredRecord(
        digest: Digest(bytes: generator.bytes(20))!,
        isTombstone: isTombstone,
        lastUpdateMs: generator.next() & FormatLimits.lastUpdateMsMax,
        generation: UInt16(truncatingIfNeeded: generator.next()),
        voidTime: generator.next() % 3 == 0 ? 0 : UInt32(truncatingIfNeeded: generator.next()) | 1,
        setName: generator.next() % 3 == 0 ? nil : randomName(&generator, maxBytes: FormatLimits.setNameBytesMax),
        userKey: key,
        bins: bins
    )
}

/// Decodes `bytes` and returns the record, or the error.
func decodeResult(_ bytes: [UInt8]) -> Result<DecodedRecord, FormatDecodingError> {
    bytes.withUnsafeBytes { buffer in
        Result { () throws(FormatDecodingError) -> DecodedRecord in try RecordFormat.decode(recordUntrusted: buffer, at: 0) }
    }
}

/// Summary-decodes `bytes` and returns the summary, or the error.
func summaryResult(_ bytes: [UInt8]) -> Result<RecordSummary, FormatDecodingError> {
    bytes.withUnsafeBytes { buffer in
        Result { () throws(FormatDecodingError) -> RecordSummary in try RecordFormat.decodeSummary(recordUntrusted: buffer, at: 0) }
    }
}

/// The encoding error of `record`, if any.
func encodingError(_ record: StoredRecord, recordSizeBytesMax: Int = RecordFormat.recordSizeBytesLimit) -> FormatEncodingError? {
    do throws(FormatEncodingError) {
        _ = try RecordFormat.encodedSize(of: record, recordSizeBytesMax: recordSizeBytesMax)
        return nil
    } catch {
        return error
    }
}

/// A minimal valid device header for tests.
func sampleDeviceHeader() -> DeviceHeader {
    DeviceHeader(
        namespaceName: "test",
        namespaceInstanceId: 0x1122_3344_5566_7788,
        deviceIndex: 1,
        deviceCount: 2,
        writeBlockSizeBytes: 1 << 20,
        partitionTreeSprigs: 256,
        cleanShutdown: true,
        highestBlockSequence: 0x0102_0304,
        truncation: TruncationTable(
            namespaceLutMs: 0x0000_0100_0000_0000,
            sets: [SetTruncation(setName: "users", lutMs: 0x0A0B_0C0D), SetTruncation(setName: "demo", lutMs: 0x55)]),
        sharedIndex: SharedIndexIdentity(instanceId: 0xCAFE, cleanStopSequence: 7)
    )
}

// The helpers below wrap typed-throws calls in `Result`: passing a `throws(E)` closure straight to
// `withUnsafe(Mutable)Bytes` crashes the Swift 6.3.1 compiler (IRGen, reabstraction thunk).

/// One device-header copy encoded into a 64 KiB slot.
func encodeCopy(_ header: DeviceHeader, writeGeneration: UInt64, slot: HeaderCopySlot) throws(FormatEncodingError) -> [UInt8] {
    var bytes = [UInt8](repeating: 0xEE, count: DeviceHeaderFormat.copySlotSizeBytes)
    let result = bytes.withUnsafeMutableBytes { buffer in
        Result { () throws(FormatEncodingError) in
            try DeviceHeaderFormat.encodeCopy(header, writeGeneration: writeGeneration, slot: slot, into: buffer)
        }
    }
    try result.get()
    return bytes
}

/// Decodes one device-header copy from `bytes`.
func decodeCopyResult(_ bytes: [UInt8], slot: HeaderCopySlot) -> Result<DeviceHeader, FormatDecodingError> {
    bytes.withUnsafeBytes { buffer in
        Result { () throws(FormatDecodingError) -> DeviceHeader in
            try DeviceHeaderFormat.decodeCopy(untrusted: buffer, slot: slot).header
        }
    }
}

/// Decodes a block header at the start of `bytes`.
func decodeBlockHeaderResult(_ bytes: [UInt8]) -> Result<BlockHeader, FormatDecodingError> {
    bytes.withUnsafeBytes { buffer in
        Result { () throws(FormatDecodingError) -> BlockHeader in try BlockHeader(decodingUntrusted: buffer, at: 0) }
    }
}

/// Classifies a header region given as an array.
func classify(_ region: [UInt8]) -> DeviceClassification {
    region.withUnsafeBytes { DeviceHeaderFormat.classify(headerRegionUntrusted: $0) }
}

/// The error of a failed result, or nil.
extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

import CairnIO

/// CRC32C for tests that forge checksums.
enum CRC32CForTests {
    static func checksum(_ bytes: Slice<UnsafeRawBufferPointer>) -> UInt32 {
        CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes))
    }
}
