import Testing
@testable import CairnIO
import CairnTesting

@Suite struct CRC32CTests {
    @Test func knownCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
        // RFC 3720 (iSCSI) test vectors.
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
    }

    @Test func hardwareAndPortableAgreeOnEveryLengthAndAlignment() {
        var rng = SplitMix64(seed: 0xC0FFEE)
        let data = (0..<32_768).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        // The hardware path runs three chains over lanes of 2048 down to 64 bytes: lengths at,
        // below and above each triple, and beyond several triples, from every alignment.
        var lengths = [0, 1, 7, 8, 9, 15, 16, 47, 48, 49, 63, 64, 65, 95, 96, 97, 104, 191, 192, 193, 383, 384, 385,
                       500, 767, 768, 769, 1000, 1024, 1535, 1536, 1537, 4000, 6143, 6144, 6145,
                       6144 + 768 + 96 + 7, 20_000, 32_000]
        lengths += (0..<64).map { _ in Int(rng.next() % 8192) }
        data.withUnsafeBytes { all in
            for start in 0..<16 {
                for length in lengths where start + length <= all.count {
                    let slice = UnsafeRawBufferPointer(rebasing: all[start..<(start + length)])
                    #expect(CRC32C.checksum(slice) == CRC32C.portableChecksum(slice), "start \(start) length \(length)")
                }
            }
        }
    }

    @Test func continuationEqualsWhole() {
        let data = Array("The quick brown fox jumps over the lazy dog".utf8)
        let whole = CRC32C.checksum(data)
        for cut in 0...data.count {
            let first = CRC32C.checksum(data[..<cut])
            #expect(CRC32C.checksum(data[cut...], continuing: first) == whole)
        }
    }
}

