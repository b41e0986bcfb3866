import Testing
@testable import CairnWire

@Suite struct MessageTests {
    /// Encodes `message` as a frame body, decodes it, and returns the owned copy of the result.
    func roundTrip(_ message: OwnedMessage) throws -> OwnedMessage {
        let frame = encode { $0.appendMessageFrame(message) }
        let body = frameBody(frame)
        let decoded = try Message.decode(body: body)
        #expect(decoded.notes.isEmpty)
        return body.withUnsafeBytes { OwnedMessage(decoded, in: $0) }
    }

    func normalized(_ message: OwnedMessage) -> OwnedMessage {
        var copy = message
        copy.header.fieldCount = UInt16(message.fields.count)
        copy.header.opCount = UInt16(message.ops.count)
        return copy
    }

    // MARK: Header

    @Test func headerFieldsRoundTrip() throws {
        var generator = SeededGenerator(seed: 0xC0FFEE)
        for _ in 0..<200 {
            let header = MessageHeader(
                info1: Info1(rawValue: UInt8.random(in: 0...255, using: &generator)),
                info2: Info2(rawValue: UInt8.random(in: 0...255, using: &generator)),
                info3: Info3(rawValue: UInt8.random(in: 0...255, using: &generator)),
                info4: Info4(rawValue: UInt8.random(in: 0...255, using: &generator)),
                resultCodeRaw: UInt8.random(in: 0...255, using: &generator),
                generation: UInt32.random(in: 0...UInt32.max, using: &generator),
                recordTTL: UInt32.random(in: 0...UInt32.max, using: &generator),
                transactionTTL: UInt32.random(in: 0...UInt32.max, using: &generator)
            )
            let decoded = try roundTrip(OwnedMessage(header: header))
            #expect(decoded.header == header)
        }
    }

    @Test func headerLayoutOffsets() throws {
        let header = MessageHeader(
            info1: .read, info2: .write, info3: .last, info4: .mrtRollBack, resultCodeRaw: 0x11,
            generation: 0x0102_0304, recordTTL: 0x0506_0708, transactionTTL: 0x090A_0B0C, fieldCount: 0x0D0E, opCount: 0x0F10
        )
        var bytes: [UInt8] = []
        header.encode(into: &bytes)
        #expect(bytes == hexBytes("16 01 01 01 04 11 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10"))
        #expect(try withRaw(bytes) { try MessageHeader.decode($0) } == header)
        #expect(MessageHeader(resultCodeRaw: 250).resultCode == nil)
    }

    @Test func infoFlagMasksMatchSpec() {
        #expect([Info1.read, .getAll, .shortQuery, .batch, .xdr, .getNoBinData, .readModeAPAll, .compressResponse].map(\.rawValue)
            == [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80])
        #expect([Info2.write, .delete, .generation, .generationGT, .durableDelete, .createOnly, .relaxAPLongQuery, .respondAllOps].map(\.rawValue)
            == [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80])
        #expect([Info3.last, .commitMaster, .partitionDone, .updateOnly, .createOrReplace, .replaceOnly, .scReadType, .scReadRelax].map(\.rawValue)
            == [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80])
        #expect(Info4(rawValue: 0x60).errorDetailVerbosity == 3)
        #expect(Info4.mrtBits.rawValue == 0x07)
    }

    // MARK: Fields

    @Test func everyFieldTypeRoundTrips() throws {
        var generator = SeededGenerator(seed: 41)
        var fields: [OwnedField] = []
        for type in FieldType.allCases {
            let sizeBytes = Int.random(in: 0...40, using: &generator)
            fields.append(OwnedField(type, data: (0..<sizeBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }))
        }
        // Unknown field types are carried too (skipped by size).
        fields.append(OwnedField(typeRaw: 8, data: [1, 2, 3]))
        fields.append(OwnedField(typeRaw: 200, data: []))
        let message = OwnedMessage(header: MessageHeader(info1: .read), fields: fields)
        #expect(try roundTrip(message) == normalized(message))
    }

    /// Decoding into a connection's kept arrays gives the same messages as a fresh decode, a
    /// message still held keeps its own fields when the next one is decoded (copy on write),
    /// and once none is held the arrays' memory is reused.
    @Test func decodingIntoKeptStorage() throws {
        let first = OwnedMessage(
            header: MessageHeader(info1: .read),
            fields: [OwnedField(.namespace, data: Array("test".utf8)), OwnedField(.digest, data: [UInt8](repeating: 7, count: 20))],
            ops: [OwnedOp(.read, name: "a", value: .null)])
        let second = OwnedMessage(
            header: MessageHeader(info2: .write),
            fields: [OwnedField(.namespace, data: Array("bar".utf8)), OwnedField(.set, data: Array("s".utf8)),
                     OwnedField(.digest, data: [UInt8](repeating: 9, count: 20))],
            ops: [OwnedOp(.write, name: "b", value: .integer(5)), OwnedOp(.write, name: "c", value: .string("x"))])
        let firstBody = frameBody(encode { $0.appendMessageFrame(first) })
        let secondBody = frameBody(encode { $0.appendMessageFrame(second) })
        var storage = Message.Storage()
        let held = try firstBody.withUnsafeBytes { try Message.decode(body: $0, reusing: &storage) }
        let next = try secondBody.withUnsafeBytes { try Message.decode(body: $0, reusing: &storage) }
        #expect(firstBody.withUnsafeBytes { OwnedMessage(held, in: $0) } == normalized(first))
        #expect(secondBody.withUnsafeBytes { OwnedMessage(next, in: $0) } == normalized(second))
        #expect(held == (try Message.decode(body: firstBody)))
        // Nothing else holds the arrays now: the next decode writes into the same memory.
        let fieldsAddress = storage.fields.withUnsafeBufferPointer { $0.baseAddress }
        _ = consume next
        let again = try firstBody.withUnsafeBytes { try Message.decode(body: $0, reusing: &storage) }
        #expect(again == held)
        #expect(storage.fields.withUnsafeBufferPointer { $0.baseAddress } == fieldsAddress)
    }

    @Test func fieldTypeIDsMatchSpec() {
        let expected: [(FieldType, UInt8)] = [
            (.namespace, 0), (.set, 1), (.key, 2), (.recordVersion, 3), (.digest, 4), (.mrtID, 5), (.mrtDeadline, 6),
            (.taskID, 7), (.socketTimeout, 9), (.recordsPerSecond, 10), (.pidArray, 11), (.digestArray, 12),
            (.maxRecords, 13), (.lastUpdateTime, 14), (.bvalArray, 15), (.indexName, 21), (.indexRange, 22),
            (.indexContext, 23), (.indexExpression, 24), (.indexType, 26), (.udfPackageName, 30), (.udfFunction, 31),
            (.udfArgList, 32), (.udfOp, 33), (.queryBins, 40), (.batchIndex, 41), (.batchIndexWithSet, 42),
            (.filterExpression, 43), (.errorDetails, 45),
        ]
        #expect(expected.count == FieldType.allCases.count)
        for (type, raw) in expected {
            #expect(type.rawValue == raw, "\(type)")
        }
    }

    @Test func typedFieldReaders() throws {
        let message = OwnedMessage(
            header: MessageHeader(),
            fields: [
                OwnedField(.socketTimeout, data: hexBytes("00 00 75 30")),
                OwnedField(.taskID, data: hexBytes("01 02 03 04 05 06 07 08")),
                OwnedField(.digest, data: key1Digest.bytes),
                OwnedField(.namespace, string: "test"),
                OwnedField(.maxRecords, data: hexBytes("00 00 00 05")),
                OwnedField(.set, data: [0xC3]),
            ]
        )
        let body = frameBody(encode { $0.appendMessageFrame(message) })
        let decoded = try Message.decode(body: body)
        try withRaw(body) { (raw) throws in
            #expect(try decoded.fields[0].uint32BE(in: raw) == 30_000)
            #expect(try decoded.fields[1].uint64BE(in: raw) == 0x0102_0304_0506_0708)
            #expect(try decoded.fields[2].digest(in: raw) == key1Digest)
            #expect(decoded.fields[3].string(in: raw) == "test")
            #expect(throws: MessageError.fieldSizeInvalid(typeRaw: 13, sizeBytes: 4)) { try decoded.fields[4].uint64BE(in: raw) }
            #expect(throws: MessageError.fieldSizeInvalid(typeRaw: 0, sizeBytes: 4)) { try decoded.fields[3].digest(in: raw) }
            #expect(decoded.fields[5].string(in: raw) == nil)
        }
    }

    // MARK: Ops and particles

    static let sampleValues: [ParticleValue] = {
        var values: [ParticleValue] = [
            .null, .integer(0), .integer(1), .integer(-1), .integer(.max), .integer(.min),
            .float(0), .float(-0.0), .float(1.5), .float(-.infinity), .float(.infinity), .float(.nan),
            .float(.leastNonzeroMagnitude), .string(""), .string("hi"), .string("żółw 🐢"),
            .blob([]), .blob([0, 1, 2, 255]), .bool(false), .bool(true),
        ]
        for type in ParticleType.allCases where ![.null, .integer, .float, .string, .blob, .bool].contains(type) {
            values.append(.opaque(typeRaw: type.rawValue, bytes: [0x93, 0x01, 0x02, 0x03]))
        }
        values.append(.opaque(typeRaw: 99, bytes: [7]))
        return values
    }()

    @Test func everyOpTypeAndParticleRoundTrips() throws {
        var ops: [OwnedOp] = []
        var expectedValues: [ParticleValue] = []
        var index = 0
        for opType in OpType.allCases {
            for value in Self.sampleValues {
                let name = index % 5 == 0 ? "" : "bin\(index % 1000)"
                ops.append(OwnedOp(opType, name: name, value: value))
                expectedValues.append(value)
                index += 1
            }
        }
        ops.append(OwnedOp(typeRaw: 17, particleTypeRaw: 3, name: Array("n".utf8), value: Array("future op".utf8)))
        expectedValues.append(.string("future op"))
        let message = OwnedMessage(header: MessageHeader(info1: .read, info2: .write), ops: ops)
        #expect(try roundTrip(message) == normalized(message))

        let body = frameBody(encode { $0.appendMessageFrame(message) })
        let decoded = try Message.decode(body: body)
        try withRaw(body) { (raw) throws in
            for (op, expected) in zip(decoded.ops, expectedValues) {
                #expect(try op.value(in: raw) == expected)
            }
        }
    }

    @Test func opAndParticleIDsMatchSpec() {
        #expect(OpType.allCases.map(\.rawValue) == [1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16])
        #expect(OpType.touch.kind == .write)
        #expect(OpType.incr.kind == .modify)
        #expect(OpType.hllRead.kind == .read)
        #expect(ParticleType.allCases.map(\.rawValue) == [0, 1, 2, 3, 4, 7, 8, 9, 10, 11, 12, 16, 17, 18, 19, 20, 23])
    }

    @Test func particleWireEncodings() throws {
        #expect(ParticleValue.integer(1).wireBytes == hexBytes("00 00 00 00 00 00 00 01"))
        #expect(ParticleValue.integer(-2).wireBytes == hexBytes("ff ff ff ff ff ff ff fe"))
        #expect(ParticleValue.float(1.0).wireBytes == hexBytes("3f f0 00 00 00 00 00 00"))
        #expect(ParticleValue.bool(true).wireBytes == [1])
        #expect(ParticleValue.string("hi").wireBytes == [0x68, 0x69])
        #expect(ParticleValue.null.wireBytes == [])
    }

    @Test func shortIntegerFormsAreZeroExtended() throws {
        #expect(try withRaw([0xFF]) { try ParticleValue.decode(typeRaw: 1, value: $0) } == .integer(255))
        #expect(try withRaw([0xFF, 0xFE]) { try ParticleValue.decode(typeRaw: 1, value: $0) } == .integer(65534))
        #expect(try withRaw([0x80, 0, 0, 1]) { try ParticleValue.decode(typeRaw: 1, value: $0) } == .integer(0x8000_0001))
        #expect(throws: MessageError.particleSizeInvalid(typeRaw: 1, sizeBytes: 3)) {
            try withRaw([1, 2, 3]) { try ParticleValue.decode(typeRaw: 1, value: $0) }
        }
    }

    @Test func invalidParticlesAreTypedErrors() {
        #expect(throws: MessageError.particleSizeInvalid(typeRaw: 2, sizeBytes: 4)) {
            try withRaw([0, 0, 0, 0]) { try ParticleValue.decode(typeRaw: 2, value: $0) }
        }
        #expect(throws: MessageError.particleValueInvalid(typeRaw: 17)) {
            try withRaw([2]) { try ParticleValue.decode(typeRaw: 17, value: $0) }
        }
        #expect(throws: MessageError.particleSizeInvalid(typeRaw: 17, sizeBytes: 0)) {
            try withRaw([]) { try ParticleValue.decode(typeRaw: 17, value: $0) }
        }
        #expect(throws: MessageError.particleValueInvalid(typeRaw: 3)) {
            try withRaw([0xC3, 0x28]) { try ParticleValue.decode(typeRaw: 3, value: $0) }
        }
        #expect(throws: MessageError.particleSizeInvalid(typeRaw: 0, sizeBytes: 1)) {
            try withRaw([0]) { try ParticleValue.decode(typeRaw: 0, value: $0) }
        }
    }

    @Test func geoJSONLayout() throws {
        let json = Array(#"{"type":"Point","coordinates":[1,2]}"#.utf8)
        let value = hexBytes("00 00 01 11 22 33 44 55 66 77 88") + json
        let layout = try withRaw(value) { try GeoJSONLayout.decode($0) }
        #expect(layout.cellCount == 1)
        #expect(Array(value[layout.jsonRange]) == json)
        #expect(throws: MessageError.particleSizeInvalid(typeRaw: 23, sizeBytes: 3)) {
            try withRaw(hexBytes("00 00 05")) { try GeoJSONLayout.decode($0) }
        }
    }

    @Test func userKeyFieldRoundTrip() throws {
        for value: ParticleValue in [.integer(-1), .float(2.5), .string("key1"), .blob([1, 2])] {
            let data = UserKey.fieldData(value)
            #expect(data.first == value.particleTypeRaw)
            #expect(try withRaw(data) { try UserKey.decode(fieldData: $0) } == value)
        }
        #expect(throws: MessageError.particleSizeInvalid(typeRaw: 1, sizeBytes: 4)) {
            try withRaw([1, 0, 0, 0, 1]) { try UserKey.decode(fieldData: $0) }
        }
    }

    @Test func lastUpdateTimeFlagIsHonoured() throws {
        // op READ, particle string, flags has-LUT, name "a", 8-byte LUT, value "xy".
        let op = hexBytes("00 00 00 0f 01 03 01 01 61 11 22 33 44 55 66 77 88 78 79")
        let body = hexBytes("16 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01") + op
        let message = try Message.decode(body: body)
        let decoded = try #require(message.ops.first)
        #expect(decoded.lastUpdateTimeRange == 31..<39)
        #expect(Array(body[decoded.valueRange]) == Array("xy".utf8))
        // Size too small to hold the LUT.
        var short = body
        short[25] = 0x09
        #expect(throws: MessageError.self) { try Message.decode(body: short) }
    }

    // MARK: Malformed messages

    static let validBody = frameBody(AppendixATests.putRequest)

    @Test func malformedMessagesAreTypedErrors() {
        let body = Self.validBody
        #expect(throws: MessageError.bodyTooShort(sizeBytes: 21)) { try Message.decode(body: body[0..<21]) }

        var badHeaderSize = body
        badHeaderSize[0] = 30
        #expect(throws: MessageError.headerSizeInvalid(sizeBytes: 30)) { try Message.decode(body: badHeaderSize) }

        var zeroField = body
        zeroField[22..<26] = [0, 0, 0, 0]
        #expect(throws: MessageError.fieldSizeZero(index: 0)) { try Message.decode(body: zeroField) }

        var hugeField = body
        hugeField[22..<26] = [0xFF, 0xFF, 0xFF, 0xFF]
        #expect(throws: MessageError.fieldOverrun(index: 0, sizeBytes: 0xFFFF_FFFF, remainingBytes: body.count - 22)) {
            try Message.decode(body: hugeField)
        }

        var tooManyFields = body
        tooManyFields[18..<20] = [0, 9]
        #expect(throws: MessageError.self) { try Message.decode(body: tooManyFields) }

        var fieldLimit = body
        fieldLimit[18..<20] = [0xFF, 0xFF]
        #expect(throws: MessageError.fieldCountAboveLimit(count: 65535, max: 64)) { try Message.decode(body: fieldLimit) }

        // First op starts at 22 + 43 = 65.
        var tinyOp = body
        tinyOp[65..<69] = [0, 0, 0, 3]
        #expect(throws: MessageError.opSizeInvalid(index: 0, sizeBytes: 3, nameSizeBytes: 1)) { try Message.decode(body: tinyOp) }

        var hugeOp = body
        hugeOp[65..<69] = [0x7F, 0xFF, 0xFF, 0xFF]
        #expect(throws: MessageError.opOverrun(index: 0, sizeBytes: 0x7FFF_FFFF, remainingBytes: 28)) { try Message.decode(body: hugeOp) }

        var trailing = body
        trailing.append(0)
        #expect(throws: MessageError.trailingBytes(count: 1)) { try Message.decode(body: trailing) }

        var missingOp = body
        missingOp[20..<22] = [0, 3]
        #expect(throws: MessageError.opTruncated(index: 2, remainingBytes: 0)) { try Message.decode(body: missingOp) }
    }

    @Test func binNameLongerThan15IsBinNameError() throws {
        let name16 = [UInt8](repeating: 0x61, count: 16)
        var op = hexBytes("00 00 00 14 02 01 00 10")
        op += name16
        let header = hexBytes("16 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01")
        let error = #expect(throws: MessageError.self) { try Message.decode(body: header + op) }
        #expect(error == .binNameTooLong(index: 0, sizeBytes: 16))
        #expect(error?.resultCode == .binName)
        // 15 is fine.
        let name15 = [UInt8](repeating: 0x61, count: 15)
        let op15 = hexBytes("00 00 00 13 02 01 00 0f") + name15
        #expect(try Message.decode(body: header + op15).ops.first?.nameSizeBytes == 15)
    }

    @Test func errorsMapToParameter() {
        #expect(MessageError.trailingBytes(count: 1).resultCode == .parameter)
        #expect(MessageError.fieldOverrun(index: 0, sizeBytes: 9, remainingBytes: 1).resultCode == .parameter)
        #expect(MessageError.batchRowCountAboveLimit(count: 2, max: 1).resultCode == .batchMaxRequestsExceeded)
        #expect(MessageError.inBatchRow(row: 3, error: .binNameTooLong(index: 0, sizeBytes: 20)).resultCode == .binName)
    }

    @Test func limitsAreConfigurable() {
        let body = Self.validBody
        #expect(throws: MessageError.opCountAboveLimit(count: 2, max: 1)) {
            try Message.decode(body: body, limits: MessageLimits(opCountMax: 1))
        }
        #expect(throws: MessageError.fieldCountAboveLimit(count: 3, max: 2)) {
            try Message.decode(body: body, limits: MessageLimits(fieldCountMax: 2))
        }
    }

    @Test func decodingFromUnsafeBufferAndSliceAgree() throws {
        let frame = AppendixATests.putRequest
        let fromSlice = try Message.decode(body: frame[8...])
        let fromArray = try Message.decode(body: frameBody(frame))
        let fromRaw = try frame.withUnsafeBytes { raw in try Message.decode(body: UnsafeRawBufferPointer(rebasing: raw[8...])) }
        #expect(fromSlice == fromArray)
        #expect(fromRaw == fromArray)
    }
}
