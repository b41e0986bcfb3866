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
        let data = (0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        data.withUnsafeBytes { all in
            for start in 0..<16 {
                for length in [0, 1, 7, 8, 9, 15, 16, 63, 64, 65, 1000, 4000] where start + length <= all.count {
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

