import Testing

@testable import CairnConfig

@Suite struct ConfigValueTests {
    @Test(arguments: [
        ("0", 0), ("4096", 4096), ("128K", 128 << 10), ("128k", 128 << 10), ("512M", 512 << 20),
        ("4G", 4 << 30), ("4g", 4 << 30), ("2T", 2 << 40), ("007", 7),
    ])
    func sizesWithSuffixes(_ word: String, _ bytes: Int) {
        #expect(ConfigValue.sizeBytes(word) == bytes)
    }

    @Test(arguments: ["", "G", "4GB", "4.5G", "-1", "+1", "1P", "4 G", "１G", "99999999999999999999", "9999999999T"])
    func badSizes(_ word: String) {
        #expect(ConfigValue.sizeBytes(word) == nil)
    }

    @Test(arguments: [
        ("0", 0), ("45", 45), ("5s", 5), ("10m", 600), ("1h", 3600), ("30d", 2_592_000), ("1D", 86_400),
        ("2H", 7200), ("3M", 180),
    ])
    func timesWithSuffixes(_ word: String, _ seconds: Int) {
        #expect(ConfigValue.seconds(word) == seconds)
    }

    @Test(arguments: ["", "d", "30x", "1w", "1.5h", "-5s", "10ms"])
    func badTimes(_ word: String) {
        #expect(ConfigValue.seconds(word) == nil)
    }

    @Test func booleansAcceptAerospikeSpellings() {
        for word in ["true", "TRUE", "yes", "Yes"] {
            #expect(ConfigValue.boolean(word) == true)
        }
        for word in ["false", "False", "no", "NO"] {
            #expect(ConfigValue.boolean(word) == false)
        }
        for word in ["", "1", "0", "on", "off", "y"] {
            #expect(ConfigValue.boolean(word) == nil)
        }
    }

    @Test func hexNodeIDs() {
        #expect(ConfigValue.hex64("a1B2") == 0xA1B2)
        #expect(ConfigValue.hex64("ffffffffffffffff") == UInt64.max)
        #expect(ConfigValue.hex64("1ffffffffffffffff") == nil)
        #expect(ConfigValue.hex64("0xa1") == nil)
        #expect(ConfigValue.hex64("") == nil)
        #expect(ConfigValue.hex64("g1") == nil)
    }

    @Test func addresses() {
        for word in ["any", "127.0.0.1", "0.0.0.0", "::", "::1", "fe80::1", "2001:db8::42"] {
            #expect(ConfigValue.isAddress(word), "\(word) should be accepted")
        }
        for word in ["", "localhost", "256.0.0.1", "1.2.3", "eth0", "::g"] {
            #expect(!ConfigValue.isAddress(word), "\(word) should be refused")
        }
    }

    @Test func formattingPicksTheLargestExactSuffix() {
        #expect(ConfigValue.formatSize(0) == "0")
        #expect(ConfigValue.formatSize(1000) == "1000")
        #expect(ConfigValue.formatSize(1536 << 10) == "1536K")
        #expect(ConfigValue.formatSize(1 << 30) == "1G")
        #expect(ConfigValue.formatSize(3 << 40) == "3T")
        #expect(ConfigValue.formatSeconds(0) == "0")
        #expect(ConfigValue.formatSeconds(90) == "90")
        #expect(ConfigValue.formatSeconds(120) == "2m")
        #expect(ConfigValue.formatSeconds(7200) == "2h")
        #expect(ConfigValue.formatSeconds(30 * 86_400) == "30d")
        #expect(ConfigValue.formatHex64(0xA1B2) == "a1b2")
    }

    @Test func formattedValuesParseBack() {
        var value = 1
        // Bounded: 62 doublings stay within Int.
        for _ in 0..<62 {
            for candidate in [value, value + 1, value * 3] {
                #expect(ConfigValue.sizeBytes(ConfigValue.formatSize(candidate)) == candidate)
                #expect(ConfigValue.seconds(ConfigValue.formatSeconds(candidate)) == candidate)
            }
            value *= 2
        }
    }

    @Test func powersOfTwo() {
        #expect(ConfigValue.isPowerOfTwo(1))
        #expect(ConfigValue.isPowerOfTwo(4096))
        #expect(!ConfigValue.isPowerOfTwo(0))
        #expect(!ConfigValue.isPowerOfTwo(-4))
        #expect(!ConfigValue.isPowerOfTwo(3 << 20))
    }

    /// Suffixes work the same through a whole configuration line.
    @Test(arguments: [("256M", 256 << 20), ("268435456", 268_435_456), ("0", 0), ("1g", 1 << 30)])
    func sizeSuffixThroughAConfigLine(_ word: String, _ bytes: Int) throws {
        let text = deviceText(["        device /dev/sdb", "        post-write-cache \(word)"])
        let parsed = try CairnConfiguration.parse(text: text, fileName: "t.conf")
        guard case .device(let device) = parsed.namespaces.first?.storage else {
            Issue.record("expected a device storage engine")
            return
        }
        #expect(device.postWriteCacheBytes == bytes)
    }

    /// Time suffixes work the same through a whole configuration line.
    @Test(arguments: [("30d", 2_592_000), ("1h", 3600), ("10m", 600), ("5s", 5), ("77", 77)])
    func timeSuffixThroughAConfigLine(_ word: String, _ seconds: Int) throws {
        let text = namespaceText([
            "    default-ttl \(word)", "    storage-engine memory {", "        data-size 1G", "    }",
        ])
        let parsed = try CairnConfiguration.parse(text: text, fileName: "t.conf")
        #expect(parsed.namespaces.first?.defaultTTLSeconds == seconds)
    }
}
