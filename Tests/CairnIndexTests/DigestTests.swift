import Testing

@testable import CairnIndex

@Suite struct DigestTests {
    /// PROTOCOL.md §4.3 table (aerospike 19.3.0 `calc_digest`).
    static let golden: [(hex: String, partitionID: Int)] = [
        ("ec91192d4b7f8ce35d5d78d34bca65cbaaaac960", 492),
        ("b7f4b83889e2da67de683e1df6919a1eacc446c8", 1207),
        ("e9d49a24c3debdc5a6d551d3e7087999a263bb97", 1257),
        ("a443f05d05d962202b59abb402afae1737dbf66a", 932),
        ("41721215fd2e56087e4f962047729a972784f317", 577),
    ]

    @Test func partitionIDMatchesProtocolGoldenValues() throws {
        for (hex, partitionID) in DigestTests.golden {
            let digest = try #require(Digest(hex: hex))
            #expect(digest.partitionID == partitionID, "\(hex)")
            // Formula of §4.4 straight on the bytes.
            let bytes = digest.bytes
            #expect((Int(bytes[0]) | Int(bytes[1]) << 8) & 0x0FFF == partitionID)
        }
    }

    @Test func hexAndBytesRoundTrip() throws {
        for (hex, _) in DigestTests.golden {
            let digest = try #require(Digest(hex: hex))
            #expect(digest.description == hex)
            #expect(Digest(hex: hex.uppercased()) == digest)
            #expect(Digest(bytes: digest.bytes) == digest)
            #expect(digest.bytes.count == 20)
            let fromSlice = Digest(bytes: ([0xAA] + digest.bytes + [0xBB])[1..<21])
            #expect(fromSlice == digest)
        }
        let first = try #require(Digest(hex: DigestTests.golden[0].hex))
        #expect(first.bytes.prefix(4) == [0xEC, 0x91, 0x19, 0x2D])
        #expect(first.bytes.suffix(4) == [0xAA, 0xAA, 0xC9, 0x60])
    }

    @Test func invalidInputIsRefused() {
        #expect(Digest(bytes: [UInt8](repeating: 1, count: 19)) == nil)
        #expect(Digest(bytes: [UInt8](repeating: 1, count: 21)) == nil)
        #expect(Digest(bytes: [UInt8]()) == nil)
        #expect(Digest(bytes: Set<UInt8>([1, 2, 3])) == nil)
        #expect(Digest(hex: "ec91") == nil)
        #expect(Digest(hex: "zc91192d4b7f8ce35d5d78d34bca65cbaaaac960") == nil)
        #expect(Digest(hex: "ec91192d4b7f8ce35d5d78d34bca65cbaaaac9600") == nil)
        #expect(Digest(hex: "ec91192d4b7f8ce35d5d78d34bca65cbaaaac96") == nil)
    }

    @Test func orderIsMemcmpOrder() {
        let seed = testSeed("orderIsMemcmpOrder")
        var generator = SplitMix64(seed: seed)
        var digests: [Digest] = []
        for _ in 0..<2000 {
            var digest = Digest.random(using: &generator)
            // Share prefixes often so that later words decide the order too.
            if let other = digests.randomElement(using: &generator), generator.next() % 2 == 0 {
                digest = Digest(
                    word0: other.word0,
                    word1: generator.next() % 3 == 0 ? other.word1 : digest.word1,
                    word2: digest.word2)
            }
            digests.append(digest)
        }
        let byDigest = digests.sorted()
        let byBytes = digests.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
        #expect(byDigest == byBytes, "seed \(seed)")
        for (lhs, rhs) in zip(digests, digests.dropFirst()) {
            #expect((lhs == rhs) == (lhs.bytes == rhs.bytes))
            #expect((lhs.hashValue == rhs.hashValue) || lhs != rhs)
        }
    }

    @Test func sprigIndexUsesTheBitsAfterThePartitionBits() throws {
        // byte 1 = 0xA7 (high nibble 0xA), byte 2 = 0x5C: sprig key = 0xA5C.
        let digest = try #require(Digest(hex: "01a75c" + String(repeating: "ff", count: 17)))
        #expect(digest.partitionID == 0x701)
        #expect(digest.sprigKey == 0xA5C)
        #expect(digest.sprigIndex(sprigsPerPartition: 1) == 0)
        #expect(digest.sprigIndex(sprigsPerPartition: 2) == 1)
        #expect(digest.sprigIndex(sprigsPerPartition: 16) == 0xA)
        #expect(digest.sprigIndex(sprigsPerPartition: 256) == 0xA5)
        #expect(digest.sprigIndex(sprigsPerPartition: 4096) == 0xA5C)
    }

    @Test func sprigOrderIsDigestOrderWithinAPartition() {
        let seed = testSeed("sprigOrderIsDigestOrderWithinAPartition")
        var generator = SplitMix64(seed: seed)
        for sprigsPerPartition in [1, 2, 16, 256, 4096] {
            let partition = Int(generator.next() % 4096)
            let digests = (0..<500).map { _ in Digest.random(partition: partition, using: &generator) }.sorted()
            let sprigs = digests.map { $0.sprigIndex(sprigsPerPartition: sprigsPerPartition) }
            #expect(sprigs == sprigs.sorted(), "seed \(seed) sprigs \(sprigsPerPartition)")
            #expect(digests.allSatisfy { $0.partitionID == partition })
        }
    }

    @Test func sprigIndexRefusesANonPowerOfTwo() async {
        await #expect(processExitsWith: .failure) {
            _ = Digest(word0: 0, word1: 0, word2: 0).sprigIndex(sprigsPerPartition: 3)
        }
    }
}
