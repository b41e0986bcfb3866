import CairnServer
import CairnWire
import Testing

/// Batch-index requests (PROTOCOL.md §8) over a real socket.
@Suite struct BatchTests {
    static func readRow(_ index: UInt32, _ key: RecordKey, info1: Info1 = [.read, .getAll], ops: [OwnedOp] = []) -> BatchRowSpec {
        BatchRowSpec(
            index: index, digest: key.digest,
            attributes: .read(namespace: key.namespace, setName: key.setName, info1: info1, ops: ops))
    }

    static func repeatRow(_ index: UInt32, _ key: RecordKey) -> BatchRowSpec {
        BatchRowSpec(index: index, digest: key.digest, attributes: nil)
    }

    @Test func batchReadAnswersEveryIndexIncludingRepeatsAndMisses() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            for index in 0..<5 {
                #expect(try client.put(key: testKey(index), bins: [Bin("v", .integer(Int64(index))), Bin("w", .string("x"))]).resultCode == .ok)
            }
            // Rows 0..9: a full row, then REPEAT rows (keys 5..9 do not exist).
            var rows = [Self.readRow(0, testKey(0))]
            rows += (1..<10).map { Self.repeatRow(UInt32($0), testKey($0)) }
            let (messages, _) = try client.batch(rows: rows)
            let last = try #require(messages.last)
            #expect(last.header.info3.contains(.last))
            #expect(last.resultCode == .ok)
            let replyRows = messages.dropLast()
            #expect(replyRows.map(\.header.transactionTTL).sorted() == Array(0..<10))
            for row in replyRows {
                let index = Int(row.header.transactionTTL)
                #expect(row.fields.isEmpty)
                if index < 5 {
                    #expect(row.resultCode == .ok)
                    #expect(row.header.generation == 1)
                    #expect(row.bins == ["v": .integer(Int64(index)), "w": .string("x")])
                } else {
                    #expect(row.resultCode == .keyNotFound)
                    #expect(row.ops.isEmpty)
                }
            }
        }
    }

    @Test func batchExistsNamedBinsWritesAndDeletes() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            #expect(try client.put(key: testKey(0), bins: [Bin("a", .integer(1)), Bin("b", .integer(2))]).resultCode == .ok)
            let write = BatchRowSpec.Attributes(
                info1: [], extraInfo: .init(info2: [.write, .respondAllOps], info3: []), recordTTL: 0,
                fields: [OwnedField(.namespace, string: "test"), OwnedField(.set, string: "demo")],
                ops: [OwnedOp(.write, name: "c", value: .integer(3)), OwnedOp(.incr, name: "a", value: .integer(10))])
            let delete = BatchRowSpec.Attributes(
                info1: [], extraInfo: .init(info2: [.write, .delete, .respondAllOps], info3: []), recordTTL: 0,
                fields: [OwnedField(.namespace, string: "test"), OwnedField(.set, string: "demo")])
            let unknownNamespace = BatchRowSpec.Attributes.read(namespace: "nope", setName: "demo")
            let rows = [
                Self.readRow(0, testKey(0), info1: [.read, .getNoBinData]),
                Self.readRow(1, testKey(0), info1: .read, ops: [OwnedOp(.read, name: "b", value: .null)]),
                BatchRowSpec(index: 2, digest: testKey(0).digest, attributes: write),
                BatchRowSpec(index: 3, digest: testKey(1).digest, attributes: write),
                BatchRowSpec(index: 4, digest: testKey(2).digest, attributes: delete),
                BatchRowSpec(index: 5, digest: testKey(3).digest, attributes: unknownNamespace),
            ]
            let (messages, _) = try client.batch(rows: rows)
            let byIndex = Dictionary(uniqueKeysWithValues: messages.dropLast().map { (Int($0.header.transactionTTL), $0) })
            #expect(byIndex[0]?.resultCode == .ok)
            #expect(byIndex[0]?.ops.isEmpty == true)
            #expect(byIndex[1]?.bins == ["b": .integer(2)])
            #expect(byIndex[2]?.resultCode == .ok)
            #expect(byIndex[2]?.header.generation == 2)
            #expect(byIndex[2]?.ops.map(\.typeRaw) == [OpType.write.rawValue, OpType.incr.rawValue])
            #expect(byIndex[3]?.resultCode == .ok)
            #expect(byIndex[4]?.resultCode == .keyNotFound)
            #expect(byIndex[5]?.resultCode == .namespaceNotFound)
            #expect(try client.get(key: testKey(0)).bins == ["a": .integer(11), "b": .integer(2), "c": .integer(3)])
            #expect(try client.get(key: testKey(1)).bins == ["c": .integer(3), "a": .integer(10)])
        }
    }

    @Test func largeBatchIsStreamedInBoundedFrames() async throws {
        var configuration = ServerConfiguration()
        configuration.streamFrameBytesTarget = 16 * 1024
        try await withTestServer(configuration: configuration) { server in
            let client = try server.connect()
            let value = ParticleValue.blob([UInt8](repeating: 7, count: 500))
            for index in 0..<300 {
                #expect(try client.put(key: testKey(index), bins: [Bin("v", value)]).resultCode == .ok)
            }
            var rows = [Self.readRow(0, testKey(0))]
            rows += (1..<300).map { Self.repeatRow(UInt32($0), testKey($0)) }
            let (messages, frameCount) = try client.batch(rows: rows)
            #expect(messages.count == 301)
            #expect(frameCount >= 300 * 500 / (16 * 1024))
            #expect(messages.dropLast().allSatisfy { $0.resultCode == .ok && $0.bins["v"] == value })
        }
    }

    @Test func batchRefusedAsAWholeOrFilteredByRow() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            // REPEAT on the first row: PARAMETER, only the LAST message.
            let (repeatFirst, _) = try client.batch(rows: [Self.repeatRow(0, testKey(0))])
            #expect(repeatFirst.count == 1)
            #expect(repeatFirst[0].header.info3.contains(.last))
            #expect(repeatFirst[0].resultCode == .parameter)
            // A batch-level filter expression filters each row ([1, 2, 3]: 2 == 3, false): the row
            // answers FILTERED_OUT, the batch is not refused.
            _ = try client.put(key: testKey(0), bins: [Bin("a", .integer(1))])
            let (filtered, _) = try client.batch(rows: [Self.readRow(0, testKey(0))], filterExpression: [0x93, 0x01, 0x02, 0x03])
            #expect(filtered.count == 2)
            #expect(filtered[0].resultCode == .filteredOut)
            #expect(filtered[1].header.info3.contains(.last) && filtered[1].resultCode == .ok)
            let (passing, _) = try client.batch(rows: [Self.readRow(0, testKey(0))], filterExpression: [0xc3])
            #expect(passing[0].resultCode == .ok)
            // The connection still works.
            #expect(try client.info("status") == "ok")
        }
    }
}
