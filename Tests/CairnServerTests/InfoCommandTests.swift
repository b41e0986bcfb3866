@_spi(EngineInternals) import CairnEngine
import CairnIndex
import CairnServer
import CairnStorage
import CairnWire
import Foundation
import Testing

/// The engine's digest for a test key.
func indexDigest(_ key: RecordKey) -> Digest {
    key.digest
}

func integerBin(_ name: String, _ value: Int64) -> StoredBin {
    StoredBin(name: name, particleType: .integer, bytes: ParticleValue.integer(value).wireBytes)
}

@Suite struct InfoCommandTests {
    /// PROTOCOL.md Appendix A: the C client's seed request and the expected reply, byte for byte.
    @Test func appendixASeedHandshakeByteForByte() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            let request = Array("node\npartition-generation\nbuild\n".utf8)
            let requestFrame: [UInt8] = [0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20] + request
            let encoded = frame { $0.appendInfoRequestFrame(["node", "partition-generation", "build"]) }
            #expect(requestFrame == encoded)
            try client.send(requestFrame)
            let reply = try #require(try client.receiveFrame())
            let expectedBody = Array("node\tBB9A1B2C3D4E5F6\npartition-generation\t1\nbuild\t8.0.0.0\n".utf8)
            #expect(reply.header == ProtoHeader(type: .info, bodySizeBytes: UInt64(expectedBody.count)))
            #expect(reply.body == expectedBody)
        }
    }

    @Test func rustSeedAndTendAnswers() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            let seed = try client.info(["node", "cluster-name", "build", "service-clear-std"])
            #expect(seed.map(\.0) == ["node", "cluster-name", "build", "service-clear-std"])
            #expect(seed[0].1 == "BB9A1B2C3D4E5F6")
            #expect(seed[1].1 == "null")
            #expect(seed[2].1.split(separator: ".").count == 4)
            #expect(seed[3].1 == "127.0.0.1:\(server.port)")  // where this node serves clients, as asadm reads it
            let tend = try client.info(["node", "cluster-name", "partition-generation", "peers-clear-std"])
            #expect(tend[2].1 == "1")
            #expect(tend[3].1 == "1,\(server.port),[]")
            let partitions = try client.info(["replicas", "partition-generation"])
            #expect(partitions.map(\.0) == ["replicas", "partition-generation"])
            #expect(partitions[0].1 == "test:0,1," + String(repeating: "/", count: 682) + "8=")
        }
    }

    @Test func cClientTendAndLegacyAnswers() async throws {
        var configuration = ServerConfiguration()
        configuration.clusterName = "cairn-test"
        try await withTestServer(configuration: configuration) { server in
            let client = try server.connect()
            let answers = try client.info([
                "node", "peers-generation", "partition-generation", "cluster-name", "partitions", "replicas-all",
                "replicas-master", "rack-ids", "rebalance-generation", "services", "services-alumni",
                "user-agent-set:value=MSxweXRob24tMTkuMCxub3Qtc2V0", "cluster-stable:size=1;namespace=test", "features",
            ])
            let values = Dictionary(uniqueKeysWithValues: answers)
            #expect(values["peers-generation"] == "1")
            #expect(values["cluster-name"] == "cairn-test")
            #expect(values["partitions"] == "4096")
            let bitmap = String(repeating: "/", count: 682) + "8="
            #expect(values["replicas-all"] == "test:1,\(bitmap)")
            #expect(values["replicas-master"] == "test:\(bitmap)")
            #expect(values["rack-ids"] == "test:0")
            #expect(values["rebalance-generation"] == "1")
            #expect(values["services"] == "")
            #expect(values["user-agent-set:value=MSxweXRob24tMTkuMCxub3Qtc2V0"] == "ok")
            #expect(values["cluster-stable:size=1;namespace=test"] == "BB9A1B2C3D4E5F6")
            #expect(values["features"]?.split(separator: ";").contains("pscans") == true)
            #expect(try client.info("cluster-stable:namespace=nope").hasPrefix("ERROR:20:"))
        }
    }

    @Test func featuresNameOnlyWhatWorks() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            let features = Set(try client.info("features").split(separator: ";").map(String.init))
            #expect(features.contains("cdt-list") && features.contains("cdt-map") && features.contains("blob-bits") && features.contains("hll"))
            #expect(features.contains("sindex-exists") && features.contains("geo") && features.contains("udf"))
            #expect(features.contains("query-show"))  // background queries with ops or a UDF are jobs it shows
            for missing in ["cdt-index", "replicas-max"] {
                #expect(!features.contains(missing), "\(missing)")
            }
        }
    }

    @Test func secondaryIndexDefinitions() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            // The 8.0 client form (ns=, indexdata=) and the 8.1 form (namespace=, bin=, type=).
            #expect(try client.info("sindex-create:ns=test;set=s;indexname=i1;indextype=MAPKEYS;indexdata=m,STRING") == "ok")
            #expect(try client.info("sindex-create:namespace=test;indexname=i2;indextype=list;bin=l;type=numeric") == "ok")
            // The same definition again: ok; the same name with another definition: 200.
            #expect(try client.info("sindex-create:ns=test;set=s;indexname=i1;indextype=MAPKEYS;indexdata=m,STRING") == "ok")
            #expect(try client.info("sindex-create:ns=test;indexname=i1;indexdata=x,numeric")
                == "ERROR:200:'indexname' already exists with different definition")
            #expect(try client.info("sindex-list:ns=test") == """
                ns=test:indexname=i1:set=s:bin=m:type=string:indextype=mapkeys:context=null:exp=null:state=RW;\
                ns=test:indexname=i2:set=null:bin=l:type=numeric:indextype=list:context=null:exp=null:state=RW
                """)
            #expect(try client.info("sindex-stat:namespace=test;indexname=i1").contains("load_pct=100"))
            #expect(try client.info("sindex/test/i2").contains("load_pct=100"))
            #expect(try client.info("sindex/test/nope") == "ERROR:201:no index")
            #expect(try client.info("sindex/nope") == "ns_type=unknown")
            #expect(try client.info("sindex-exists:ns=test;indexname=i1") == "true")
            // Aerospike's checks, in its order.
            #expect(try client.info("sindex-create:ns=test;indexdata=a,string") == "ERROR:4:missing 'indexname'")
            #expect(try client.info("sindex-create:indexname=x;indexdata=a,string") == "ERROR:20:missing 'namespace'")
            #expect(try client.info("sindex-create:ns=test;indexname=x") == "ERROR:4:both 'indexdata' and 'type' are missing")
            #expect(try client.info("sindex-create:ns=test;indexname=x;indexdata=a,string;type=string")
                == "ERROR:4:both 'indexdata' and 'type' are specified")
            #expect(try client.info("sindex-create:ns=test;indexname=x;indexdata=a") == "ERROR:4:'indexdata' missing bin type")
            #expect(try client.info("sindex-create:ns=test;indexname=x;indexdata=a,float").hasPrefix("ERROR:4:bad 'indexdata' bin type"))
            #expect(try client.info("sindex-create:ns=test;indexname=x;indextype=tree;indexdata=a,string").hasPrefix("ERROR:4:bad 'indextype'"))
            #expect(try client.info("sindex-create:ns=test;indexname=x;type=string") == "ERROR:4:both 'bin' and 'exp' are missing")
            #expect(try client.info("sindex-create:ns=test;indexname=x;indextype=mapkeys;bin=a;type=geo2dsphere")
                .hasPrefix("ERROR:4:bad 'indexdata' bin type for 'indextype' 'mapkeys'"))
            #expect(try client.info("sindex-create:ns=test;indexname=x;context=%%;bin=a;type=string") == "ERROR:4:'context' invalid base64")
            #expect(try client.info("sindex-create:ns=test;indexname=\(String(repeating: "n", count: 64));bin=a;type=string")
                == "ERROR:4:'indexname' value too long")
            // Delete: ok, also for an index that does not exist.
            #expect(try client.info("sindex-delete:ns=test;indexname=i1") == "ok")
            #expect(try client.info("sindex-delete:namespace=test;indexname=i1") == "ok")
            #expect(try client.info("sindex-exists:ns=test;indexname=i1") == "false")
            #expect(try client.info("sindex-stat:ns=test;indexname=i1") == "ERROR:201:no index")
            #expect(try client.info("sindex-exists:ns=nope;indexname=i1") == "ERROR:20:namespace not found on node")
            #expect(try client.info("sindex-delete:ns=test;indexname=i2") == "ok")
            #expect(try client.info("sindex-list") == "")
            // A set index: only a set; listed in its short form; enable-index on the set.
            #expect(try client.info("sindex-create:ns=test;set=s;indextype=SET;indexname=si;indexdata=a,string")
                == "ERROR:4:indexdata parameter is not supported for set index")
            #expect(try client.info("sindex-create:ns=test;indextype=SET;indexname=si") == "ERROR:4:missing 'set'")
            #expect(try client.info("sindex-create:ns=test;set=s;indextype=SET;indexname=si") == "ok")
            #expect(try client.info("sindex-list:ns=test") == "ns=test:indexname=si:set=s:indextype=set")
            #expect(try client.info("sets/test/s").contains("enable-index=true"))
            #expect(try client.info("sindex-delete:ns=test;indexname=si") == "ok")
        }
    }

    /// As Aerospike 8.1's sindex-create: an expression index's expression is built and its
    /// result type compared with the index's before anything is created.
    @Test func expressionIndexesAreCheckedAtCreate() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            func create(_ expression: [UInt8], _ rest: String = "type=numeric") throws -> String {
                try client.info("sindex-create:ns=test;indexname=e;\(rest);exp=\(Data(expression).base64EncodedString())")
            }
            let binA: [UInt8] = [0x93, 0x51, 0x02, 0xa1, 0x61], binB: [UInt8] = [0x93, 0x51, 0x02, 0xa1, 0x62]
            let sum: [UInt8] = [0x93, 0x14] + binA + binB
            // Not base64, not msgpack, an op that does not exist, a call of an unknown system.
            #expect(try client.info("sindex-create:ns=test;indexname=e;type=numeric;exp=%%") == "ERROR:4:bad 'exp'")
            #expect(try create([0xc1]) == "ERROR:4:bad 'exp'")
            #expect(try create([0x91, 0x63]) == "ERROR:4:bad 'exp'")
            #expect(try create([0x95, 0x7f, 0x02, 0x03, 0x91, 0x10, 0x93, 0x51, 0x04, 0xa1, 0x6c]) == "ERROR:4:bad 'exp'")
            // Metadata other than the digest, the key, neither a bin nor the digest.
            #expect(try create([0x93, 0x14, 0x91, 0x45] + binA) == "ERROR:4:bad 'exp'")  // ttl() + a
            #expect(try create([0x92, 0x50, 0x02]) == "ERROR:4:bad 'exp'")
            #expect(try create([0x05]) == "ERROR:4:bad 'exp'")
            // A result type other than the index's.
            #expect(try create(sum, "type=string")
                == "ERROR:4:bad 'exp' - expression type 'numeric' does not match expected type 'string'")
            #expect(try create([0x93, 0x01] + binA + [0x01])
                == "ERROR:4:bad 'exp' - expression type 'bool' does not match expected type 'numeric'")
            #expect(try create(binA, "indextype=list;type=numeric")
                == "ERROR:4:bad 'exp' - expression type 'numeric' does not match expected type 'list'")
            #expect(try create([0x93, 0x51, 0x04, 0xa1, 0x6c], "indextype=mapkeys;type=string")
                == "ERROR:4:bad 'exp' - expression type 'list' does not match expected type 'map'")
            #expect(try client.info("sindex-list") == "")
            // Well typed: created.
            #expect(try create(sum) == "ok")
            #expect(try client.info("sindex-create:ns=test;indexname=d;type=numeric;exp=\(Data([0x92, 0x40, 0x03]).base64EncodedString())") == "ok")
            #expect(try client.info("sindex-create:ns=test;indexname=l;indextype=list;type=string;exp=\(Data([0x93, 0x51, 0x04, 0xa1, 0x6c]).base64EncodedString())") == "ok")
            #expect(try client.info("sindex-list").split(separator: ";").count == 3)
        }
    }

    @Test func helpListsTheCommands() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            let commands = Set(try client.info("help").split(separator: ";").map(String.init))
            for name in ["help", "get-config", "namespace", "statistics", "truncate", "features"] {
                #expect(commands.contains(name), "\(name)")
            }
        }
    }

    @Test func namespaceConfigInBothForms() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            for request in ["get-config:context=namespace;id=test", "get-config:context=namespace;namespace=test"] {
                let answer = try client.info(request)
                #expect(answer.split(separator: ";").contains("nsup-period=120"), "\(request): \(answer)")
                #expect(answer.contains("default-ttl="))
            }
            #expect(try client.info("get-config:context=namespace;namespace=nope").hasPrefix("ERROR:20:"))
        }
    }

    /// `enable-benchmarks-*` from the configuration: the groups answer in `latencies:` from the
    /// start, `get-config` shows them on, and `set-config` still turns them off.
    @Test func benchmarksEnabledAtStartAnswerFromTheStart() async throws {
        var configuration = ServerConfiguration()
        configuration.enabledBenchmarks = ["test": [.read, .write]]
        try await withTestServer(configuration: configuration) { server in
            let client = try server.connect()
            let config = try client.info("get-config:context=namespace;id=test").split(separator: ";")
            #expect(config.contains("enable-benchmarks-read=true"))
            #expect(config.contains("enable-benchmarks-write=true"))
            #expect(config.contains("enable-benchmarks-udf=false"))
            #expect(try client.put(key: testKey(1), bins: [Bin("v", .integer(1))]).resultCode == .ok)
            #expect(try client.get(key: testKey(1)).resultCode == .ok)
            let read = try client.info("latencies:hist={test}-benchmarks-read")
            #expect(read.contains("{test}-read-start:msec,"), "\(read)")
            #expect(read.contains("{test}-read-local:msec,"), "\(read)")
            let write = try client.info("latencies:hist={test}-benchmarks-write")
            #expect(write.contains("{test}-write-master:msec,"), "\(write)")
            #expect(try client.info("latencies:hist={test}-benchmarks-udf").hasPrefix("error"))
            #expect(try client.info("set-config:context=namespace;id=test;enable-benchmarks-read=false") == "ok")
            #expect(try client.info("latencies:hist={test}-benchmarks-read").hasPrefix("error"))
        }
    }

    @Test func operatorCommands() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            #expect(try client.info("status") == "ok")
            #expect(try client.info("STATUS") == "ok")
            #expect(try client.info("build") == "8.0.0.0")
            #expect(try client.info("edition") == "Aerospike Community Edition")
            #expect(try client.info("version") == "Aerospike Community Edition build 8.0.0.0")
            #expect(try client.info("namespaces") == "test")
            #expect(try client.info("no-such-command") == "ERROR:4:unrecognized command")
            #expect(try client.info("namespace/nope") == "type=unknown")
            let statistics = try client.info("statistics")
            #expect(statistics.contains("cluster_size=1"))
            #expect(statistics.contains("client_connections=1"))
            // Answers come back in request order, one per line, even for errors and duplicates.
            let answers = try client.info(["build", "bogus", "status", "build"])
            #expect(answers.map(\.0) == ["build", "bogus", "status", "build"])
            #expect(answers.map(\.1) == ["8.0.0.0", "ERROR:4:unrecognized command", "ok", "8.0.0.0"])
        }
    }

    /// What asadm's `health` reads from a CE 8.1 node with no cluster, XDR or health check, and
    /// CE's answers for them (issue 14): heartbeat and migration configuration of a node whose
    /// heartbeat is off, cluster-traffic and migration counts of 0, and the empty answers of the
    /// commands of features CE has switched off.
    @Test func clusterAndHealthAnswersAsCE() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            func pairs(_ text: String) -> [String: String] {
                var result: [String: String] = [:]
                for item in text.split(separator: ";") {
                    let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    result[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
                }
                return result
            }
            let network = pairs(try client.info("get-config:context=network"))
            #expect(network["heartbeat.mode"] == "mesh")
            #expect(network["heartbeat.protocol"] == "none")
            #expect(network["heartbeat.interval"] == "150")
            #expect(network["heartbeat.timeout"] == "10")
            #expect(network["heartbeat.port"] == "0")
            #expect(network["heartbeat.mtu"] == "0")
            let service = pairs(try client.info("get-config:context=service"))
            #expect(service["migrate-threads"] == "0")
            #expect(service["min-cluster-size"] == "1")
            #expect(service["enable-health-check"] == "false")
            // No parameters: every context (service, then network), as CE collects them.
            let all = pairs(try client.info("get-config"))
            #expect(all["migrate-threads"] == "0" && all["heartbeat.mode"] == "mesh" && all["service.port"] != nil)
            let statistics = pairs(try client.info("statistics"))
            for name in ["heartbeat_connections", "heartbeat_connections_opened", "heartbeat_received_self",
                         "heartbeat_received_foreign", "fabric_connections", "fabric_connections_opened"] {
                #expect(statistics[name] == "0", "\(name)")
            }
            let namespace = pairs(try client.info("namespace/test"))
            for name in ["migrate_tx_instances", "migrate_records_transmitted", "migrate_record_receives",
                         "migrate_signals_remaining", "migrate_fresh_partitions", "si_query_long_basic_complete",
                         "si_query_long_basic_error", "si_query_short_basic_timeout", "si_query_aggr_abort",
                         "si_query_ops_bg_error"] {
                #expect(namespace[name] == "0", "\(name)")
            }
            #expect(namespace["hwm_breached"] == "false")  // no eviction threshold is set
            // CE 8.1: outlier detection off (enable-health-check false), no XDR, no security.
            #expect(try client.info("health-stats") == "")
            #expect(try client.info("health-outliers") == "")
            #expect(try client.info("get-stats:context=xdr") == "")
            #expect(try client.info("get-stats:context=xdr;dc=dc1") == "")
            #expect(try client.info("get-config:context=xdr") == "")
            #expect(try client.info("get-config:context=security") == "")
            #expect(try client.info("get-stats") == "ERROR:4:missing 'context'")
            #expect(try client.info("get-stats:context=") == "ERROR:4:missing 'context' value")
            #expect(try client.info("get-stats:context=service") == "ERROR:4:unknown context")
            let commands = Set(try client.info("help").split(separator: ";").map(String.init))
            #expect(commands.isSuperset(of: ["get-stats", "health-stats", "health-outliers"]))
        }
    }

    @Test func emptyRequestAnswersTheSummary() async throws {
        try await withTestServer { server in
            let client = try server.connect()
            try client.send(ProtoHeaderBytes.make(type: .info, bodySizeBytes: 0))
            let reply = try #require(try client.receiveFrame())
            let names = parseInfoBody(reply.body).map(\.0)
            #expect(names.contains("node"))
            #expect(names.contains("build"))
        }
    }

    @Test func namespaceAndSetStatisticsAreReal() async throws {
        try await withTestServer { server in
            for index in 0..<5 {
                try server.namespace.put(indexDigest(testKey(index)), setName: "demo", bins: [integerBin("a", Int64(index))])
            }
            for index in 5..<7 {
                try server.namespace.put(indexDigest(testKey(index, set: "other")), setName: "other", bins: [integerBin("a", 1)])
            }
            let client = try server.connect()
            let namespace = try client.info("namespace/test")
            let values = Dictionary(
                uniqueKeysWithValues: namespace.split(separator: ";").map { item in
                    let parts = item.split(separator: "=", maxSplits: 1)
                    return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
                })
            #expect(values["objects"] == "7")
            #expect(values["tombstones"] == "0")
            #expect(Int(values["device_used_bytes"] ?? "") ?? 0 > 0)
            #expect(values["device_total_bytes"] == "\(64 << 20)")
            let sets = try client.info("sets")
            #expect(sets.contains("ns=test:set=demo:objects=5:"))
            #expect(sets.contains("ns=test:set=other:objects=2:"))
            #expect(sets.hasSuffix(";"))
            #expect(try client.info("sets/test/other").hasPrefix("objects=2:tombstones=0:"))
        }
    }

    @Test func truncateIsDurableAndValidated() async throws {
        try await withTestServer { server in
            let namespace = server.namespace
            for index in 0..<4 {
                try namespace.put(indexDigest(testKey(index)), setName: "demo", bins: [integerBin("a", 1)])
                try namespace.put(indexDigest(testKey(index, set: "keep")), setName: "keep", bins: [integerBin("a", 1)])
            }
            server.clock.advance(seconds: 1)
            let client = try server.connect()
            #expect(try client.info("truncate:namespace=test;set=demo") == "ok")
            #expect(try namespace.get(indexDigest(testKey(0))) == nil)
            #expect(try namespace.get(indexDigest(testKey(0, set: "keep"))) != nil)
            #expect(namespace.storage.truncation.setLutMs(forSet: "demo") != nil)

            #expect(try client.info("truncate-namespace:namespace=test;set=demo") == "ERROR:4:unexpected set name")
            #expect(try client.info("truncate:set=demo").hasPrefix("ERROR:20:"))
            #expect(try client.info("truncate-namespace:namespace=nope").hasPrefix("ERROR:20:"))
            let futureNanos = UInt64(Date().timeIntervalSince1970 + 3600) * 1_000_000_000
            #expect(try client.info("truncate-namespace:namespace=test;lut=\(futureNanos)") == "ERROR:4:would truncate in the future")
            #expect(try client.info("truncate-undo:namespace=test").hasPrefix("ERROR:16:"))

            #expect(try client.info("truncate-namespace:namespace=test") == "ok")
            #expect(try namespace.get(indexDigest(testKey(0, set: "keep"))) == nil)
            #expect(namespace.storage.truncation.namespaceLutMs > 0)
        }
    }
}
