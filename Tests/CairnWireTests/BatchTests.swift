import Testing
@testable import CairnWire

@Suite struct BatchTests {
    static func digest(_ seed: UInt64) -> Digest {
        Digest(word0: seed &* 0x9E37_79B9_7F4A_7C15, word1: ~seed, word2: UInt32(truncatingIfNeeded: seed))
    }

    static let readAll = BatchRowSpec.Attributes.read(namespace: "test", setName: "demo")

    static let namedRead = BatchRowSpec.Attributes(
        info1: .read,
        extraInfo: .init(info2: [], info3: []),
        info4: .mrtVerifyRead,
        generation: 7,
        recordTTL: 50,
        fields: [OwnedField(.namespace, string: "test"), OwnedField(.set, string: "")],
        ops: [OwnedOp(.read, name: "a", value: .null), OwnedOp(.read, name: "b", value: .null)]
    )

    static let write = BatchRowSpec.Attributes(
        info1: [],
        extraInfo: .init(info2: [.write, .respondAllOps], info3: .updateOnly),
        generation: 3,
        recordTTL: 3600,
        fields: [OwnedField(.namespace, string: "test"), OwnedField(.set, string: "demo")],
        ops: [OwnedOp(.write, name: "n", value: .integer(42))]
    )

    static let specs: [BatchRowSpec] = [
        BatchRowSpec(index: 0, digest: digest(0), attributes: readAll),
        BatchRowSpec(index: 1, digest: digest(1), attributes: nil),
        BatchRowSpec(index: 2, digest: digest(2), attributes: namedRead),
        BatchRowSpec(index: 3, digest: digest(3), attributes: nil),
        BatchRowSpec(index: 4, digest: digest(4), attributes: write),
        BatchRowSpec(index: 5, digest: digest(5), attributes: nil),
    ]

    /// Checks a decoded row against the attributes that apply to it.
    func check(_ row: BatchRow, index: UInt32, attributes: BatchRowSpec.Attributes, body: [UInt8]) {
        #expect(row.index == index)
        #expect(row.digest == Self.digest(UInt64(index)))
        #expect(row.info1 == attributes.info1)
        #expect(row.info2 == attributes.extraInfo?.info2 ?? [])
        #expect(row.info3 == attributes.extraInfo?.info3 ?? [])
        #expect(row.info4 == attributes.info4 ?? [])
        #expect(row.generation == attributes.generation ?? 0)
        #expect(row.recordTTL == attributes.recordTTL ?? 0)
        body.withUnsafeBytes { raw in
            #expect(row.fields.map { OwnedField($0, in: raw) } == attributes.fields)
            #expect(row.ops.map { OwnedOp($0, in: raw) } == attributes.ops)
        }
    }

    @Test func rowsWithRepeatsDecodeToEffectiveAttributes() throws {
        let frame = encode { $0.appendBatchRequestFrame(rows: Self.specs, transactionTTL: 1000) }
        let body = frameBody(frame)
        let message = try Message.decode(body: body)
        #expect(message.header.info1 == .batch)
        #expect(message.notes.isEmpty)
        let request = try BatchRequest.decode(body: body)
        #expect(request.flags == .reportErrorRecord)
        #expect(request.transactionTTL == 1000)
        #expect(request.rows.count == 6)
        #expect(request.rows.map(\.isRepeat) == [false, true, false, true, false, true])
        let effective = [Self.readAll, Self.readAll, Self.namedRead, Self.namedRead, Self.write, Self.write]
        for (row, attributes) in zip(request.rows, effective) {
            check(row, index: row.index, attributes: attributes, body: body)
        }
        #expect(request.rows.map(\.index) == [0, 1, 2, 3, 4, 5])
        #expect(request.rows[2].flags == [.hasInfo, .hasInfo4, .hasGeneration, .hasTTL])
        let header = request.rows[4].header(transactionTTL: request.transactionTTL)
        #expect(header.info2 == [.write, .respondAllOps])
        #expect(header.fieldCount == 2 && header.opCount == 1)
    }

    @Test func rowWithoutInfoInheritsStrongConsistencyBits() throws {
        let attributes = BatchRowSpec.Attributes(info1: [.read, .getAll], fields: [OwnedField(.namespace, string: "test")])
        let frame = encode {
            $0.appendBatchRequestFrame(rows: [BatchRowSpec(index: 0, digest: Self.digest(0), attributes: attributes)], headerInfo3: [.scReadType, .last])
        }
        let request = try BatchRequest.decode(body: frameBody(frame))
        #expect(request.rows[0].info3 == .scReadType)
        #expect(request.rows[0].info2 == [])
    }

    @Test func legacyZeroFieldCountMeansNamespaceOnly() throws {
        let attributes = BatchRowSpec.Attributes(info1: .read, fields: [OwnedField(.namespace, string: "test")])
        var body = frameBody(encode { $0.appendBatchRequestFrame(rows: [BatchRowSpec(index: 9, digest: Self.digest(9), attributes: attributes)]) })
        // header 22 · field prefix 5 · count 4 · flags 1 · index 4 · digest 20 · row flags 1 · info1 1 → n_fields at 58.
        #expect(body[58..<60] == [0, 1])
        body[58..<60] = [0, 0]
        let request = try BatchRequest.decode(body: body)
        #expect(request.rows[0].fields.count == 1)
        #expect(request.rows[0].field(.namespace).map { Array(body[$0.dataRange]) } == Array("test".utf8))
    }

    @Test func repeatRules() {
        let first = [BatchRowSpec(index: 0, digest: Self.digest(0), attributes: nil)]
        #expect(throws: MessageError.batchRepeatWithoutPreviousRow(row: 0)) {
            try BatchRequest.decode(body: frameBody(encode { $0.appendBatchRequestFrame(rows: first) }))
        }
        var withKey = Self.readAll
        withKey.fields.append(OwnedField(.key, data: UserKey.fieldData(.string("k"))))
        let afterKey = [
            BatchRowSpec(index: 0, digest: Self.digest(0), attributes: withKey),
            BatchRowSpec(index: 1, digest: Self.digest(1), attributes: nil),
        ]
        #expect(throws: MessageError.batchRepeatAfterKey(row: 1)) {
            try BatchRequest.decode(body: frameBody(encode { $0.appendBatchRequestFrame(rows: afterKey) }))
        }
    }

    @Test func countChecks() throws {
        let body = frameBody(encode { $0.appendBatchRequestFrame(rows: Self.specs) })
        // Batch field data starts at 27: u32 count at 27..<31.
        var zero = body
        zero[27..<31] = [0, 0, 0, 0]
        #expect(throws: MessageError.batchRowCountZero) { try BatchRequest.decode(body: zero) }

        var extra = body
        extra[27..<31] = [0, 0, 0, 7]
        #expect(throws: MessageError.batchRowTruncated(row: 6)) { try BatchRequest.decode(body: extra) }

        var huge = body
        huge[27..<31] = [0xFF, 0xFF, 0xFF, 0xFF]
        let error = #expect(throws: MessageError.self) { try BatchRequest.decode(body: huge) }
        #expect(error == .batchRowCountAboveLimit(count: 0xFFFF_FFFF, max: MessageLimits.batchRowCountMaxDefault))
        #expect(error?.resultCode == .batchMaxRequestsExceeded)

        #expect(throws: MessageError.batchRowCountAboveLimit(count: 6, max: 5)) {
            try BatchRequest.decode(body: body, limits: MessageLimits(batchRowCountMax: 5))
        }
        let noBatchField = frameBody(AppendixATests.getRequest)
        #expect(throws: MessageError.batchFieldMissing) { try BatchRequest.decode(body: noBatchField) }
    }

    @Test func rowFieldErrorsAreWrapped() throws {
        var body = frameBody(encode { $0.appendBatchRequestFrame(rows: Array(Self.specs.prefix(1))) })
        // Row 0 fields start after: 32 (rows) + 25 (prefix) + 1 info1 + 2 info2/3 + 4 ttl + 4 counts = 68.
        #expect(body[68..<72] == [0, 0, 0, 5])
        body[68..<72] = [0, 0, 0, 0]
        #expect(throws: MessageError.inBatchRow(row: 0, error: .fieldSizeZero(index: 0))) { try BatchRequest.decode(body: body) }
    }

    /// The Rust client sizes field 41 as if it started right after the header, so with a
    /// FILTER field first the declared size overruns the body by the filter field's size.
    @Test func oversizedBatchFieldAfterFilterIsTolerated() throws {
        let filter: [UInt8] = [0x93, 0x01, 0x02, 0x03]
        var body = frameBody(encode { $0.appendBatchRequestFrame(rows: Self.specs, filterExpression: filter) })
        let batchFieldOffset = 22 + 5 + filter.count
        #expect(body[batchFieldOffset + 4] == FieldType.batchIndex.rawValue)
        let declared = body.withUnsafeBytes { loadUInt32BE($0, at: batchFieldOffset) } + UInt32(5 + filter.count)
        body[batchFieldOffset..<(batchFieldOffset + 4)] = [
            UInt8(truncatingIfNeeded: declared >> 24), UInt8(truncatingIfNeeded: declared >> 16),
            UInt8(truncatingIfNeeded: declared >> 8), UInt8(truncatingIfNeeded: declared),
        ]
        let message = try Message.decode(body: body)
        #expect(message.notes == .batchFieldSizeClamped)
        #expect(message.fields.map(\.type) == [.filterExpression, .batchIndex])
        let request = try withRaw(body) { try BatchRequest.decode(message: message, body: $0) }
        #expect(request.rows.count == 6)

        let strict = MessageLimits(acceptsOversizedBatchField: false)
        #expect(throws: MessageError.self) { try Message.decode(body: body, limits: strict) }
    }

    @Test func replyRowsAndLastDecode() throws {
        var writer = WireWriter()
        writer.beginFrame(.message)
        writer.appendBatchReplyRow(index: 2, resultCode: .ok, generation: 4, voidTime: 1000, bins: [Bin("a", .integer(1))])
        writer.appendBatchReplyRow(index: 0, resultCode: .keyNotFound)
        writer.beginBatchReplyRow(index: 1, resultCode: .ok, generation: 1)
        writer.appendOp(.write)
        writer.endMessage()
        writer.appendLastMessage()
        writer.endFrame()
        let frame = writer.bytes
        guard case .frame(.message, let range) = FrameDecoder().decode(frame) else {
            Issue.record("no frame")
            return
        }
        let body = Array(frame[range])
        let messages = try Message.decodeSequence(body: body)
        #expect(messages.count == 4)
        #expect(messages.map(\.header.transactionTTL) == [2, 0, 1, 0])
        #expect(messages.map(\.header.resultCode) == [.ok, .keyNotFound, .ok, .ok])
        #expect(messages.map(\.header.info3) == [[], [], [], .last])
        #expect(messages.map(\.fields.count) == [0, 0, 0, 0])
        #expect(messages[0].header.recordTTL == 1000)
        try withRaw(body) { (raw) throws in
            #expect(try messages[0].ops[0].value(in: raw) == .integer(1))
            #expect(try messages[2].ops[0].value(in: raw) == .null)
        }
    }
}
