import CairnServer
import CairnWire
import Testing

/// Malformed input gets the right result (or a closed connection), never a crash, and the
/// server keeps serving other connections (PROTOCOL.md §1, §3–§6; issue 4 acceptance).
@Suite struct MalformedFrameTests {
    /// The body of a put of one bin to `key`, as bytes to corrupt.
    static func putBody(_ key: RecordKey = testKey(1), binName: String = "a") -> [UInt8] {
        var writer = WireWriter()
        writer.appendPutRequestFrame(key: key, bins: [Bin(binName, .integer(1))])
        return Array(writer.bytes.dropFirst(ProtoHeader.sizeBytes))
    }

    static func messageFrame(_ body: [UInt8]) -> [UInt8] {
        ProtoHeaderBytes.make(type: .message, bodySizeBytes: UInt64(body.count)) + body
    }

    /// Sends `frame` on a new connection and returns the single reply's result code.
    static func resultCode(of frame: [UInt8], server: TestServer) throws -> ResultCode? {
        let client = try server.connect()
        try client.send(frame)
        let reply = try client.receiveMessage()
        // The connection stays usable after a malformed message whose frame was intact.
        #expect(try client.info("status") == "ok")
        return reply.resultCode
    }

    @Test func malformedMessagesGetTheirResultCodes() async throws {
        try await withTestServer { server in
            let observer = try server.connect()
            let body = Self.putBody()
            let fieldsStart = MessageHeader.sizeBytes

            // The first field's size claims more bytes than the body has: PARAMETER.
            var lyingField = body
            lyingField[fieldsStart..<fieldsStart + 4] = [0x00, 0x00, 0x10, 0x00]
            #expect(try Self.resultCode(of: Self.messageFrame(lyingField), server: server) == .parameter)

            // n_fields says 9 but only 3 are there: PARAMETER.
            var lyingCount = body
            lyingCount[19] = 9
            #expect(try Self.resultCode(of: Self.messageFrame(lyingCount), server: server) == .parameter)

            // The op's size runs past the body: PARAMETER.
            var lyingOp = body
            let opStart = body.count - 17
            lyingOp[opStart..<opStart + 4] = [0x00, 0x00, 0x00, 0xFF]
            #expect(try Self.resultCode(of: Self.messageFrame(lyingOp), server: server) == .parameter)

            // header_sz is not 22: PARAMETER.
            var headerSize = body
            headerSize[0] = 21
            #expect(try Self.resultCode(of: Self.messageFrame(headerSize), server: server) == .parameter)

            // Fewer than 22 body bytes: PARAMETER.
            #expect(try Self.resultCode(of: Self.messageFrame(Array(body.prefix(10))), server: server) == .parameter)

            // A 16-byte bin name: BIN_NAME.
            var longName = Self.putBody(binName: "a")
            longName.removeLast(17)
            longName += [0x00, 0x00, 0x00, 0x1C, 0x02, 0x01, 0x00, 0x10] + Array("abcdefghijklmnop".utf8) + [0, 0, 0, 0, 0, 0, 0, 1]
            #expect(try Self.resultCode(of: Self.messageFrame(longName), server: server) == .binName)

            // A digest of 19 bytes: PARAMETER; no namespace field: NAMESPACE_NOT_FOUND.
            var shortDigest = OwnedMessage(header: MessageHeader(info1: [.read, .getAll]))
            shortDigest.fields = [OwnedField(.namespace, string: "test"), OwnedField(.digest, data: [UInt8](repeating: 1, count: 19))]
            let shortDigestFrame = frame { $0.appendMessageFrame(shortDigest) }
            #expect(try Self.resultCode(of: shortDigestFrame, server: server) == .parameter)
            var noNamespace = OwnedMessage(header: MessageHeader(info1: [.read, .getAll]))
            noNamespace.fields = [OwnedField(.digest, data: testKey(1).digest.bytes)]
            let noNamespaceFrame = frame { $0.appendMessageFrame(noNamespace) }
            #expect(try Self.resultCode(of: noNamespaceFrame, server: server) == .namespaceNotFound)

            // Zero ops: a write is PARAMETER, and so is a read without GET_ALL; neither flag too.
            let key = testKey(2)
            let client = try server.connect()
            #expect(try client.command(header: MessageHeader(info2: .write), key: key).resultCode == .parameter)
            #expect(try client.command(header: MessageHeader(info1: .read), key: key).resultCode == .parameter)
            #expect(try client.command(header: MessageHeader(), key: key, ops: [OwnedOp(.write, name: "a", value: .integer(1))]).resultCode == .parameter)
            // A write op in a read-only request: PARAMETER.
            #expect(try client.command(header: MessageHeader(info1: .read), key: key, ops: [OwnedOp(.write, name: "a", value: .integer(1))]).resultCode == .parameter)
            // Wrong particle sizes: PARAMETER.
            let badFloat = OwnedOp(typeRaw: OpType.write.rawValue, particleTypeRaw: 2, name: Array("f".utf8), value: [1, 2, 3])
            #expect(try client.command(header: MessageHeader(info2: .write), key: key, ops: [badFloat]).resultCode == .parameter)
            let badInteger = OwnedOp(typeRaw: OpType.write.rawValue, particleTypeRaw: 1, name: Array("i".utf8), value: [1, 2, 3])
            #expect(try client.command(header: MessageHeader(info2: .write), key: key, ops: [badInteger]).resultCode == .parameter)

            #expect(try observer.info("status") == "ok")
        }
    }

    @Test func unknownFieldTypesAreSkipped() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            let key = testKey(3)
            var message = OwnedMessage(header: MessageHeader(info2: .write))
            message.fields = [
                OwnedField(.namespace, string: "test"), OwnedField(typeRaw: 99, data: [1, 2, 3]), OwnedField(.set, string: "demo"),
                OwnedField(.digest, data: key.digest.bytes), OwnedField(typeRaw: 200, data: []),
            ]
            message.ops = [OwnedOp(.write, name: "a", value: .integer(7))]
            #expect(try client.message(message).resultCode == .ok)
            #expect(try client.get(key: key).bins == ["a": .integer(7)])
        }
    }

    @Test func shortHeaderWaitsAndASplitFrameIsReassembled() async throws {
        try await withTestServer { server in
            let observer = try server.connect()
            let client = try server.connect()
            let request = frame { $0.appendInfoRequestFrame(["status", "build"]) }
            // Five bytes of header: nothing to answer yet, and others are served meanwhile.
            try client.send(Array(request.prefix(5)))
            try await Task.sleep(for: .milliseconds(100))
            #expect(try observer.info("status") == "ok")
            // The rest, in two more pieces.
            try client.send(Array(request[5..<12]))
            try await Task.sleep(for: .milliseconds(50))
            try client.send(Array(request[12...]))
            let reply = try #require(try client.receiveFrame())
            #expect(parseInfoBody(reply.body).map(\.1) == ["ok", "8.0.0.0"])
        }
    }

    @Test func lyingProtoSizes() async throws {
        try await withTestServer { server in
            let observer = try server.connect()
            let body = Self.putBody()

            // Proto size larger than what is sent: the server waits for the rest (it cannot
            // know better) while serving others; the client gives up and closes.
            do {
                let waiting = try server.connect()
                try waiting.send(ProtoHeaderBytes.make(type: .message, bodySizeBytes: UInt64(body.count + 100)) + body)
                try await Task.sleep(for: .milliseconds(100))
                #expect(try observer.info("status") == "ok")
            }

            // Proto size smaller than the message: the truncated message is PARAMETER, then the
            // leftover bytes are not a valid header and the connection is closed.
            let truncated = try server.connect()
            try truncated.send(ProtoHeaderBytes.make(type: .message, bodySizeBytes: UInt64(body.count - 20)) + body)
            #expect(try truncated.receiveMessage().resultCode == .parameter)
            #expect(try truncated.isClosedByServer())

            // 2^48 - 1: refused from the header alone with RECORD_TOO_BIG, then closed.
            let huge = try server.connect()
            try huge.send(ProtoHeaderBytes.make(type: .message, bodySizeBytes: (1 << 48) - 1) + body)
            #expect(try huge.receiveMessage().resultCode == .recordTooBig)
            #expect(try huge.isClosedByServer())

            // An info request that is not UTF-8 closes the connection.
            let badInfo = try server.connect()
            try badInfo.send(ProtoHeaderBytes.make(type: .info, bodySizeBytes: 3) + [0xFF, 0xFE, 0x0A])
            #expect(try badInfo.isClosedByServer())

            // A TLS ClientHello on the plain port closes the connection.
            let tls = try server.connect()
            try tls.send([0x16, 0x03, 0x01, 0x00, 0xA5, 0x01, 0x00, 0x00])
            #expect(try tls.isClosedByServer())

            #expect(try observer.info("status") == "ok")
            let key = testKey(9)
            #expect(try observer.put(key: key, bins: [Bin("a", .integer(1))]).resultCode == .ok)
        }
    }
}
