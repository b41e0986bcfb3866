import Testing
@testable import CairnStorage
import CairnIO

@Suite struct DeviceHeaderTests {
    /// A 128 KiB region holding copy A and copy B as given (nil: slot left zero).
    func region(a: [UInt8]?, b: [UInt8]?) -> [UInt8] {
        var region = [UInt8](repeating: 0, count: DeviceHeaderFormat.regionSizeBytes)
        if let a { region.replaceSubrange(0..<a.count, with: a) }
        if let b { region.replaceSubrange(DeviceHeaderFormat.copySlotSizeBytes..<(DeviceHeaderFormat.copySlotSizeBytes + b.count), with: b) }
        return region
    }

    func reading(_ classification: DeviceClassification, sourceLocation: SourceLocation = #_sourceLocation) -> DeviceHeaderReading? {
        guard case .cairn(let reading) = classification else {
            Issue.record("expected a Cairn device, got \(classification)", sourceLocation: sourceLocation)
            return nil
        }
        return reading
    }

    /// Rewrites the CRC of a copy after a test edited its bytes (to forge "valid but wrong" copies).
    func refreshChecksum(_ copy: inout [UInt8]) {
        let sizeBytes = Int(copy[12]) | Int(copy[13]) << 8
        let checksum = copy.withUnsafeBytes { CRC32CForTests.checksum($0[..<(sizeBytes - 4)]) }
        for shift in 0..<4 { copy[sizeBytes - 4 + shift] = UInt8(truncatingIfNeeded: checksum >> (8 * UInt32(shift))) }
    }

    @Test func copyRoundTrips() throws {
        let header = sampleDeviceHeader()
        for slot in HeaderCopySlot.allCases {
            let copy = try encodeCopy(header, writeGeneration: 9, slot: slot)
            #expect(try decodeCopyResult(copy, slot: slot).get() == header)
        }
        var minimal = header
        minimal.sharedIndex = nil
        minimal.truncation = TruncationTable()
        minimal.cleanShutdown = false
        #expect(try decodeCopyResult(encodeCopy(minimal, writeGeneration: 1, slot: .a), slot: .a).get() == minimal)
    }

    @Test func initialisedRegionReadsBackFromCopyA() throws {
        let region = try DeviceHeaderFormat.encodeRegion(sampleDeviceHeader())
        #expect(region.count == 128 * 1024)
        guard let reading = reading(classify(region)) else { return }
        #expect(reading.header == sampleDeviceHeader())
        #expect(reading.slot == .a && reading.writeGeneration == 1)
        #expect(reading.copyA == .valid(writeGeneration: 1) && reading.copyB == .valid(writeGeneration: 1))
        #expect(reading.nextWriteSlot == .b && reading.nextWriteGeneration == 2)
        #expect(!reading.hasDamagedCopy)
        #expect(classify(region).refusalMessage(devicePath: "/dev/x") == nil)
    }

    @Test func newestValidCopyWins() throws {
        var older = sampleDeviceHeader()
        older.cleanShutdown = false
        let newer = sampleDeviceHeader()
        let olderInA = region(a: try encodeCopy(older, writeGeneration: 5, slot: .a), b: try encodeCopy(newer, writeGeneration: 6, slot: .b))
        #expect(reading(classify(olderInA))?.header == newer)
        #expect(reading(classify(olderInA))?.slot == .b)
        let olderInB = region(a: try encodeCopy(newer, writeGeneration: 8, slot: .a), b: try encodeCopy(older, writeGeneration: 7, slot: .b))
        #expect(reading(classify(olderInB))?.header == newer)
        #expect(reading(classify(olderInB))?.nextWriteSlot == .b)
    }

    @Test func aTornCopyStillLeavesTheDeviceReadable() throws {
        var header = sampleDeviceHeader()
        let previous = try encodeCopy(header, writeGeneration: 5, slot: .a)
        header.highestBlockSequence += 1_000
        try header.truncation.setLutMs(123, forSet: "another")
        let staleB = try encodeCopy(sampleDeviceHeader(), writeGeneration: 4, slot: .b)
        let intendedB = try encodeCopy(header, writeGeneration: 6, slot: .b)
        let copyBytes = DeviceHeaderFormat.encodedSizeBytes(of: header)
        // The new copy B is torn after every 512-byte sector boundary and at every byte of the used part.
        let tearPoints = Array(0..<copyBytes) + Array(stride(from: 512, to: DeviceHeaderFormat.copySlotSizeBytes, by: 512))
        for tear in tearPoints {
            let torn = Array(intendedB[..<tear]) + Array(staleB[tear...])
            guard let reading = reading(classify(region(a: previous, b: torn))) else { return }
            if tear >= copyBytes {
                #expect(reading.header == header && reading.slot == .b, "tear at \(tear)")
            } else {
                // Either the old B is still intact (the tear came before the first differing byte)
                // or B is damaged: either way A (generation 5) wins.
                #expect(reading.writeGeneration == 5 && reading.slot == .a, "tear at \(tear)")
                #expect(torn == staleB || reading.hasDamagedCopy, "tear at \(tear)")
            }
        }
    }

    @Test func bothCopiesBadIsDamagedWithAReasonPerCopy() throws {
        var a = try encodeCopy(sampleDeviceHeader(), writeGeneration: 2, slot: .a)
        a[30] ^= 0x40
        var b = try encodeCopy(sampleDeviceHeader(), writeGeneration: 3, slot: .b)
        b[8] = 3  // format version 3, CRC made valid: a newer Cairn
        refreshChecksum(&b)
        let classification = classify(region(a: a, b: b))
        guard case .damaged(let copyA, let copyB) = classification else {
            Issue.record("expected damaged, got \(classification)")
            return
        }
        guard case .invalid(.badChecksum) = copyA else {
            Issue.record("copy A: \(copyA)")
            return
        }
        #expect(copyB == .invalid(.unsupportedVersion(3)))
        let message = classification.refusalMessage(devicePath: "/dev/nvme0n1") ?? ""
        #expect(message.contains("/dev/nvme0n1") && message.contains("neither header copy is valid"))
        #expect(message.contains("bad CRC32C") && message.contains("unsupported format version 3"))

        let oneMissing = classify(region(a: nil, b: b))
        #expect(oneMissing == .damaged(copyA: .zeroed, copyB: .invalid(.unsupportedVersion(3))))
    }

    @Test func aCopyFoundInTheWrongSlotIsRefused() throws {
        let a = try encodeCopy(sampleDeviceHeader(), writeGeneration: 2, slot: .a)
        let classification = classify(region(a: nil, b: a))
        #expect(classification == .damaged(copyA: .zeroed, copyB: .invalid(.badField(
            name: "copySlot", reason: "copy written for slot 0 found in copy B (offset 65536)"))))
    }

    @Test func copyReasonsCoverEveryCheck() throws {
        let good = try encodeCopy(sampleDeviceHeader(), writeGeneration: 2, slot: .a)
        #expect(decodeCopyResult(Array(good[..<10]), slot: .a).failure == .truncated(neededBytes: 16, availableBytes: 10))
        #expect(decodeCopyResult(Array(good[..<100]), slot: .a).failure == .truncated(neededBytes: 276, availableBytes: 100))
        var magic = good
        magic[0] = 0
        #expect(decodeCopyResult(magic, slot: .a).failure == .badMagic(found: 0x5645_444E_5249_4100))
        var size = good
        size[14] = 0x01  // 65 812 bytes
        #expect(decodeCopyResult(size, slot: .a).failure == .badLength(lengthBytes: 0x1_0114, reason: "a header copy is 20 ... 65536 bytes"))
        var reserved = good
        reserved[46] = 1
        refreshChecksum(&reserved)
        #expect(decodeCopyResult(reserved, slot: .a).failure == .badField(name: "reserved", reason: "reserved bytes are not zero"))
        var flags = good
        flags[49] = 1
        refreshChecksum(&flags)
        #expect(decodeCopyResult(flags, slot: .a).failure == .badField(name: "flags", reason: "unknown bits 0x00000100"))
        var instance = good
        for index in 24..<32 { instance[index] = 0 }
        refreshChecksum(&instance)
        #expect(decodeCopyResult(instance, slot: .a).failure == .badField(name: "namespaceInstanceId", reason: "must not be zero"))
        var order = good  // swap the two set entries: no longer ascending
        let first = Array(order[128..<200])
        order.replaceSubrange(128..<200, with: order[200..<272])
        order.replaceSubrange(200..<272, with: first)
        refreshChecksum(&order)
        #expect(decodeCopyResult(order, slot: .a).failure
            == .badField(name: "truncation.sets[1].setName", reason: "not in strictly ascending byte order"))
    }

    @Test func headerFieldsAreCheckedBeforeWriting() {
        func problem(_ edit: (inout DeviceHeader) -> Void, generation: UInt64 = 1) -> FormatEncodingError? {
            var header = sampleDeviceHeader()
            edit(&header)
            do throws(FormatEncodingError) {
                _ = try encodeCopy(header, writeGeneration: generation, slot: .a)
                return nil
            } catch {
                return error
            }
        }
        #expect(problem({ _ in }) == nil)
        #expect(problem({ _ in }, generation: 0) == .invalidField(name: "writeGeneration", reason: "must be ≥ 1"))
        #expect(problem { $0.namespaceName = String(repeating: "n", count: 32) }
            == .invalidField(name: "namespaceName", reason: "32 UTF-8 bytes, at most 31"))
        #expect(problem { $0.namespaceName = "" } == .invalidField(name: "namespaceName", reason: "empty"))
        #expect(problem { $0.namespaceInstanceId = 0 } == .invalidField(name: "namespaceInstanceId", reason: "must not be zero"))
        #expect(problem { $0.deviceIndex = 2 } == .invalidField(name: "deviceIndex", reason: "2, must be below the device count 2"))
        #expect(problem { $0.deviceCount = 129; $0.deviceIndex = 0 } == .invalidField(name: "deviceCount", reason: "129, must be 1 ... 128"))
        #expect(problem { $0.writeBlockSizeBytes = 65_536 } != nil)
        #expect(problem { $0.partitionTreeSprigs = 100 } != nil)
        #expect(problem { $0.sharedIndex = SharedIndexIdentity(instanceId: 0, cleanStopSequence: 1) } != nil)
    }

    @Test func truncationTableIsCanonicalAndBounded() throws {
        let table = TruncationTable(namespaceLutMs: 10, sets: [
            SetTruncation(setName: "b", lutMs: 5), SetTruncation(setName: "a", lutMs: 7), SetTruncation(setName: "b", lutMs: 9),
        ])
        #expect(table.sets == [SetTruncation(setName: "a", lutMs: 7), SetTruncation(setName: "b", lutMs: 9)])
        #expect(table.truncateLutMs(forSet: "a") == 10)  // the namespace truncate is later
        #expect(table.truncateLutMs(forSet: "b") == 10)
        #expect(table.truncateLutMs(forSet: nil) == 10)
        var later = TruncationTable(namespaceLutMs: 3)
        try later.setLutMs(40, forSet: "z")
        try later.setLutMs(30, forSet: "m")
        try later.setLutMs(50, forSet: "z")
        #expect(later.sets.map(\.setName) == ["m", "z"])
        #expect(later.truncateLutMs(forSet: "z") == 50 && later.truncateLutMs(forSet: "q") == 3)
        later.removeSet("m")
        #expect(later.setLutMs(forSet: "m") == nil)
        #expect(throws: FormatEncodingError.self) { try later.setLutMs(0, forSet: "x") }

        // The largest table: 896 sets with 63-byte names still fits one 64 KiB copy.
        var header = sampleDeviceHeader()
        header.truncation = TruncationTable(namespaceLutMs: 1)
        for index in 0..<FormatLimits.setTruncationCountMax {
            let name = String(index).padding(toLength: FormatLimits.setNameBytesMax, withPad: "x", startingAt: 0)
            try header.truncation.setLutMs(UInt64(index + 1), forSet: name)
        }
        #expect(throws: FormatEncodingError.truncationTableFull(countMax: 896)) {
            try header.truncation.setLutMs(1, forSet: "one-too-many")
        }
        #expect(DeviceHeaderFormat.encodedSizeBytes(of: header) <= DeviceHeaderFormat.copySlotSizeBytes)
        let copy = try encodeCopy(header, writeGeneration: 1, slot: .b)
        #expect(try decodeCopyResult(copy, slot: .b).get() == header)
    }
}

@Suite struct DeviceClassificationTests {
    @Test func zeroedDeviceIsFresh() {
        #expect(classify([UInt8](repeating: 0, count: DeviceHeaderFormat.regionSizeBytes)) == .zeroed)
        #expect(classify([UInt8](repeating: 0, count: 4096)) == .zeroed)
        #expect(classify([UInt8](repeating: 0, count: DeviceHeaderFormat.regionSizeBytes)).refusalMessage(devicePath: "d") == nil)
    }

    func foreignDescription(_ region: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> String {
        guard case .foreign(let found) = classify(region) else {
            Issue.record("expected foreign, got \(classify(region))", sourceLocation: sourceLocation)
            return ""
        }
        return found
    }

    @Test func foreignContentIsNamed() {
        var ext4 = [UInt8](repeating: 0, count: DeviceHeaderFormat.regionSizeBytes)
        ext4[1080] = 0x53
        ext4[1081] = 0xEF
        #expect(foreignDescription(ext4).hasPrefix("an ext2/ext3/ext4 filesystem"))

        var aerospike = [UInt8](repeating: 0, count: DeviceHeaderFormat.regionSizeBytes)
        aerospike.replaceSubrange(0..<8, with: [0x22, 0x03, 0x73, 0x75, 0x72, 0x74, 0x49, 0x43])
        #expect(foreignDescription(aerospike).hasPrefix("an Aerospike device header"))

        var gpt = [UInt8](repeating: 0, count: DeviceHeaderFormat.regionSizeBytes)
        gpt[510] = 0x55
        gpt[511] = 0xAA
        gpt.replaceSubrange(512..<520, with: Array("EFI PART".utf8))
        #expect(foreignDescription(gpt).hasPrefix("a GPT partition table"))

        var generator = SeededGenerator(seed: 3)
        var noise = [UInt8](repeating: 0, count: DeviceHeaderFormat.regionSizeBytes)
        noise.replaceSubrange(5000..<5016, with: generator.bytes(16).map { $0 | 1 })
        let description = foreignDescription(noise)
        #expect(description.hasPrefix("unrecognised data; first non-zero byte at offset 5000"))
        #expect(description.contains("16 of 131072 bytes non-zero"))

        let message = classify(ext4).refusalMessage(devicePath: "/dev/sdb") ?? ""
        #expect(message.contains("/dev/sdb is not a Cairn device"))
        #expect(message.contains("will not be overwritten"))
        #expect(message.contains("ext2/ext3/ext4"))
    }

    @Test func aSingleStrayByteIsForeignNotZeroed() {
        for offset in [0, 4095, 65_535, 65_536, 131_071] {
            var region = [UInt8](repeating: 0, count: DeviceHeaderFormat.regionSizeBytes)
            region[offset] = 1
            guard case .foreign = classify(region) else {
                Issue.record("byte at \(offset): \(classify(region))")
                continue
            }
        }
    }

    @Test func aCairnDataBlockAtOffsetZeroIsRecognised() throws {
        var region = [UInt8](repeating: 0, count: DeviceHeaderFormat.regionSizeBytes)
        let blockHeader = try BlockHeader(
            sequence: 1, namespaceInstanceId: 1, blockIndex: 1, deviceIndex: 0, writeBlockSizeBytes: 1 << 20,
            usedBytes: 0, recordCount: 0).encoded()
        region.replaceSubrange(0..<48, with: blockHeader)
        guard case .foreign(let found) = classify(region) else {
            Issue.record("expected foreign")
            return
        }
        #expect(found.hasPrefix("a Cairn data block at offset 0"))
    }
}
