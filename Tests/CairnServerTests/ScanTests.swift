@_spi(EngineInternals) import CairnEngine
import CairnIndex
import CairnServer
import CairnStorage
import CairnWire
import Testing

/// Scans and queries by partition (PROTOCOL.md §9) over a real socket.
@Suite struct ScanTests {
    /// Records of a scan reply (without the LAST message), checking the stream's shape.
    static func records(_ messages: [OwnedMessage]) -> [OwnedMessage] {
        guard let last = messages.last else {
            Issue.record("empty stream")
            return []
        }
        #expect(last.header.info3.contains(.last))
        #expect(last.resultCode == .ok)
        let records = Array(messages.dropLast())
        for record in records {
            #expect(record.resultCode == .ok)
            #expect(record.fields.first?.typeRaw == FieldType.namespace.rawValue)
            #expect(record.fields.dropFirst().first?.typeRaw == FieldType.digest.rawValue)
            #expect(record.fields.allSatisfy { [0, 1, 2, 4].contains($0.typeRaw) })
        }
        return records
    }

    static func digest(_ record: OwnedMessage) -> Digest? {
        record.field(.digest).flatMap { Digest(bytes: $0) }
    }

    @Test func scanNamespaceSetAndBinSelection() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            for index in 0..<20 {
                #expect(try client.put(key: testKey(index), bins: [Bin("a", .integer(Int64(index))), Bin("b", .string("x"))]).resultCode == .ok)
            }
            for index in 0..<5 {
                #expect(try client.put(key: testKey(index, set: "other"), bins: [Bin("c", .integer(1))]).resultCode == .ok)
            }
            let withKey = testKey(100, set: "keyed", userKey: .string("k100"))
            #expect(try client.put(key: withKey, bins: [Bin("a", .integer(100))]).resultCode == .ok)

            let all = Self.records(try client.scan().messages)
            #expect(all.count == 26)
            #expect(Set(all.compactMap(Self.digest)).count == 26)

            let demo = Self.records(try client.scan(setName: "demo").messages)
            #expect(demo.count == 20)
            #expect(demo.allSatisfy { $0.field(.set) == Array("demo".utf8) && $0.bins["b"] == .string("x") })
            let values = demo.compactMap { record -> Int64? in
                if case .integer(let value) = record.bins["a"] { value } else { nil }
            }
            #expect(Set(values) == Set(0..<20))

            let keyed = Self.records(try client.scan(setName: "keyed").messages)
            #expect(keyed.count == 1)
            #expect(keyed.first?.field(.key) == [CairnWire.ParticleType.string.rawValue] + Array("k100".utf8))

            // Only the selected bins; records without any of them are skipped.
            let selected = Self.records(try client.scan(binNames: ["c"]).messages)
            #expect(selected.count == 5)
            #expect(selected.allSatisfy { $0.bins.keys.sorted() == ["c"] })

            let noBins = Self.records(try client.scan(setName: "demo", noBinData: true).messages)
            #expect(noBins.count == 20)
            #expect(noBins.allSatisfy { $0.ops.isEmpty && $0.header.info1.contains(.getNoBinData) && $0.header.generation == 1 })

            #expect(Self.records(try client.scan(setName: "never-written").messages).isEmpty)
        }
    }

    @Test func partitionSubsetAndHiddenRecords() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            let keys = (0..<40).map { testKey($0) }
            for key in keys {
                #expect(try client.put(key: key, bins: [Bin("a", .integer(1))]).resultCode == .ok)
            }
            let chosen = Array(Set(keys.prefix(10).map { UInt16($0.digest.partitionID) }))
            let expected = keys.filter { chosen.contains(UInt16($0.digest.partitionID)) }
            let subset = Self.records(try client.scan(partitionIDs: chosen).messages)
            #expect(Set(subset.compactMap(Self.digest)) == Set(expected.map(\.digest)))

            // Deleted, expired and truncated records are not returned.
            #expect(try client.delete(key: keys[0]).resultCode == .ok)
            #expect(try client.put(key: keys[1], bins: [Bin("a", .integer(1))], ttl: .seconds(5)).resultCode == .ok)
            server.clock.advance(seconds: 6)
            let remaining = Self.records(try client.scan().messages)
            #expect(remaining.count == 38)
            #expect(try client.info("truncate:namespace=test;set=demo") == "ok")
            #expect(Self.records(try client.scan().messages).isEmpty)
        }
    }

    /// Pages of MAX_RECORDS resumed with DIGEST_ARRAY the way the C client does (§9.3): each
    /// partition in which a record was seen resumes after its last digest, the others are
    /// requested whole. Every record comes back exactly once.
    @Test func paginationWithMaxRecordsAndDigestResumption() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            let keys = (0..<57).map { testKey($0) }
            for key in keys {
                #expect(try client.put(key: key, bins: [Bin("a", .integer(1))]).resultCode == .ok)
            }
            var lastDigest: [UInt16: Digest] = [:]
            var seen: [Digest] = []
            var pageCount = 0
            while pageCount < 20 {
                pageCount += 1
                let whole = (0..<UInt16(4096)).filter { lastDigest[$0] == nil }
                let resume = lastDigest.keys.sorted().compactMap { lastDigest[$0] }
                let page = Self.records(try client.scan(partitionIDs: whole, resumeDigests: resume, maxRecords: 10).messages)
                #expect(page.count <= 10)
                for record in page {
                    let digest = try #require(Self.digest(record))
                    seen.append(digest)
                    lastDigest[UInt16(digest.partitionID)] = digest
                }
                if page.count < 10 { break }
            }
            #expect(pageCount == 6)
            #expect(seen.count == 57)
            #expect(Set(seen) == Set(keys.map(\.digest)))
        }
    }

    @Test func refusedScansAndQueries() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            let base: [OwnedField] = [OwnedField(.namespace, string: "test"), OwnedField(.set, string: "demo")]
            var query = OwnedMessage(header: MessageHeader(info1: .read, info3: .partitionDone))
            query.fields = base + [OwnedField(.indexRange, data: [1, 1, 0x61, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 9])]
            let indexQuery = try client.message(query)
            #expect(indexQuery.header.info3.contains(.last))
            #expect(indexQuery.resultCode == .indexNotFound)

            // How a query names its index (Aerospike 8.1's query.c): a bin name with INDEX_NAME
            // or INDEX_EXPRESSION, an empty bin name with neither, a name with an expression or a
            // context, a context that is not a normalized read context: 4. A name or context no
            // index has: 201.
            #expect(try client.info("sindex-create:ns=test;set=demo;indexname=byname;bin=a;type=numeric") == "ok")
            func range(bin: String) -> OwnedField {
                OwnedField(.indexRange, data: [1, UInt8(bin.utf8.count)] + Array(bin.utf8) + [1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 9])
            }
            let name = OwnedField(.indexName, string: "byname")
            let expression = OwnedField(.indexExpression, data: [0x93, 81, 2, 0xa1, 0x61])
            let context = OwnedField(.indexContext, data: [0x92, 0x10, 0x00])
            let cases: [([OwnedField], ResultCode)] = [
                ([range(bin: "a"), name], .parameter),
                ([range(bin: "a"), expression], .parameter),
                ([range(bin: "")], .parameter),
                ([range(bin: ""), name, expression], .parameter),
                ([range(bin: ""), name, context], .parameter),
                ([range(bin: ""), expression, context], .parameter),
                ([range(bin: ""), OwnedField(.indexName, string: "")], .parameter),
                ([range(bin: "a"), OwnedField(.indexContext, data: [0x92, 0x12, 0x00])], .parameter),
                ([range(bin: "a"), OwnedField(.indexContext, data: [0x92, 0xcc, 0x10, 0x00])], .parameter),
                ([range(bin: "a"), context], .indexNotFound),
                ([range(bin: ""), OwnedField(.indexName, string: "nope")], .indexNotFound),
                ([range(bin: ""), expression], .indexNotFound),
                ([range(bin: ""), name], .ok),
                ([range(bin: "a")], .ok),
            ]
            for (fields, expected) in cases {
                var q = OwnedMessage(header: MessageHeader(info1: .read, info3: .partitionDone))
                q.fields = base + fields
                let answer = try client.message(q)
                #expect(answer.resultCode == expected, "\(fields.map(\.typeRaw))")
            }
            #expect(try client.info("sindex-delete:ns=test;indexname=byname") == "ok")

            // A filter Aerospike's builder refuses (a geo compare of two integers) is 4 for the
            // whole scan.
            var filtered = OwnedMessage(header: MessageHeader(info1: .read, info3: .partitionDone))
            filtered.fields = base + [OwnedField(.filterExpression, data: [0x93, 0x08, 0x02, 0x03])]
            #expect(try client.message(filtered).resultCode == .parameter)

            // A background query is refused as Aerospike refuses one: a read op, or the READ flag,
            // is 4 (BackgroundQueries; the client tests run the ones that start).
            var background = OwnedMessage(header: MessageHeader(info2: .write, info3: .partitionDone))
            background.fields = base
            background.ops = [OwnedOp(.read, name: "a", value: .null)]
            #expect(try client.message(background).resultCode == .parameter)
            background = OwnedMessage(header: MessageHeader(info1: .read, info2: .write, info3: .partitionDone))
            background.fields = base
            background.ops = [OwnedOp(.write, name: "a", value: .integer(1))]
            #expect(try client.message(background).resultCode == .parameter)

            var unknown = OwnedMessage(header: MessageHeader(info1: .read, info3: .partitionDone))
            unknown.fields = [OwnedField(.namespace, string: "nope")]
            #expect(try client.message(unknown).resultCode == .namespaceNotFound)

            var duplicate = OwnedMessage(header: MessageHeader(info1: .read, info3: .partitionDone))
            duplicate.fields = base + [OwnedField(.pidArray, data: [1, 0, 1, 0])]
            #expect(try client.message(duplicate).resultCode == .parameter)
            #expect(try client.info("status") == "ok")
        }
    }

    /// A client that does not read must hold the scan back: the server produces frames only as
    /// fast as the client reads them (plus socket buffers and the write watermark), never the
    /// whole namespace at once.
    @Test func slowClientHoldsTheScanBack() async throws {
        var configuration = ServerConfiguration()
        configuration.streamFrameBytesTarget = 16 * 1024
        configuration.writeBufferBytesLow = 16 * 1024
        configuration.writeBufferBytesHigh = 64 * 1024
        try await withTestServer(configuration: configuration) { server in
            let recordCount = 10_000
            let value = [UInt8](repeating: 0xAB, count: 2048)
            for index in 0..<recordCount {
                try server.namespace.put(
                    indexDigest(testKey(index)), setName: "demo", bins: [StoredBin(name: "v", particleType: .blob, bytes: value)])
            }
            let client = try server.connect()
            client.setReceiveBufferBytes(32 * 1024)
            try client.send(client.scanFrame())
            try await Task.sleep(for: .milliseconds(500))
            let observer = try server.connect()
            let statistics = try observer.info("statistics")
            let produced = statistics.split(separator: ";").first { $0.hasPrefix("scan_records=") }.flatMap { Int($0.dropFirst(13)) } ?? -1
            #expect(produced >= 0)
            #expect(produced < recordCount / 2, "the server produced \(produced) of \(recordCount) records for a client that read nothing")
            let (messages, frameCount) = try client.receiveStream()
            #expect(messages.count == recordCount + 1)
            #expect(frameCount > recordCount * 2048 / (32 * 1024))
        }
    }
}
