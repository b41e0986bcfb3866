import Testing
@testable import CairnWire

@Suite struct ScanTests {
    @Test func fullPartitionScanRequest() throws {
        let all = (0..<UInt16(4096)).map { $0 }
        let frame = encode {
            $0.appendScanRequestFrame(namespace: "test", setName: "demo", partitionIDs: all, taskID: 0xABCD, binNames: ["a"])
        }
        let body = frameBody(frame)
        let message = try Message.decode(body: body)
        #expect(message.header.info1 == .read)
        #expect(message.header.info3 == .partitionDone)
        #expect(message.header.recordTTL == 0xFFFF_FFFF)
        #expect(message.fields.map(\.type) == [.namespace, .set, .socketTimeout, .taskID, .pidArray])
        let pidField = try #require(message.field(.pidArray))
        #expect(pidField.dataSizeBytes == 8192)
        #expect(Array(body[pidField.dataRange].prefix(6)) == [0, 0, 1, 0, 2, 0])
        let request = try withRaw(body) { try ScanRequest.decode(message: message, body: $0) }
        #expect(request.namespace == "test")
        #expect(request.setName == "demo")
        #expect(request.taskID == 0xABCD)
        #expect(request.socketTimeoutMs == 30_000)
        #expect(request.recordsPerSecond == nil)
        #expect(request.maxRecords == nil)
        #expect(request.partitions?.partitionIDs == all)
        #expect(request.partitions?.resumeDigests == [])
        #expect(request.hasFilterExpression == false)
        #expect(message.ops.count == 1)
    }

    @Test func resumeDigestsMaxRecordsAndThrottle() throws {
        let frame = encode {
            $0.appendScanRequestFrame(
                namespace: "test", partitionIDs: [7, 4095], resumeDigests: [key1Digest], maxRecords: 100,
                recordsPerSecond: 50, taskID: 1, noBinData: true
            )
        }
        let body = frameBody(frame)
        let message = try Message.decode(body: body)
        #expect(message.header.info1 == [.read, .getNoBinData])
        #expect(message.fields.map(\.type) == [.namespace, .recordsPerSecond, .socketTimeout, .taskID, .pidArray, .digestArray, .maxRecords])
        let request = try withRaw(body) { try ScanRequest.decode(message: message, body: $0) }
        #expect(request.setName == nil)
        #expect(request.maxRecords == 100)
        #expect(request.recordsPerSecond == 50)
        #expect(request.partitions == PartitionSelection(partitionIDs: [7, 4095], resumeDigests: [key1Digest]))
        #expect(request.partitions?.resumeDigests.first?.partitionID == 492)
    }

    func selection(pids: [UInt8]?, digests: [Digest] = [], bvals: [UInt8]? = nil) throws -> PartitionSelection {
        let digestBytes = digests.flatMap(\.bytes)
        return try (pids ?? []).withUnsafeBytes { pidRaw in
            try digestBytes.withUnsafeBytes { digestRaw in
                try (bvals ?? []).withUnsafeBytes { bvalRaw in
                    try PartitionSelection.decode(
                        pidArray: pids == nil ? nil : pidRaw,
                        digestArray: digests.isEmpty ? nil : digestRaw,
                        bvalArray: bvals == nil ? nil : bvalRaw
                    )
                }
            }
        }
    }

    @Test func partitionArrayChecks() throws {
        #expect(try selection(pids: [0x01, 0x02, 0xFF, 0x0F]).partitionIDs == [0x0201, 0x0FFF])
        #expect(throws: MessageError.partitionIDOutOfRange(4096)) { try selection(pids: [0x00, 0x10]) }
        #expect(throws: MessageError.partitionIDDuplicate(5)) { try selection(pids: [5, 0, 6, 0, 5, 0]) }
        #expect(throws: MessageError.fieldSizeInvalid(typeRaw: 11, sizeBytes: 3)) { try selection(pids: [1, 0, 2]) }
        // The resume digest's partition (492) also counts.
        #expect(throws: MessageError.partitionIDDuplicate(492)) {
            try selection(pids: [0xEC, 0x01], digests: [key1Digest])
        }
        let bvals: [UInt8] = [0x01, 0, 0, 0, 0, 0, 0, 0x80]
        #expect(try selection(pids: nil, digests: [key1Digest], bvals: bvals).bvals == [Int64(bitPattern: 0x8000_0000_0000_0001)])
        #expect(throws: MessageError.bvalCountMismatch(bvalCount: 0, digestCount: 1)) {
            try selection(pids: nil, digests: [key1Digest], bvals: [])
        }
    }

    @Test func badDigestArraySize() throws {
        let message = OwnedMessage(header: MessageHeader(info1: .read), fields: [OwnedField(.namespace, string: "test"), OwnedField(.digestArray, data: [1, 2, 3])])
        let body = frameBody(encode { $0.appendMessageFrame(message) })
        let decoded = try Message.decode(body: body)
        #expect(throws: MessageError.fieldSizeInvalid(typeRaw: 12, sizeBytes: 3)) {
            try withRaw(body) { try ScanRequest.decode(message: decoded, body: $0) }
        }
    }

    @Test func filterAndIndexFieldsAreReported() throws {
        let message = OwnedMessage(
            header: MessageHeader(info1: .read),
            fields: [OwnedField(.namespace, string: "test"), OwnedField(.indexRange, data: [1]), OwnedField(.filterExpression, data: [0x93])]
        )
        let body = frameBody(encode { $0.appendMessageFrame(message) })
        let decoded = try Message.decode(body: body)
        let request = try withRaw(body) { try ScanRequest.decode(message: decoded, body: $0) }
        #expect(request.hasFilterExpression)
        #expect(request.hasIndexFields)
        #expect(request.partitions == nil)
    }

    @Test func replyStreamDecodes() throws {
        var writer = WireWriter()
        writer.beginFrame(.message)
        writer.appendScanRecord(
            namespace: "test", digest: key1Digest, setName: "demo", userKeyFieldData: UserKey.fieldData(.string("key1")),
            generation: 2, voidTime: 500, bins: [Bin("a", .integer(1)), Bin("b", .string("hi"))]
        )
        writer.appendScanRecord(namespace: "test", digest: key1Digest, setName: nil, userKeyFieldData: nil, generation: 1, voidTime: 0, bins: [], hasBinData: false)
        writer.appendPartitionDoneMessage(partitionID: 1207, resultCode: .unavailable)
        writer.appendLastMessage()
        writer.endFrame()
        let frame = writer.bytes
        let body = frameBody(frame)
        #expect(FrameDecoder().decode(frame) == .frame(type: .message, bodyRange: 8..<frame.count))
        let messages = try Message.decodeSequence(body: body)
        #expect(messages.count == 4)
        #expect(messages[0].fields.map(\.typeRaw) == [0, 4, 1, 2])
        #expect(messages[0].header.info1 == [])
        #expect(messages[0].header.generation == 2 && messages[0].header.recordTTL == 500)
        #expect(messages[1].fields.map(\.typeRaw) == [0, 4])
        #expect(messages[1].header.info1 == .getNoBinData)
        #expect(messages[2].header.info3 == .partitionDone)
        #expect(messages[2].header.generation == 1207)
        #expect(messages[2].header.resultCode == .unavailable)
        #expect(messages[3].header.info3 == .last)
        try withRaw(body) { (raw) throws in
            #expect(try messages[0].field(.digest)?.digest(in: raw) == key1Digest)
            #expect(try UserKey.decode(fieldData: messages[0].fields[3].data(in: raw)) == .string("key1"))
            #expect(try messages[0].ops.map { try $0.value(in: raw) } == [.integer(1), .string("hi")])
        }
    }
}
