import Testing

@testable import CairnConfig

/// A realistic production configuration, with comments and blank lines in every odd place.
let realisticConfigText = """
    # Cairn on a two-NVMe host.   Comments may hold { braces } and # hashes.

    service {   # trailing comment after a brace
    \twork-directory /var/lib/cairn
    \tpidfile /var/run/cairn/cairnd.pid
        cluster-name prod-eu1
        node-id A1B2C3
        proto-fd-max 20000
        service-threads 6
        network-io-model epoll
        auto-pin cpu

        shm-directory /dev/shm/cairn
    }

    logging {
        # two sinks
        file /var/log/cairn/cairn.log {
            context any info
        }
        console {
            context any WARNING
        }
    }

    network {
        service {
            address any
            port 3000
        }
    }

    namespace users {
        replication-factor 1
        default-ttl 30d
        nsup-period 10m
        partition-tree-sprigs 1024
        force-durable-deletes true
        storage-engine device {
            device /dev/nvme0n1
            device /dev/nvme1n1      # several devices
            write-block-size 128K
            flush-max-ms 250
            commit-to-device yes
            defrag-lwm-pct 60
            defrag-sleep 500
            max-write-cache 128M
            post-write-cache 64M
            stop-writes-avail-pct 10
        }
        set sessions {
            default-ttl 1h
            stop-writes-count 5000000
        }
        set profiles {
        }
    }

    namespace cache {
        default-ttl 5m
        storage-engine memory {
            data-size 2G
        }
    }

    namespace events {
        storage-engine memory {
            file /var/lib/cairn/events-0.dat
            file /var/lib/cairn/events-1.dat
            filesize 16G
        }
    }
    # end
    """

/// The value `realisticConfigText` must parse to.
let realisticConfigValue = CairnConfiguration(
    service: ServiceConfig(
        workDirectory: "/var/lib/cairn",
        pidFile: "/var/run/cairn/cairnd.pid",
        clusterName: "prod-eu1",
        nodeID: 0xA1B2C3,
        protoFDCountMax: 20_000,
        shmDirectory: "/dev/shm/cairn",
        serviceThreads: 6,
        networkIOModel: .epoll,
        autoPin: .cpu
    ),
    logging: LoggingConfig(sinks: [
        LogSink(destination: .file("/var/log/cairn/cairn.log"), level: .info),
        LogSink(destination: .console, level: .warning),
    ]),
    network: NetworkConfig(
        service: NetworkEndpoint(address: "any", port: 3000)
    ),
    namespaces: [
        NamespaceConfig(
            name: "users",
            replicationFactor: 1,
            defaultTTLSeconds: 30 * 86_400,
            nsupPeriodSeconds: 600,
            partitionTreeSprigCount: 1024,
            forceDurableDeletes: true,
            storage: .device(
                DeviceStorageConfig(
                    backing: .devices(["/dev/nvme0n1", "/dev/nvme1n1"]),
                    writeBlockSizeBytes: 128 * 1024,
                    flushMaxMs: 250,
                    commitToDevice: true,
                    defragLWMPct: 60,
                    defragSleepUs: 500,
                    writeCacheBytesMax: 128 << 20,
                    postWriteCacheBytes: 64 << 20,
                    stopWritesAvailPct: 10
                )
            ),
            sets: [
                SetConfig(name: "sessions", defaultTTLSeconds: 3600, stopWritesCount: 5_000_000),
                SetConfig(name: "profiles"),
            ]
        ),
        NamespaceConfig(
            name: "cache",
            defaultTTLSeconds: 300,
            storage: .memory(MemoryStorageConfig(dataSizeBytes: 2 << 30))
        ),
        NamespaceConfig(
            name: "events",
            storage: .memory(
                MemoryStorageConfig(
                    persistence: .files(
                        ["/var/lib/cairn/events-0.dat", "/var/lib/cairn/events-1.dat"],
                        sizeBytes: 16 << 30
                    )
                )
            )
        ),
    ]
)

/// A config whose one namespace has a `storage-engine device` stanza of the given lines (the
/// stanza's own lines start at line 8 of the text).
enum DeviceStanza {
    static func parse(_ lines: String) throws -> CairnConfiguration {
        let text = "network {\n service {\n port 3000\n }\n}\nnamespace test {\n storage-engine device {\n\(lines)\n }\n}\n"
        return try CairnConfiguration.parse(text: text, fileName: "stanza.conf")
    }

    static func device(_ lines: String) throws -> DeviceStorageConfig {
        guard case .device(let device) = try #require(try parse(lines).namespace(named: "test")).storage else {
            throw ConfigError(file: "stanza.conf", line: 0, message: "not a device storage engine")
        }
        return device
    }
}

@Suite struct FullConfigTests {
    @Test func realisticConfigParsesToTheExpectedValue() throws {
        let parsed = try CairnConfiguration.parse(text: realisticConfigText, fileName: "cairn.conf")
        #expect(parsed == realisticConfigValue)
    }

    @Test func sectionsCompareOneByOneForReadableFailures() throws {
        let parsed = try CairnConfiguration.parse(text: realisticConfigText, fileName: "cairn.conf")
        #expect(parsed.service == realisticConfigValue.service)
        #expect(parsed.logging == realisticConfigValue.logging)
        #expect(parsed.network == realisticConfigValue.network)
        #expect(parsed.namespaces.map(\.name) == ["users", "cache", "events"])
        for (got, want) in zip(parsed.namespaces, realisticConfigValue.namespaces) {
            #expect(got == want)
        }
    }

    @Test func minimalConfigGetsEveryDefault() throws {
        let text = """
            network {
                service {
                    port 3000
                }
            }
            namespace test {
                storage-engine device {
                    file /data/test.dat
                    filesize 1G
                }
            }
            """
        let parsed = try CairnConfiguration.parse(text: text, fileName: "min.conf")
        #expect(parsed.service == ServiceConfig())
        #expect(parsed.service.workDirectory == "/opt/cairn")
        #expect(parsed.service.shmDirectory == "/dev/shm")
        #expect(parsed.service.protoFDCountMax == 15_000)
        #expect(parsed.service.serviceThreads == nil)
        #expect(parsed.service.networkIOModel == .ioUring)
        #expect(parsed.service.autoPin == .none)
        #expect(parsed.service.pidFile == nil)
        #expect(parsed.logging.sinks == [LogSink(destination: .console, level: .info)])
        #expect(parsed.network.service == NetworkEndpoint(address: "any", port: 3000))
        #expect(parsed.network.info == nil)
        let namespace = try #require(parsed.namespace(named: "test"))
        #expect(namespace.replicationFactor == 1)
        #expect(namespace.defaultTTLSeconds == 0)
        #expect(namespace.nsupPeriodSeconds == 120)
        #expect(namespace.partitionTreeSprigCount == 256)
        #expect(namespace.forceDurableDeletes == false)
        #expect(namespace.sets.isEmpty)
        guard case .device(let device) = namespace.storage else {
            Issue.record("expected a device storage engine, got \(namespace.storage)")
            return
        }
        #expect(device.backing == .files(["/data/test.dat"], sizeBytes: 1 << 30))
        #expect(device.writeBlockSizeBytes == 1 << 20)
        #expect(device.flushMaxMs == 1000)
        #expect(device.commitToDevice == false)
        #expect(device.defragLWMPct == 50)
        #expect(device.defragSleepUs == 1000)
        #expect(device.writeCacheBytesMax == 64 << 20)
        #expect(device.postWriteCacheBytes == 256 << 20)
        #expect(device.stopWritesAvailPct == 5)
        #expect(device.readPageCache == true, "a file reads through the page cache unless told not to")
    }

    /// `read-page-cache` defaults by what backs the namespace: files through the page cache (as
    /// an Aerospike server reads files without `direct-files`), raw devices with O_DIRECT; a
    /// line sets either way, wherever it stands in the section.
    @Test func readPageCacheDefaultsByBackingAndALineOverrides() throws {
        let parse = DeviceStanza.parse, device = DeviceStanza.device
        #expect(try device("file /d/a.dat\n filesize 1G").readPageCache == true)
        #expect(try device("read-page-cache false\n file /d/a.dat\n filesize 1G").readPageCache == false)
        #expect(try device("device /dev/nvme0n1").readPageCache == false)
        #expect(try device("device /dev/nvme0n1\n read-page-cache true").readPageCache == true)
        #expect(try parse("file /d/a.dat\n filesize 1G\n read-page-cache false").rendered().contains("read-page-cache false"))
        let defaulted = try parse("file /d/a.dat\n filesize 1G")
        #expect(!defaulted.rendered().contains("read-page-cache"), "a default renders as no line, so it parses back the same")
        #expect(try CairnConfiguration.parse(text: defaulted.rendered(), fileName: "rendered.conf") == defaulted)
    }

    /// `fill-page-cache` follows `read-page-cache` unless set, and is refused, naming its line
    /// and the reason, where nothing reads through the page cache.
    @Test func fillPageCacheFollowsReadPageCacheAndNeedsIt() throws {
        let parse = DeviceStanza.parse, device = DeviceStanza.device
        #expect(try device("file /d/a.dat\n filesize 1G").fillPageCache == true)
        #expect(try device("file /d/a.dat\n filesize 1G\n read-page-cache false").fillPageCache == false)
        #expect(try device("file /d/a.dat\n filesize 1G\n fill-page-cache false").fillPageCache == false)
        #expect(try device("device /dev/nvme0n1").fillPageCache == false)
        #expect(try device("device /dev/nvme0n1\n read-page-cache true").fillPageCache == true)
        #expect(try device("device /dev/nvme0n1\n read-page-cache true\n fill-page-cache false").fillPageCache == false)
        #expect(try device("read-page-cache false\n file /d/a.dat\n filesize 1G\n fill-page-cache false").fillPageCache == false)
        // The stanza's own lines start at line 8 of the text.
        let refusals = [
            ("file /d/a.dat\n filesize 1G\n read-page-cache false\n fill-page-cache true", 11, "'read-page-cache false' on line 10"),
            ("device /dev/nvme0n1\n fill-page-cache true", 9, "raw devices read O_DIRECT"),
        ]
        for (lines, line, reason) in refusals {
            do {
                _ = try parse(lines)
                Issue.record("accepted: \(lines)")
            } catch let error as ConfigError {
                #expect(error.line == line, "\(error)")
                #expect(error.message.contains("fill-page-cache true") && error.message.contains(reason), "\(error)")
            }
        }
        let set = try parse("file /d/a.dat\n filesize 1G\n fill-page-cache false")
        #expect(set.rendered().contains("fill-page-cache false"))
        #expect(try CairnConfiguration.parse(text: set.rendered(), fileName: "rendered.conf") == set)
        #expect(!(try parse("file /d/a.dat\n filesize 1G")).rendered().contains("fill-page-cache"))
    }

    @Test func emptyLoggingStanzaMeansNoSinks() throws {
        let text = """
            logging {
            }
            network {
                service {
                    port 3000
                }
            }
            namespace test {
                storage-engine memory {
                    data-size 64M
                }
            }
            """
        let parsed = try CairnConfiguration.parse(text: text, fileName: "quiet.conf")
        #expect(parsed.logging.sinks.isEmpty)
    }

    @Test func bareBooleanMeansTrueAsInAerospike() throws {
        let text = """
            network {
                service {
                    port 3000
                }
            }
            namespace test {
                force-durable-deletes
                storage-engine device {
                    device /dev/sdb
                    commit-to-device
                }
            }
            """
        let parsed = try CairnConfiguration.parse(text: text, fileName: "bare.conf")
        let namespace = try #require(parsed.namespaces.first)
        #expect(namespace.forceDurableDeletes)
        guard case .device(let device) = namespace.storage else {
            Issue.record("expected a device storage engine")
            return
        }
        #expect(device.commitToDevice)
    }

    @Test func windowsLineEndingsAndTabsAreAccepted() throws {
        let text =
            "network {\r\n\tservice {\r\n\t\tport 3000\r\n\t}\r\n}\r\n"
            + "namespace test {\r\n\tstorage-engine memory {\r\n\t\tdata-size 1G\r\n\t}\r\n}\r\n"
        let parsed = try CairnConfiguration.parse(text: text, fileName: "crlf.conf")
        #expect(parsed.namespaces.first?.storage == .memory(MemoryStorageConfig(dataSizeBytes: 1 << 30)))
    }

    @Test func ipv6AddressesAreAccepted() throws {
        let text = """
            network {
                service {
                    address ::1
                    port 3000
                }
            }
            namespace test {
                storage-engine memory {
                    data-size 16M
                }
            }
            """
        let parsed = try CairnConfiguration.parse(text: text, fileName: "v6.conf")
        #expect(parsed.network.service.address == "::1")
        #expect(!parsed.network.service.isAnyAddress)
    }

    @Test func logLevelsAreOrderedByVerbosity() {
        #expect(LogLevel.allCases == [.critical, .warning, .info, .debug, .detail])
        #expect(LogLevel.critical < LogLevel.info)
        #expect(LogLevel.detail > LogLevel.debug)
    }
}
