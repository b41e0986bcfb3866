@_spi(EngineInternals) import CairnEngine
import CairnServer
import CairnWire
import Testing

/// Single-record transactions over a real socket (PROTOCOL.md §6).
@Suite struct TransactionTests {
    // MARK: - Appendix A

    /// PROTOCOL.md Appendix A: put and get of ('test','demo','key1') byte for byte.
    @Test func appendixAPutGetAndNotFoundByteForByte() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            let parsed: Digest? = Digest(hex: "ec91192d4b7f8ce35d5d78d34bca65cbaaaac960")
            let digest = try #require(parsed)
            let key = RecordKey(namespace: "test", setName: "demo", digest: digest)
            let keyFields: [UInt8] =
                [0x00, 0x00, 0x00, 0x05, 0x00] + Array("test".utf8) + [0x00, 0x00, 0x00, 0x05, 0x01] + Array("demo".utf8)
                + [0x00, 0x00, 0x00, 0x15, 0x04] + digest.bytes
            let putFrame: [UInt8] =
                [0x02, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x5d]
                + [0x16, 0x00, 0x01, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x03, 0x00, 0x02]
                + keyFields
                + [0x00, 0x00, 0x00, 0x0d, 0x02, 0x01, 0x00, 0x01, 0x61, 0, 0, 0, 0, 0, 0, 0, 0x01]
                + [0x00, 0x00, 0x00, 0x07, 0x02, 0x03, 0x00, 0x01, 0x62, 0x68, 0x69]
            let encodedPut = frame { $0.appendPutRequestFrame(key: key, bins: [Bin("a", .integer(1)), Bin("b", .string("hi"))]) }
            #expect(putFrame == encodedPut)
            try client.send(putFrame)
            let putReply = try #require(try client.receiveFrame())
            #expect(
                frameBytes(putReply)
                    == [0x02, 0x03, 0, 0, 0, 0, 0, 0x16, 0x16, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])

            let getFrame: [UInt8] =
                [0x02, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x41]
                + [0x16, 0x03, 0x00, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x03, 0x00, 0x00]
                + keyFields
            let encodedGet = frame { $0.appendGetRequestFrame(key: key) }
            #expect(getFrame == encodedGet)
            try client.send(getFrame)
            let getReply = try #require(try client.receiveFrame())
            #expect(
                frameBytes(getReply)
                    == [0x02, 0x03, 0, 0, 0, 0, 0, 0x32]
                    + [0x16, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02]
                    + [0, 0, 0, 0x0d, 0x01, 0x01, 0x00, 0x01, 0x61, 0, 0, 0, 0, 0, 0, 0, 0x01]
                    + [0, 0, 0, 0x07, 0x01, 0x03, 0x00, 0x01, 0x62, 0x68, 0x69])

            try client.send(frame { $0.appendGetRequestFrame(key: testKey(999)) })
            let notFound = try #require(try client.receiveFrame())
            #expect(
                frameBytes(notFound)
                    == [0x02, 0x03, 0, 0, 0, 0, 0, 0x16, 0x16, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        }
    }

    // MARK: - get / select / exists / delete / touch

    @Test func putGetSelectExistsDeleteRoundTrips() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            let key = testKey(1)
            let bins = [
                Bin("i", .integer(-7)), Bin("f", .float(2.5)), Bin("s", .string("héllo")), Bin("b", .blob([0, 1, 2])),
                Bin("t", .bool(true)), Bin("l", .opaque(typeRaw: 20, bytes: [0x92, 0x01, 0x02])),
                Bin("m", .opaque(typeRaw: 19, bytes: [0x81, 0xa2, 0x03, 0x6b, 0x01])),
            ]
            let put = try client.put(key: key, bins: bins)
            #expect(put.resultCode == .ok)
            #expect(put.header.generation == 1)
            #expect(put.ops.isEmpty)

            let get = try client.get(key: key)
            #expect(get.resultCode == .ok)
            #expect(get.header.generation == 1)
            #expect(get.header.recordTTL == 0)
            #expect(get.bins == Dictionary(uniqueKeysWithValues: bins.map { ($0.name, $0.value) }))

            let select = try client.get(key: key, binNames: ["s", "missing", "i"])
            #expect(select.resultCode == .ok)
            #expect(select.ops.map { String(decoding: $0.name, as: UTF8.self) } == ["s", "i"])

            let exists = try client.exists(key: key)
            #expect(exists.resultCode == .ok)
            #expect(exists.header.generation == 1)
            #expect(exists.ops.isEmpty)
            #expect(try client.exists(key: testKey(2)).resultCode == .keyNotFound)

            // A 1-byte integer on the wire is widened to 8 bytes.
            let narrow = OwnedOp(typeRaw: OpType.write.rawValue, particleTypeRaw: 1, name: Array("n".utf8), value: [0x05])
            let narrowPut = try client.command(header: MessageHeader(info2: .write), key: key, ops: [narrow])
            #expect(narrowPut.resultCode == .ok)
            #expect(try client.get(key: key, binNames: ["n"]).bins["n"] == .integer(5))

            let delete = try client.delete(key: key)
            #expect(delete.resultCode == .ok)
            #expect(delete.header.generation == 0)
            #expect(try client.get(key: key).resultCode == .keyNotFound)
            #expect(try client.delete(key: key).resultCode == .keyNotFound)
        }
    }

    @Test func durableDeleteLeavesATombstone() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            let key = testKey(3)
            #expect(try client.put(key: key, bins: [Bin("a", .integer(1))]).resultCode == .ok)
            let delete = try client.delete(key: key, info2: .durableDelete)
            #expect(delete.resultCode == .ok)
            #expect(try client.exists(key: key).resultCode == .keyNotFound)
            #expect(server.namespace.statistics.tombstones == 1)
        }
    }

    @Test func touchAndTTLSpecialValues() async throws {
        try await withTestServer(defaultTTLSeconds: 100) { server in
            let client = try server.connect()
            let key = testKey(4)
            let nowVoidTime = { UInt32(server.clock.now() / 1000) }

            // 0: the namespace default-ttl (100 s).
            let put = try client.put(key: key, bins: [Bin("a", .integer(1))])
            #expect(put.header.recordTTL == nowVoidTime() + 100)
            // Seconds from now.
            let touch = try client.touch(key: key, ttl: .seconds(500))
            #expect(touch.resultCode == .ok)
            #expect(touch.header.generation == 2)
            #expect(touch.header.recordTTL == nowVoidTime() + 500)
            // -2: keep the existing void time.
            let keep = try client.put(key: key, bins: [Bin("b", .integer(2))], ttl: .keepExisting)
            #expect(keep.header.recordTTL == touch.header.recordTTL)
            // -1: never expire (void time 0).
            let never = try client.put(key: key, bins: [Bin("c", .integer(3))], ttl: .neverExpire)
            #expect(never.header.recordTTL == 0)
            #expect(try client.get(key: key).header.recordTTL == 0)
            // Above ten years, and the client-only -3: PARAMETER.
            for wire in [RecordTTL.secondsMax + 1, RecordTTL.clientDefaultWire] {
                let header = MessageHeader(info2: .write, recordTTL: wire)
                let reply = try client.command(header: header, key: key, ops: [OwnedOp(.write, name: "a", value: .integer(1))])
                #expect(reply.resultCode == .parameter)
                // Aerospike checks existence and generation first: those errors win over the TTL.
                let updateMissing = MessageHeader(info2: .write, info3: .updateOnly, recordTTL: wire)
                #expect(try client.command(header: updateMissing, key: testKey(40), ops: [OwnedOp(.write, name: "a", value: .integer(1))])
                    .resultCode == .keyNotFound)
                let createExisting = MessageHeader(info2: [.write, .createOnly], recordTTL: wire)
                #expect(try client.command(header: createExisting, key: key, ops: [OwnedOp(.write, name: "a", value: .integer(1))])
                    .resultCode == .keyExists)
                let wrongGeneration = MessageHeader(info2: [.write, .generation], generation: 999, recordTTL: wire)
                #expect(try client.command(header: wrongGeneration, key: key, ops: [OwnedOp(.write, name: "a", value: .integer(1))])
                    .resultCode == .generation)
            }
            // Touch of a missing record.
            #expect(try client.touch(key: testKey(5), ttl: .seconds(10)).resultCode == .keyNotFound)

            // Expiry: invisible once the void time has passed.
            let short = testKey(6)
            _ = try client.put(key: short, bins: [Bin("a", .integer(1))], ttl: .seconds(10))
            server.clock.advance(seconds: 11)
            #expect(try client.get(key: short).resultCode == .keyNotFound)
            // A write to an expired record creates it anew (generation 1).
            let recreated = try client.put(key: short, bins: [Bin("a", .integer(2))])
            #expect(recreated.header.generation == 1)
        }
    }

    // MARK: - Policies

    @Test func generationPolicies() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            let key = testKey(7)
            let bins = [Bin("a", .integer(1))]
            // A generation check on a missing record is not found (Aerospike's answer), whatever
            // the expected generation.
            #expect(try client.put(key: key, bins: bins, generation: 1, info2: .generation).resultCode == .keyNotFound)
            #expect(try client.put(key: key, bins: bins, generation: 0, info2: .generation).resultCode == .keyNotFound)
            #expect(try client.put(key: key, bins: bins, generation: 0, info2: .generationGT).resultCode == .keyNotFound)
            #expect(try client.put(key: key, bins: bins).resultCode == .ok)
            #expect(try client.put(key: key, bins: bins, generation: 2, info2: .generation).resultCode == .generation)
            let equal = try client.put(key: key, bins: bins, generation: 1, info2: .generation)
            #expect(equal.resultCode == .ok)
            #expect(equal.header.generation == 2)
            #expect(try client.put(key: key, bins: bins, generation: 2, info2: .generationGT).resultCode == .generation)
            #expect(try client.put(key: key, bins: bins, generation: 3, info2: .generationGT).resultCode == .ok)
            #expect(try client.put(key: key, bins: bins, generation: 70_000, info2: .generation).resultCode == .generation)
            #expect(try client.delete(key: key, generation: 1, info2: .generation).resultCode == .generation)
            #expect(try client.delete(key: key, generation: 3, info2: .generation).resultCode == .ok)
        }
    }

    @Test func existencePolicies() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            let key = testKey(8)
            let put = { (bins: [Bin], info2: Info2, info3: Info3) throws -> OwnedMessage in
                try client.put(key: key, bins: bins, info2: info2, info3: info3)
            }
            #expect(try put([Bin("a", .integer(1))], [], .updateOnly).resultCode == .keyNotFound)
            #expect(try put([Bin("a", .integer(1))], [], .replaceOnly).resultCode == .keyNotFound)
            #expect(try put([Bin("a", .integer(1)), Bin("b", .integer(2))], .createOnly, []).resultCode == .ok)
            #expect(try put([Bin("a", .integer(1))], .createOnly, []).resultCode == .keyExists)
            #expect(try put([Bin("c", .integer(3))], [], .updateOnly).resultCode == .ok)
            #expect(try client.get(key: key).bins.keys.sorted() == ["a", "b", "c"])
            #expect(try put([Bin("d", .integer(4))], [], .replaceOnly).resultCode == .ok)
            #expect(try client.get(key: key).bins.keys.sorted() == ["d"])
            #expect(try put([Bin("e", .integer(5))], [], .createOrReplace).resultCode == .ok)
            #expect(try client.get(key: key).bins.keys.sorted() == ["e"])
            // Replace with a bin delete or a modify op is PARAMETER.
            let header = MessageHeader(info2: .write, info3: .createOrReplace)
            let incr = OwnedOp(.incr, name: "e", value: .integer(1))
            #expect(try client.command(header: header, key: key, ops: [incr]).resultCode == .parameter)
        }
    }

    // MARK: - Operate

    @Test func operateModifiesAndReads() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            let key = testKey(9)
            _ = try client.put(
                key: key, bins: [Bin("n", .integer(10)), Bin("x", .float(1.5)), Bin("s", .string("mid")), Bin("z", .blob([2]))])
            let ops = [
                OwnedOp(.incr, name: "n", value: .integer(5)),
                OwnedOp(.incr, name: "x", value: .float(0.25)),
                OwnedOp(.append, name: "s", value: .string("-end")),
                OwnedOp(.prepend, name: "s", value: .string("start-")),
                OwnedOp(.prepend, name: "z", value: .blob([1])),
                OwnedOp(.incr, name: "new", value: .integer(3)),
                OwnedOp(.write, name: "gone", value: .null),
            ]
            let operate = try client.command(header: MessageHeader(info2: .write), key: key, ops: ops)
            #expect(operate.resultCode == .ok)
            #expect(operate.header.generation == 2)
            #expect(operate.ops.isEmpty)
            let get = try client.get(key: key)
            #expect(get.bins["n"] == .integer(15))
            #expect(get.bins["x"] == .float(1.75))
            #expect(get.bins["s"] == .string("start-mid-end"))
            #expect(get.bins["z"] == .blob([1, 2]))
            #expect(get.bins["new"] == .integer(3))

            // Type mismatches: INCOMPATIBLE_TYPE; nothing is applied.
            let badIncr = [OwnedOp(.incr, name: "s", value: .integer(1))]
            #expect(try client.command(header: MessageHeader(info2: .write), key: key, ops: badIncr).resultCode == .incompatibleType)
            let badAppend = [OwnedOp(.append, name: "n", value: .string("x"))]
            #expect(try client.command(header: MessageHeader(info2: .write), key: key, ops: badAppend).resultCode == .incompatibleType)

            // Bin delete (NIL write), then deleting the last bins deletes the record.
            let removeBins = [OwnedOp(.write, name: "n", value: .null)]
            #expect(try client.command(header: MessageHeader(info2: .write), key: key, ops: removeBins).resultCode == .ok)
            #expect(try client.get(key: key).bins["n"] == nil)
            let deleteAll = [OwnedOp(typeRaw: OpType.deleteAll.rawValue, particleTypeRaw: 0, name: [], value: [])]
            let deleted = try client.command(header: MessageHeader(info2: .write), key: key, ops: deleteAll)
            #expect(deleted.resultCode == .ok)
            #expect(deleted.header.generation == 0)
            #expect(try client.get(key: key).resultCode == .keyNotFound)
        }
    }

    @Test func operateRespondAllOpsAnswersOneEntryPerOp() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            let key = testKey(10)
            _ = try client.put(key: key, bins: [Bin("a", .integer(1)), Bin("b", .string("x"))])
            let ops = [
                OwnedOp(.read, name: "a", value: .null),
                OwnedOp(.write, name: "c", value: .integer(3)),
                OwnedOp(.read, name: "missing", value: .null),
                OwnedOp(typeRaw: OpType.touch.rawValue, particleTypeRaw: 0, name: [], value: []),
                OwnedOp(.read, name: "b", value: .null),
            ]
            let header = MessageHeader(info1: .read, info2: [.write, .respondAllOps])
            let reply = try client.command(header: header, key: key, ops: ops)
            #expect(reply.resultCode == .ok)
            // One entry per op, except the touch: Aerospike's write path answers none for it.
            #expect(reply.ops.map(\.typeRaw) == [1, 2, 1, 1])
            #expect(reply.ops.map { String(decoding: $0.name, as: UTF8.self) } == ["a", "c", "missing", "b"])
            #expect(reply.ops.map(\.particleTypeRaw) == [1, 0, 0, 3])

            // Read-only operate: reads without WRITE follow the read path.
            let readOnly = try client.command(
                header: MessageHeader(info1: .read), key: key,
                ops: [OwnedOp(.read, name: "c", value: .null), OwnedOp(.read, name: "a", value: .null)])
            #expect(readOnly.ops.map { String(decoding: $0.name, as: UTF8.self) } == ["c", "a"])
        }
    }

    /// §6.5: reads after writes in the same operate see the written values.
    @Test func operateReadSeesEarlierWrite() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            let key = testKey(11)
            _ = try client.put(key: key, bins: [Bin("n", .integer(1))])
            let ops = [OwnedOp(.incr, name: "n", value: .integer(1)), OwnedOp(.read, name: "n", value: .null)]
            let reply = try client.command(header: MessageHeader(info1: .read, info2: .write), key: key, ops: ops)
            #expect(reply.resultCode == .ok)
            #expect(reply.bins["n"] == .integer(2))
        }
    }

    // MARK: - Keys

    @Test func storedUserKeyAndKeyMismatch() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            let key = testKey(12, userKey: .string("key-12"))
            #expect(try client.put(key: key, bins: [Bin("a", .integer(1))]).resultCode == .ok)
            let record = try #require(try server.namespace.get(indexDigest(key)))
            #expect(record.userKey == .string("key-12"))
            var other = key
            other.userKey = .string("another")
            #expect(try client.put(key: other, bins: [Bin("a", .integer(2))]).resultCode == .keyMismatch)
            #expect(try client.get(key: other).resultCode == .keyMismatch)
            #expect(try client.get(key: key).resultCode == .ok)
            // Without a key field there is nothing to compare.
            var digestOnly = key
            digestOnly.userKey = nil
            #expect(try client.get(key: digestOnly).resultCode == .ok)
        }
    }

    // MARK: - Unsupported features

    @Test func unsupportedFeaturesAnswer16() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            let key = testKey(13)
            _ = try client.put(key: key, bins: [Bin("l", .opaque(typeRaw: 20, bytes: [0x90]))])
            // List and map operations work (list append, then size; a map op on a list is a type error).
            let cdt = OwnedOp(typeRaw: OpType.cdtModify.rawValue, particleTypeRaw: 4, name: Array("l".utf8), value: [0x92, 0x01, 0x05])
            #expect(try client.command(header: MessageHeader(info2: .write), key: key, ops: [cdt]).resultCode == .ok)
            let cdtRead = OwnedOp(typeRaw: OpType.cdtRead.rawValue, particleTypeRaw: 4, name: Array("l".utf8), value: [0x91, 0x10])
            #expect(try client.command(header: MessageHeader(info1: .read), key: key, ops: [cdtRead]).resultCode == .ok)
            let mapSize = OwnedOp(typeRaw: OpType.cdtRead.rawValue, particleTypeRaw: 4, name: Array("l".utf8), value: [0x91, 0x60])
            #expect(try client.command(header: MessageHeader(info1: .read), key: key, ops: [mapSize]).resultCode == .incompatibleType)
            // Bit operations work: an empty one is a parameter error, a read on a list a type error.
            let emptyBits = OwnedOp(typeRaw: OpType.bitsModify.rawValue, particleTypeRaw: 4, name: Array("l".utf8), value: [0x90])
            #expect(try client.command(header: MessageHeader(info2: .write), key: key, ops: [emptyBits]).resultCode == .parameter)
            let bitGet = OwnedOp(typeRaw: OpType.bitsRead.rawValue, particleTypeRaw: 4, name: Array("l".utf8), value: [0x93, 0x32, 0x00, 0x08])
            #expect(try client.command(header: MessageHeader(info1: .read), key: key, ops: [bitGet]).resultCode == .incompatibleType)
            // HLL operations too: an HLL op on a list is a type error (the bin is checked first).
            let hllOnList = OwnedOp(typeRaw: OpType.hllModify.rawValue, particleTypeRaw: 4, name: Array("l".utf8), value: [0x90])
            #expect(try client.command(header: MessageHeader(info2: .write), key: key, ops: [hllOnList]).resultCode == .incompatibleType)
            // Expression ops too: an empty one is a parameter error, and so is a geo compare with a
            // GeoJSON literal that does not parse ([8, bin, "a"]), as Aerospike's builder.
            let emptyExp = OwnedOp(typeRaw: OpType.expModify.rawValue, particleTypeRaw: 4, name: Array("l".utf8), value: [0x90])
            #expect(try client.command(header: MessageHeader(info2: .write), key: key, ops: [emptyExp]).resultCode == .parameter)
            let geo = OwnedOp(typeRaw: OpType.expRead.rawValue, particleTypeRaw: 4, name: Array("r".utf8),
                                value: [0x91, 0x93, 8, 0x93, 81, 8, 0xa1, 0x6c, 0xa2, 23, 0x61])
            #expect(try client.command(header: MessageHeader(info1: .read), key: key, ops: [geo]).resultCode == .parameter)
            // A filter expression is evaluated on a plain read (malformed: 4; false: 27), and is
            // unsupported on anything else (a delete here); a UDF field; MRT bits.
            func withField(_ header: MessageHeader, _ field: OwnedField) -> OwnedMessage {
                var message = OwnedMessage(header: header)
                message.fields = [
                    OwnedField(.namespace, string: "test"), OwnedField(.set, string: "demo"), OwnedField(.digest, data: key.digest.bytes), field,
                ]
                return message
            }
            let read = MessageHeader(info1: [.read, .getAll])
            #expect(try client.message(withField(read, OwnedField(.filterExpression, data: [0x93, 0x01]))).resultCode == .parameter)
            #expect(try client.message(withField(read, OwnedField(.filterExpression, data: [0xc2]))).resultCode == .filteredOut)
            #expect(try client.message(withField(read, OwnedField(.filterExpression, data: [0xc3]))).resultCode == .ok)
            let delete = MessageHeader(info2: [.write, .delete])
            #expect(try client.message(withField(delete, OwnedField(.filterExpression, data: [0xc2]))).resultCode == .filteredOut)
            let exists = MessageHeader(info1: [.read, .getNoBinData])
            #expect(try client.message(withField(exists, OwnedField(.filterExpression, data: [0xc3]))).resultCode == .ok)
            #expect(try client.message(withField(exists, OwnedField(.filterExpression, data: [0xc2]))).resultCode == .filteredOut)
            #expect(try client.message(withField(read, OwnedField(.udfPackageName, string: "pkg"))).resultCode == .unsupportedFeature)
            let mrt = MessageHeader(info1: [.read, .getAll], info4: .mrtVerifyRead)
            #expect(try client.command(header: mrt, key: key).resultCode == .unsupportedFeature)
            // Op ids 17-19 (string ops of newer clients) are unknown: PARAMETER.
            let stringOp = OwnedOp(typeRaw: 18, particleTypeRaw: 3, name: Array("l".utf8), value: [])
            #expect(try client.command(header: MessageHeader(info2: .write), key: key, ops: [stringOp]).resultCode == .parameter)
        }
    }
}

/// A received frame's bytes again (header + body).
func frameBytes(_ received: (header: ProtoHeader, body: [UInt8])) -> [UInt8] {
    var bytes: [UInt8] = []
    received.header.encode(into: &bytes)
    return bytes + received.body
}


/// Read-touch (Aerospike 7.1+): a read inside the window touches the record once; -1 never
/// touches; a value outside -1...100 is PARAMETER.
@Suite struct ReadTouchTests {
    @Test func aReadNearEndOfLifeRestartsTheTTL() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            let key = testKey(70)
            let put = try client.put(key: key, bins: [Bin("a", .integer(1))], ttl: .seconds(100))
            let firstVoidTime = put.header.recordTTL
            func read(percent: UInt32) throws -> OwnedMessage {
                try client.command(header: MessageHeader(info1: [.read, .getAll], recordTTL: percent), key: key)
            }
            // 10 s after the write, 90 s of 100 are left: outside an 80% window, no touch.
            server.clock.advance(seconds: 10)
            #expect(try read(percent: 80).resultCode == .ok)
            #expect(try client.get(key: key).header.generation == 1)
            // 20 s after the write, 80 s are left: the window's edge (Aerospike's `remaining ≤
            // ttl × pct / 100`), touched to a fresh 100 s.
            server.clock.advance(seconds: 10)
            #expect(try read(percent: 80).header.generation == 1)  // the reply is what was read
            var after = try client.get(key: key)
            for _ in 0..<100 where after.header.generation == 1 {
                try await Task.sleep(for: .milliseconds(10))
                after = try client.get(key: key)
            }
            #expect(after.header.generation == 2)
            #expect(after.header.recordTTL == firstVoidTime + 20)
            // -1 never touches, even deep in the window.
            server.clock.advance(seconds: 90)
            #expect(try read(percent: 0xFFFF_FFFF).resultCode == .ok)
            #expect(try client.get(key: key).header.generation == 2)
            // Outside -1...100: PARAMETER.
            #expect(try read(percent: 101).resultCode == .parameter)
        }
    }
}
