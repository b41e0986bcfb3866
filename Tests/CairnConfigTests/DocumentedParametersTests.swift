import Foundation
import Testing

@testable import CairnConfig

/// Every parameter and stanza documented in docs/configuration.md is accepted by the parser and
/// changes the parsed value; a documented name without a sample here fails (so the document and
/// the parser cannot drift apart unnoticed).
@Suite struct DocumentedParametersTests {
    static let documentPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/configuration.md").path

    /// The sections whose parameter tables are checked, by their heading in the document.
    static let sections = ["service", "logging", "network", "metrics", "mod-lua", "namespace NAME", "storage-engine device",
                           "storage-engine memory", "set NAME"]

    /// Section heading → the first word of each backticked name in its tables.
    static func documentedNames() throws -> [String: Set<String>] {
        let text = try String(contentsOfFile: documentPath, encoding: .utf8)
        var result: [String: Set<String>] = [:]
        var current: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("#") {
                let heading = line.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces)
                let name = heading.trimmingCharacters(in: CharacterSet(charactersIn: "`"))
                current = sections.contains(name) ? name : nil
                continue
            }
            guard let section = current, line.hasPrefix("| `") else { continue }
            let afterTick = line.dropFirst(3)
            guard let end = afterTick.firstIndex(of: "`") else { continue }
            let word = afterTick[..<end].split(separator: " ").first.map(String.init) ?? ""
            result[section, default: []].insert(word)
        }
        return result
    }

    struct Sample: Sendable, CustomStringConvertible {
        let section: String
        let name: String
        let text: String
        /// False for a sample that can only restate the default (replication-factor 1).
        var changesValue = true
        var description: String { "\(section): \(name)" }
    }

    static let samples: [Sample] = [
        Sample(section: "service", name: "work-directory", text: config(service: "work-directory /var/lib/cairn")),
        Sample(section: "service", name: "pidfile", text: config(service: "pidfile /run/cairnd.pid")),
        Sample(section: "service", name: "cluster-name", text: config(service: "cluster-name prod")),
        Sample(section: "service", name: "node-id", text: config(service: "node-id a1b2")),
        Sample(section: "service", name: "proto-fd-max", text: config(service: "proto-fd-max 100")),
        Sample(section: "service", name: "shm-directory", text: config(service: "shm-directory /dev/shm/cairn")),
        Sample(section: "service", name: "service-threads", text: config(service: "service-threads 4")),
        Sample(section: "service", name: "network-io-model", text: config(service: "network-io-model epoll")),
        Sample(section: "service", name: "auto-pin", text: config(service: "auto-pin cpu")),
        Sample(section: "logging", name: "console", text: config(logging: "console {\ncontext any debug\n}")),
        Sample(section: "logging", name: "file", text: config(logging: "file /var/log/cairn.log {\ncontext any info\n}")),
        Sample(section: "logging", name: "context", text: config(logging: "console {\ncontext any warning\n}")),
        Sample(section: "network", name: "service", text: config(network: "service {\nport 4000\n}")),
        Sample(section: "network", name: "address", text: config(network: "service {\naddress 127.0.0.1\nport 3000\n}")),
        Sample(section: "network", name: "port", text: config(network: "service {\nport 3100\n}")),
        Sample(section: "metrics", name: "address", text: config(metrics: "address 127.0.0.1\nport 9145")),
        Sample(section: "metrics", name: "port", text: config(metrics: "port 9145")),
        Sample(section: "mod-lua", name: "user-path", text: config(modLua: "user-path /var/lib/cairn/udf")),
        Sample(section: "namespace NAME", name: "replication-factor", text: config(namespace: "replication-factor 1"),
               changesValue: false),
        Sample(section: "namespace NAME", name: "default-ttl", text: config(namespace: "default-ttl 30d")),
        Sample(section: "namespace NAME", name: "nsup-period", text: config(namespace: "nsup-period 1h")),
        Sample(section: "namespace NAME", name: "partition-tree-sprigs", text: config(namespace: "partition-tree-sprigs 512")),
        Sample(section: "namespace NAME", name: "force-durable-deletes", text: config(namespace: "force-durable-deletes true")),
        Sample(section: "namespace NAME", name: "default-read-touch-ttl-pct",
               text: config(namespace: "default-read-touch-ttl-pct 80")),
        Sample(section: "namespace NAME", name: "evict-indexes-memory-pct", text: config(namespace: "evict-indexes-memory-pct 80")),
        Sample(section: "namespace NAME", name: "evict-sys-memory-pct", text: config(namespace: "evict-sys-memory-pct 90")),
        Sample(section: "namespace NAME", name: "evict-tenths-pct", text: config(namespace: "evict-tenths-pct 10")),
        Sample(section: "namespace NAME", name: "evict-hist-buckets", text: config(namespace: "evict-hist-buckets 100000")),
        Sample(section: "namespace NAME", name: "disable-cold-start-eviction",
               text: config(namespace: "disable-cold-start-eviction true")),
        Sample(section: "namespace NAME", name: "enable-benchmarks-read", text: config(namespace: "enable-benchmarks-read true")),
        Sample(section: "namespace NAME", name: "enable-benchmarks-write", text: config(namespace: "enable-benchmarks-write yes")),
        Sample(section: "namespace NAME", name: "enable-benchmarks-udf", text: config(namespace: "enable-benchmarks-udf")),
        Sample(section: "namespace NAME", name: "storage-engine",
               text: config(storage: "storage-engine memory {\ndata-size 1G\n}")),
        Sample(section: "namespace NAME", name: "set", text: config(namespace: "set users {\ndefault-ttl 1d\n}")),
        Sample(section: "storage-engine device", name: "device",
               text: config(storage: "storage-engine device {\ndevice /dev/nvme0n1\n}")),
        Sample(section: "storage-engine device", name: "file",
               text: config(storage: "storage-engine device {\nfile /data/b.dat\nfilesize 1G\n}")),
        Sample(section: "storage-engine device", name: "filesize",
               text: config(storage: "storage-engine device {\nfile /data/a.dat\nfilesize 2G\n}")),
        Sample(section: "storage-engine device", name: "write-block-size", text: config(device: "write-block-size 2M")),
        Sample(section: "storage-engine device", name: "flush-max-ms", text: config(device: "flush-max-ms 50")),
        Sample(section: "storage-engine device", name: "commit-to-device", text: config(device: "commit-to-device true")),
        Sample(section: "storage-engine device", name: "defrag-lwm-pct", text: config(device: "defrag-lwm-pct 60")),
        Sample(section: "storage-engine device", name: "defrag-sleep", text: config(device: "defrag-sleep 500")),
        Sample(section: "storage-engine device", name: "max-write-cache", text: config(device: "max-write-cache 128M")),
        Sample(section: "storage-engine device", name: "post-write-cache", text: config(device: "post-write-cache 0")),
        Sample(section: "storage-engine device", name: "stop-writes-avail-pct", text: config(device: "stop-writes-avail-pct 10")),
        Sample(section: "storage-engine device", name: "cold-start-empty", text: config(device: "cold-start-empty true")),
        Sample(section: "storage-engine device", name: "read-page-cache", text: config(device: "read-page-cache true")),
        Sample(section: "storage-engine device", name: "fill-page-cache", text: config(device: "fill-page-cache false")),
        Sample(section: "storage-engine device", name: "post-write-queue", text: config(device: "post-write-queue 8")),
        Sample(section: "storage-engine device", name: "evict-used-pct", text: config(device: "evict-used-pct 60")),
        Sample(section: "storage-engine memory", name: "evict-used-pct",
               text: config(storage: "storage-engine memory {\ndata-size 1G\nevict-used-pct 70\n}")),
        Sample(section: "storage-engine memory", name: "data-size",
               text: config(storage: "storage-engine memory {\ndata-size 2G\n}")),
        Sample(section: "storage-engine memory", name: "device",
               text: config(storage: "storage-engine memory {\ndevice /dev/nvme0n1\n}")),
        Sample(section: "storage-engine memory", name: "file",
               text: config(storage: "storage-engine memory {\nfile /data/m.dat\nfilesize 1G\n}")),
        Sample(section: "storage-engine memory", name: "filesize",
               text: config(storage: "storage-engine memory {\nfile /data/m.dat\nfilesize 4G\n}")),
        Sample(section: "set NAME", name: "default-ttl", text: config(namespace: "set users {\ndefault-ttl 2d\n}")),
        Sample(section: "set NAME", name: "stop-writes-count", text: config(namespace: "set users {\nstop-writes-count 100\n}")),
        Sample(section: "set NAME", name: "disable-eviction", text: config(namespace: "set users {\ndisable-eviction true\n}")),
    ]

    /// A valid configuration with one stanza or line replaced or added.
    static func config(service: String = "", logging: String = "console {\ncontext any info\n}",
                       network: String = "service {\nport 3000\n}", namespace: String = "",
                       storage: String? = nil, device: String = "", metrics: String? = nil, modLua: String? = nil) -> String {
        let engine = storage ?? "storage-engine device {\nfile /data/a.dat\nfilesize 1G\n\(device)\n}"
        let metricsStanza = (metrics.map { "metrics {\n\($0)\n}" } ?? "") + (modLua.map { "\nmod-lua {\n\($0)\n}" } ?? "")
        return """
            service {
            \(service)
            }
            logging {
            \(logging)
            }
            network {
            \(network)
            }
            \(metricsStanza)
            namespace test {
            \(namespace)
            \(engine)
            }

            """
    }

    @Test func everyDocumentedNameHasASample() throws {
        let documented = try Self.documentedNames()
        #expect(Set(documented.keys) == Set(Self.sections), "a section's table was not found in \(Self.documentPath)")
        for (section, names) in documented {
            let sampled = Set(Self.samples.filter { $0.section == section }.map(\.name))
            #expect(names.subtracting(sampled).isEmpty, "documented in '\(section)' but not tested: \(names.subtracting(sampled).sorted())")
            #expect(sampled.subtracting(names).isEmpty, "tested in '\(section)' but not documented: \(sampled.subtracting(names).sorted())")
        }
    }

    @Test(arguments: samples)
    func documentedNameIsAcceptedAndTakesEffect(_ sample: Sample) throws {
        let base = try CairnConfiguration.parse(text: Self.config(), fileName: "base.conf")
        let parsed = try CairnConfiguration.parse(text: sample.text, fileName: "sample.conf")
        if sample.changesValue {
            #expect(parsed != base, "\(sample) parsed to the same value as the base configuration")
        }
        // What is parsed renders to text that parses back to the same value.
        #expect(try CairnConfiguration.parse(text: parsed.rendered(), fileName: "rendered.conf") == parsed)
    }
}
