import CairnTesting
import CairnWire
import Testing

/// `UTF8Text.decode` (the ASCII fast path names and string values take) answers exactly what
/// `String(validating:as:)` answers, on ASCII, multi-byte and invalid input of every length
/// around the 8-byte stride.
@Suite struct UTF8TextTests {
    @Test func agreesWithTheStandardLibraryOnEveryKindOfInput() {
        var random = SplitMix64(seed: 0x5EED_0F_7E57)
        func next() -> UInt64 { random.next() }
        let pieces: [[UInt8]] = [
            Array("a".utf8), Array("Z".utf8), [0x7F], Array("é".utf8), Array("€".utf8), Array("😀".utf8),
            [0x80], [0xC3], [0xFF], [0xED, 0xA0, 0x80],  // lone continuation, truncated, invalid, surrogate
        ]
        for _ in 0..<5000 {
            var bytes: [UInt8] = []
            let count = Int(next() % 24)
            for _ in 0..<count { bytes += pieces[Int(next() % UInt64(pieces.count))] }
            bytes.withUnsafeBytes { raw in
                let expected = String(validating: raw, as: UTF8.self)
                #expect(UTF8Text.decode(raw) == expected, "\(bytes)")
                #expect(UTF8Text.isASCII(raw) == bytes.allSatisfy { $0 < 0x80 })
            }
        }
    }
}
