import Testing
@testable import CairnWire

/// Every worked example of PROTOCOL.md Appendix A decodes to the documented values and
/// re-encodes to the same bytes.
@Suite struct AppendixATests {
    static let nsField = "00 00 00 05 00 74 65 73 74"
    static let setField = "00 00 00 05 01 64 65 6d 6f"
    static let digestField = "00 00 00 15 04 ec 91 19 2d 4b 7f 8c e3 5d 5d 78 d3 4b ca 65 cb aa aa c9 60"

    static let infoRequest = hexBytes("02 01 00 00 00 00 00 20") + Array("node\npartition-generation\nbuild\n".utf8)

    static let getRequest = hexBytes(
        """
        02 03 00 00 00 00 00 41
        16 03 00 00 00 00 | 00 00 00 00 | 00 00 00 00 | 00 00 03 e8 | 00 03 | 00 00
        \(nsField) \(setField) \(digestField)
        """
    )

    static let getReply = hexBytes(
        """
        02 03 00 00 00 00 00 32
        16 00 00 00 00 00 | 00 00 00 01 | 00 00 00 00 | 00 00 00 00 | 00 00 | 00 02
        00 00 00 0d 01 01 00 01 61 00 00 00 00 00 00 00 01
        00 00 00 07 01 03 00 01 62 68 69
        """
    )

    static let putRequest = hexBytes(
        """
        02 03 00 00 00 00 00 5d
        16 00 01 00 00 00 | 00 00 00 00 | 00 00 00 00 | 00 00 03 e8 | 00 03 | 00 02
        \(nsField) \(setField) \(digestField)
        00 00 00 0d 02 01 00 01 61 00 00 00 00 00 00 00 01
        00 00 00 07 02 03 00 01 62 68 69
        """
    )

    static let putReply = hexBytes("02 03 00 00 00 00 00 16 16 00 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00")
    static let notFoundReply = hexBytes("02 03 00 00 00 00 00 16 16 00 00 00 00 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00")
    static let scanEnd = hexBytes("02 03 00 00 00 00 00 16") + hexBytes("16 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00")

    @Test func infoRequestDecodesAndReencodes() throws {
        let frame = Self.infoRequest
        #expect(FrameDecoder().decode(frame) == .frame(type: .info, bodyRange: 8..<40))
        let request = try InfoRequest.parse(body: frame[8...])
        #expect(request.commands.map(\.name) == ["node", "partition-generation", "build"])
        #expect(request.commands.map(\.line) == ["node", "partition-generation", "build"])
        #expect(!request.isSummary)
        let reencoded = encode { $0.appendInfoRequestFrame(request.commands.map(\.line)) }
        #expect(reencoded == frame)
    }

    @Test func infoReplyBodyMatches() throws {
        let answers = [
            InfoAnswer(line: "node", value: "BB9A1B2C3D4E5F6"),
            InfoAnswer(line: "partition-generation", value: "1"),
            InfoAnswer(line: "build", value: "8.0.0.0"),
        ]
        let expected = Array("node\tBB9A1B2C3D4E5F6\npartition-generation\t1\nbuild\t8.0.0.0\n".utf8)
        #expect(try InfoReply.body(answers) == expected)
        var writer = WireWriter()
        try writer.appendInfoReplyFrame(answers)
        #expect(writer.bytes == [0x02, 0x01, 0, 0, 0, 0, 0, UInt8(expected.count)] + expected)
    }

    @Test func getRequestDecodesAndReencodes() throws {
        let frame = Self.getRequest
        #expect(FrameDecoder().decode(frame) == .frame(type: .message, bodyRange: 8..<73))
        let body = frameBody(frame)
        let message = try Message.decode(body: body)
        #expect(message.header.headerSizeBytes == 22)
        #expect(message.header.info1 == [.read, .getAll])
        #expect(message.header.info2 == [])
        #expect(message.header.transactionTTL == 1000)
        #expect(message.header.fieldCount == 3)
        #expect(message.header.opCount == 0)
        #expect(message.fields.map(\.type) == [.namespace, .set, .digest])
        try withRaw(body) { (raw) throws in
            #expect(message.field(.namespace)?.string(in: raw) == "test")
            #expect(message.field(.set)?.string(in: raw) == "demo")
            let digest = try #require(message.field(.digest)).digest(in: raw)
            #expect(digest == key1Digest)
            #expect(digest.partitionID == 492)
        }
        #expect(encode { $0.appendGetRequestFrame(key: key1) } == frame)
        let owned = body.withUnsafeBytes { OwnedMessage(message, in: $0) }
        #expect(encode { $0.appendMessageFrame(owned) } == frame)
    }

    @Test func getReplyDecodesAndReencodes() throws {
        let frame = Self.getReply
        let body = frameBody(frame)
        let message = try Message.decode(body: body)
        #expect(message.header.resultCode == .ok)
        #expect(message.header.generation == 1)
        #expect(message.header.recordTTL == VoidTime.never)
        #expect(message.ops.count == 2)
        try withRaw(body) { (raw) throws in
            #expect(message.ops.map { $0.name(in: raw) } == ["a", "b"])
            #expect(message.ops.map(\.type) == [.read, .read])
            #expect(try message.ops[0].value(in: raw) == .integer(1))
            #expect(try message.ops[1].value(in: raw) == .string("hi"))
        }
        let bins = [Bin("a", .integer(1)), Bin("b", .string("hi"))]
        #expect(encode { $0.appendRecordReplyFrame(resultCode: .ok, generation: 1, voidTime: 0, bins: bins) } == frame)
    }

    @Test func putRequestDecodesAndReencodes() throws {
        let frame = Self.putRequest
        let body = frameBody(frame)
        let message = try Message.decode(body: body)
        #expect(message.header.info2 == .write)
        #expect(message.header.recordTTL == 0)
        #expect(try RecordTTL(wire: message.header.recordTTL) == .namespaceDefault)
        #expect(message.ops.map(\.type) == [.write, .write])
        try withRaw(body) { (raw) throws in
            #expect(try message.ops[0].value(in: raw) == .integer(1))
            #expect(try message.ops[1].value(in: raw) == .string("hi"))
        }
        let bins = [Bin("a", .integer(1)), Bin("b", .string("hi"))]
        #expect(encode { $0.appendPutRequestFrame(key: key1, bins: bins) } == frame)
    }

    @Test func putAndNotFoundRepliesReencode() throws {
        let put = try Message.decode(body: frameBody(Self.putReply))
        #expect(put.header.resultCode == .ok)
        #expect(put.header.generation == 1)
        #expect(encode { $0.appendRecordReplyFrame(resultCode: .ok, generation: 1) } == Self.putReply)

        let notFound = try Message.decode(body: frameBody(Self.notFoundReply))
        #expect(notFound.header.resultCode == .keyNotFound)
        #expect(notFound.header.generation == 0)
        #expect(encode { $0.appendRecordReplyFrame(resultCode: .keyNotFound) } == Self.notFoundReply)
    }

    @Test func scanEndMarkerReencodes() throws {
        let last = try Message.decode(body: frameBody(Self.scanEnd))
        #expect(last.header.info3 == .last)
        #expect(last.header.resultCode == .ok)
        #expect(encode { $0.appendLastFrame() } == Self.scanEnd)
    }

    /// §4.3/§4.4: the verified digest table's partition ids.
    @Test func digestTableFromSpec() {
        let table: [(String, UInt16)] = [
            ("ec91192d4b7f8ce35d5d78d34bca65cbaaaac960", 492),
            ("b7f4b83889e2da67de683e1df6919a1eacc446c8", 1207),
            ("e9d49a24c3debdc5a6d551d3e7087999a263bb97", 1257),
            ("a443f05d05d962202b59abb402afae1737dbf66a", 932),
            ("41721215fd2e56087e4f962047729a972784f317", 577),
        ]
        for (hex, partitionID) in table {
            let digest = Digest(hex: hex)
            #expect(digest?.partitionID == Int(partitionID), "digest \(hex)")
            #expect(digest?.hex == hex)
        }
    }
}
