import Testing

@testable import CairnConfig

/// The error `parse` throws for `text`, or `nil` when it parses.
func parseError(_ text: String, fileName: String = "aerospike.conf") -> ConfigError? {
    do {
        _ = try CairnConfiguration.parse(text: text, fileName: fileName)
        return nil
    } catch {
        return error
    }
}

/// Lines 1-5 hold a valid network stanza; line 6 opens `namespace test`; `body` starts on
/// line 7; the namespace closes after it.
func namespaceText(_ body: [String]) -> String {
    (["network {", "    service {", "        port 3000", "    }", "}", "namespace test {"] + body + ["}"])
        .joined(separator: "\n")
}

/// Like `namespaceText`, with line 7 opening `storage-engine device` and `body` from line 8.
func deviceText(_ body: [String]) -> String {
    namespaceText(["    storage-engine device {"] + body + ["    }"])
}

/// One bad configuration and the exact error it must give.
struct ErrorCase: CustomTestStringConvertible, Sendable {
    let name: String
    let text: String
    let expected: String

    var testDescription: String { name }
}

let errorCases: [ErrorCase] = [
    // MARK: Unknown names
    ErrorCase(
        name: "unknown parameter with suggestion (the issue's example)",
        text: """
            # test
            service {
                proto-fd-max 15000
            }

            network {
                service {
                    port 3000
                }
            }

            namespace test {
                replication-factor 1
                storage-engine device {
                    file /tmp/test.dat
                    filesize 1G
                    flush-max-msec 500
                }
            }
            """,
        expected: "aerospike.conf:17: unknown parameter 'flush-max-msec' in namespace test storage-engine device "
            + "(did you mean 'flush-max-ms'?)"
    ),
    ErrorCase(
        name: "unknown parameter without a close name",
        text: deviceText(["        file /tmp/a.dat", "        filesize 1G", "        turbo-mode true"]),
        expected: "aerospike.conf:10: unknown parameter 'turbo-mode' in namespace test storage-engine device"
    ),
    ErrorCase(
        name: "unknown stanza at top level",
        text: "servce {\n}\n" + namespaceText(["    storage-engine memory {", "        data-size 1G", "    }"]),
        expected: "aerospike.conf:1: unknown stanza 'servce' at top level (did you mean 'service'?)"
    ),
    ErrorCase(
        name: "parameter at top level",
        text: "proto-fd-max 100\n" + namespaceText([]),
        expected: "aerospike.conf:1: unexpected parameter 'proto-fd-max' at top level: only the stanzas service, "
            + "logging, network, metrics and namespace may appear here"
    ),
    ErrorCase(
        name: "unsupported Aerospike heartbeat stanza",
        text: "network {\n    service {\n        port 3000\n    }\n    heartbeat {\n        mode mesh\n    }\n}\n",
        expected: "aerospike.conf:5: unsupported stanza 'heartbeat' in network: Cairn runs as a single node "
            + "and does not form clusters: remove it"
    ),
    ErrorCase(
        name: "unsupported set parameter",
        text: namespaceText([
            "    storage-engine memory {", "        data-size 1G", "    }",
            "    set users {", "        enable-index true", "    }",
        ]),
        expected: "aerospike.conf:11: unsupported parameter 'enable-index' in namespace test set users: "
            + "set indexes are not supported"
    ),
    ErrorCase(
        name: "unsupported storage engine",
        text: namespaceText(["    storage-engine pmem {", "    }"]),
        expected: "aerospike.conf:7: unsupported storage engine 'pmem' in namespace test: use 'device' or 'memory'"
    ),
    ErrorCase(
        name: "unknown storage engine",
        text: namespaceText(["    storage-engine disk {", "    }"]),
        expected: "aerospike.conf:7: unknown storage engine 'disk' in namespace test: expected 'device' or 'memory'"
    ),
    ErrorCase(
        name: "only context any in a log sink",
        text: "logging {\n    console {\n        context storage debug\n    }\n}\n",
        expected: "aerospike.conf:3: only 'context any LEVEL' is supported in logging console: Cairn sets one "
            + "level per sink, not one per context ('storage')"
    ),

    // MARK: Bad values and suffixes
    ErrorCase(
        name: "bad size word",
        text: deviceText(["        device /dev/sdb", "        write-block-size big"]),
        expected: "aerospike.conf:9: bad value 'big' for 'write-block-size' in namespace test storage-engine "
            + "device: expected a whole number of bytes with an optional K, M, G or T suffix (like 4G or 128K)"
    ),
    ErrorCase(
        name: "bad size suffix",
        text: deviceText(["        file /tmp/a.dat", "        filesize 4GB"]),
        expected: "aerospike.conf:9: bad value '4GB' for 'filesize' in namespace test storage-engine "
            + "device: expected a whole number of bytes with an optional K, M, G or T suffix (like 4G or 128K)"
    ),
    ErrorCase(
        name: "bad time suffix",
        text: namespaceText(["    default-ttl 30x"]),
        expected: "aerospike.conf:7: bad value '30x' for 'default-ttl' in namespace test: expected a whole "
            + "number of seconds with an optional s, m, h or d suffix (like 30d or 10m)"
    ),
    ErrorCase(
        name: "negative number",
        text: deviceText(["        device /dev/sdb", "        defrag-sleep -5"]),
        expected: "aerospike.conf:9: bad value '-5' for 'defrag-sleep' in namespace test storage-engine "
            + "device: expected a whole number (digits only, like 100)"
    ),
    ErrorCase(
        name: "flush-max-ms takes plain milliseconds",
        text: deviceText(["        device /dev/sdb", "        flush-max-ms 1s"]),
        expected: "aerospike.conf:9: bad value '1s' for 'flush-max-ms' in namespace test storage-engine "
            + "device: expected a whole number (digits only, like 100)"
    ),
    ErrorCase(
        name: "bad boolean",
        text: namespaceText(["    force-durable-deletes maybe"]),
        expected: "aerospike.conf:7: bad value 'maybe' for 'force-durable-deletes' in namespace test: expected "
            + "true or false (yes and no are accepted too)"
    ),
    ErrorCase(
        name: "bad log level",
        text: "logging {\n    console {\n        context any verbose\n    }\n}\n",
        expected: "aerospike.conf:3: bad value 'verbose' for 'context' in logging console: expected one of "
            + "critical, warning, info, debug or detail"
    ),
    ErrorCase(
        name: "bad address",
        text: "network {\n    service {\n        address example.com\n        port 3000\n    }\n}\n",
        expected: "aerospike.conf:3: bad value 'example.com' for 'address' in network service: expected 'any' "
            + "or an IPv4 or IPv6 address (like 127.0.0.1 or ::1)"
    ),
    ErrorCase(
        name: "zero node-id",
        text: "service {\n    node-id 0\n}\n",
        expected: "aerospike.conf:2: bad value '0' for 'node-id' in service: expected 1 to 16 hex digits, "
            + "not all zero (like a1b2c3)"
    ),
    ErrorCase(
        name: "bad namespace name",
        text: "namespace a:b {\n}\n",
        expected: "aerospike.conf:1: bad namespace name 'a:b' at top level: expected 1 to 31 bytes of "
            + "printable ASCII without ':', ';' or '='"
    ),
    ErrorCase(
        name: "value missing",
        text: namespaceText(["    default-ttl"]),
        expected: "aerospike.conf:7: 'default-ttl' in namespace test needs a value"
    ),
    ErrorCase(
        name: "too many values",
        text: namespaceText(["    default-ttl 30 d"]),
        expected: "aerospike.conf:7: 'default-ttl' in namespace test takes one value, not 2: '30 d'"
    ),
    ErrorCase(
        name: "shadow device",
        text: deviceText(["        device /dev/sdb /dev/sdc"]),
        expected: "aerospike.conf:8: shadow devices ('device PRIMARY SHADOW') are not supported"
    ),

    // MARK: Out of range
    ErrorCase(
        name: "write-block-size below range",
        text: deviceText(["        device /dev/sdb", "        write-block-size 64K"]),
        expected: "aerospike.conf:9: 'write-block-size' 64K is out of range in namespace test storage-engine "
            + "device: allowed a power of two from 128K to 8M"
    ),
    ErrorCase(
        name: "write-block-size not a power of two",
        text: deviceText(["        device /dev/sdb", "        write-block-size 3M"]),
        expected: "aerospike.conf:9: 'write-block-size' 3M is out of range in namespace test storage-engine "
            + "device: allowed a power of two from 128K to 8M"
    ),
    ErrorCase(
        name: "partition-tree-sprigs not a power of two",
        text: namespaceText(["    partition-tree-sprigs 100"]),
        expected: "aerospike.conf:7: 'partition-tree-sprigs' 100 is out of range in namespace test: "
            + "allowed a power of two from 16 to 4096"
    ),
    ErrorCase(
        name: "partition-tree-sprigs above range",
        text: namespaceText(["    partition-tree-sprigs 8192"]),
        expected: "aerospike.conf:7: 'partition-tree-sprigs' 8192 is out of range in namespace test: "
            + "allowed 16 to 4096"
    ),
    ErrorCase(
        name: "replication-factor above 1",
        text: namespaceText(["    replication-factor 2"]),
        expected: "aerospike.conf:7: 'replication-factor' 2 is out of range in namespace test: allowed only 1 "
            + "(Cairn runs as a single node)"
    ),
    ErrorCase(
        name: "evict-used-pct above 100",
        text: deviceText(["        file /tmp/a.dat", "        filesize 1G", "        evict-used-pct 101"]),
        expected: "aerospike.conf:10: 'evict-used-pct' 101 is out of range in namespace test storage-engine "
            + "device: allowed 0 to 100"
    ),
    ErrorCase(
        name: "evict-tenths-pct above 1000",
        text: namespaceText(["    evict-tenths-pct 1001"]),
        expected: "aerospike.conf:7: 'evict-tenths-pct' 1001 is out of range in namespace test: allowed 0 to 1000"
    ),
    ErrorCase(
        name: "evict-hist-buckets below 100",
        text: namespaceText(["    evict-hist-buckets 99"]),
        expected: "aerospike.conf:7: 'evict-hist-buckets' 99 is out of range in namespace test: allowed 100 to 10000000"
    ),
    ErrorCase(
        name: "eviction threshold with nsup-period 0",
        text: namespaceText([
            "    nsup-period 0", "    storage-engine device {", "        file /tmp/a.dat", "        filesize 1G",
            "        evict-used-pct 60", "    }",
        ]),
        expected: "aerospike.conf:11: 'evict-used-pct' in namespace test needs a non-zero 'nsup-period' (eviction "
            + "runs in the nsup cycle; 'nsup-period 0' is on line 7)"
    ),
    ErrorCase(
        name: "post-write-queue with post-write-cache",
        text: deviceText(["        file /tmp/a.dat", "        filesize 1G", "        post-write-cache 8M",
                          "        post-write-queue 8"]),
        expected: "aerospike.conf:11: 'post-write-queue' and 'post-write-cache' in namespace test storage-engine device "
            + "set the same cache: keep one (lines 10 and 11)"
    ),
    ErrorCase(
        name: "evict-used-pct in the namespace",
        text: namespaceText(["    evict-used-pct 60"]),
        expected: "aerospike.conf:7: unsupported parameter 'evict-used-pct' in namespace test: "
            + "'evict-used-pct' belongs to the 'storage-engine device' stanza"
    ),
    ErrorCase(
        name: "enable-benchmarks-batch-sub in the file",
        text: namespaceText(["    enable-benchmarks-batch-sub true"]),
        expected: "aerospike.conf:7: unsupported parameter 'enable-benchmarks-batch-sub' in namespace test: "
            + "batch rows are not timed by phase"
    ),
    ErrorCase(
        name: "enable-benchmarks-read not a boolean",
        text: namespaceText(["    enable-benchmarks-read maybe"]),
        expected: "aerospike.conf:7: bad value 'maybe' for 'enable-benchmarks-read' in namespace test: "
            + "expected true or false (yes and no are accepted too)"
    ),
    ErrorCase(
        name: "disable-eviction not a boolean",
        text: namespaceText([
            "    storage-engine memory {", "        data-size 1G", "    }",
            "    set users {", "        disable-eviction maybe", "    }",
        ]),
        expected: "aerospike.conf:11: bad value 'maybe' for 'disable-eviction' in namespace test set users: "
            + "expected true or false (yes and no are accepted too)"
    ),
    ErrorCase(
        name: "default-ttl above ten years",
        text: namespaceText(["    default-ttl 3651d"]),
        expected: "aerospike.conf:7: 'default-ttl' 3651d is out of range in namespace test: allowed 0 to 3650d"
    ),
    ErrorCase(
        name: "defrag-lwm-pct zero",
        text: deviceText(["        device /dev/sdb", "        defrag-lwm-pct 0"]),
        expected: "aerospike.conf:9: 'defrag-lwm-pct' 0 is out of range in namespace test storage-engine "
            + "device: allowed 1 to 99"
    ),
    ErrorCase(
        name: "filesize below range",
        text: deviceText(["        file /tmp/a.dat", "        filesize 64M"]),
        expected: "aerospike.conf:9: 'filesize' 64M is out of range in namespace test storage-engine "
            + "device: allowed 128M to 2T"
    ),
    ErrorCase(
        name: "size overflow",
        text: deviceText(["        device /dev/sdb", "        max-write-cache 99999999999T"]),
        expected: "aerospike.conf:9: bad value '99999999999T' for 'max-write-cache' in namespace test "
            + "storage-engine device: expected a whole number of bytes with an optional K, M, G or T suffix "
            + "(like 4G or 128K)"
    ),
    ErrorCase(
        name: "port above range",
        text: "network {\n    service {\n        port 70000\n    }\n}\n",
        expected: "aerospike.conf:3: 'port' 70000 is out of range in network service: allowed 1 to 65535"
    ),
    ErrorCase(
        name: "proto-fd-max below range",
        text: "service {\n    proto-fd-max 10\n}\n",
        expected: "aerospike.conf:2: 'proto-fd-max' 10 is out of range in service: allowed 64 to 1048576"
    ),
    ErrorCase(
        name: "service-threads zero",
        text: "service {\n    service-threads 0\n}\n",
        expected: "aerospike.conf:2: 'service-threads' 0 is out of range in service: allowed 1 to 256"
    ),
    ErrorCase(
        name: "unknown network-io-model",
        text: "service {\n    network-io-model kqueue\n}\n",
        expected: "aerospike.conf:2: bad value 'kqueue' for 'network-io-model' in service: expected epoll or io_uring"
    ),
    ErrorCase(
        name: "auto-pin numa",
        text: "service {\n    auto-pin numa\n}\n",
        expected: "aerospike.conf:2: bad value 'numa' for 'auto-pin' in service: expected cpu or none "
            + "(Cairn pins service threads per CPU; it has no 'numa' placement)"
    ),
    ErrorCase(
        name: "auto-pin unknown",
        text: "service {\n    auto-pin yes\n}\n",
        expected: "aerospike.conf:2: bad value 'yes' for 'auto-pin' in service: expected cpu or none"
    ),

    // MARK: Braces
    ErrorCase(
        name: "missing closing brace at the end of the file",
        text: "network {\n    service {\n        port 3000\n    }\n}\n\nnamespace test {\n"
            + "    storage-engine memory {\n        data-size 1G\n    }\n",
        expected: "aerospike.conf:7: 'namespace test' opened here is never closed: '}' missing before the end "
            + "of the file at line 10"
    ),
    ErrorCase(
        name: "missing closing brace of a nested stanza at the end of the file",
        text: "network {\n    service {\n        port 3000\n",
        expected: "aerospike.conf:2: 'service' opened here is never closed: '}' missing before the end of "
            + "the file at line 3 (and 1 enclosing stanza is open too)"
    ),
    ErrorCase(
        name: "missing closing brace found at the next namespace",
        text: namespaceText(["    storage-engine memory {", "        data-size 1G"])
            + "\nnamespace other {\n    storage-engine memory {\n        data-size 1G\n    }\n}\n",
        expected: "aerospike.conf:6: 'namespace test' opened here is not closed before line 10 opens "
            + "'namespace other', which belongs at the top level: '}' missing"
    ),
    ErrorCase(
        name: "stray closing brace",
        text: "network {\n    service {\n        port 3000\n    }\n}\n}\n",
        expected: "aerospike.conf:6: unexpected '}': no stanza is open here"
    ),
    ErrorCase(
        name: "brace glued to a name",
        text: "namespace test{\n}\n",
        expected: "aerospike.conf:1: 'test{': a brace must be separated from other words by blanks"
    ),
    ErrorCase(
        name: "closing brace not alone",
        text: "network {\n    service { port 3000 }\n}\n",
        expected: "aerospike.conf:2: '}' must be alone on its line"
    ),
    ErrorCase(
        name: "opening brace not last",
        text: "network { service\n}\n",
        expected: "aerospike.conf:1: '{' must be the last word of its line, after the stanza name"
    ),
    ErrorCase(
        name: "opening brace alone",
        text: "network\n{\n}\n",
        expected: "aerospike.conf:2: '{' must follow a stanza name on the same line"
    ),
    ErrorCase(
        name: "stanza written without its block",
        text: namespaceText(["    storage-engine device"]),
        expected: "aerospike.conf:7: 'storage-engine device' in namespace test needs a '{ … }' block: end the "
            + "line with '{' and close the block with a '}' line"
    ),
    ErrorCase(
        name: "parameter written as a stanza",
        text: "network {\n    service {\n        port 3000 {\n        }\n    }\n}\n",
        expected: "aerospike.conf:3: 'port' in network service is a parameter and takes no '{ … }' block"
    ),

    // MARK: Duplicates and structure
    ErrorCase(
        name: "duplicate namespace",
        text: namespaceText(["    storage-engine memory {", "        data-size 1G", "    }"])
            + "\nnamespace test {\n    storage-engine memory {\n        data-size 1G\n    }\n}\n",
        expected: "aerospike.conf:11: duplicate namespace 'test' (first defined on line 6)"
    ),
    ErrorCase(
        name: "duplicate set",
        text: namespaceText([
            "    storage-engine memory {", "        data-size 1G", "    }",
            "    set users {", "    }", "    set users {", "    }",
        ]),
        expected: "aerospike.conf:12: duplicate set 'users' in namespace test (first defined on line 10)"
    ),
    ErrorCase(
        name: "duplicate parameter",
        text: deviceText(["        device /dev/sdb", "        write-block-size 1M", "        write-block-size 2M"]),
        expected: "aerospike.conf:10: 'write-block-size' is given twice in namespace test storage-engine device "
            + "(first on line 9)"
    ),
    ErrorCase(
        name: "second storage engine",
        text: namespaceText([
            "    storage-engine memory {", "        data-size 1G", "    }",
            "    storage-engine memory {", "        data-size 1G", "    }",
        ]),
        expected: "aerospike.conf:10: 'storage-engine' is given twice in namespace test (first on line 7)"
    ),
    ErrorCase(
        name: "device storage without device or file",
        text: deviceText(["        write-block-size 1M"]),
        expected: "aerospike.conf:7: no 'device' or 'file' line in namespace test storage-engine device "
            + "(opened here): add at least one, like 'device /dev/nvme0n1' or 'file /var/lib/cairn/test.dat' "
            + "with 'filesize 4G'"
    ),
    ErrorCase(
        name: "file without filesize",
        text: deviceText(["        file /tmp/a.dat"]),
        expected: "aerospike.conf:8: 'file' needs a 'filesize' in namespace test storage-engine device: add a "
            + "line like 'filesize 4G'"
    ),
    ErrorCase(
        name: "filesize with devices",
        text: deviceText(["        device /dev/sdb", "        filesize 1G"]),
        expected: "aerospike.conf:9: 'filesize' in namespace test storage-engine device applies to 'file' "
            + "lines, and there are none"
    ),
    ErrorCase(
        name: "devices mixed with files",
        text: deviceText(["        device /dev/sdb", "        filesize 1G", "        file /tmp/a.dat"]),
        expected: "aerospike.conf:10: cannot mix 'device' and 'file' lines in namespace test storage-engine "
            + "device (first 'device' on line 8): one storage engine uses devices or files"
    ),
    ErrorCase(
        name: "same device twice in a namespace",
        text: deviceText(["        device /dev/sdb", "        device /dev/./sdb"]),
        expected: "aerospike.conf:9: '/dev/./sdb' is listed twice in namespace test storage-engine device "
            + "(first on line 8)"
    ),
    ErrorCase(
        name: "same file in two namespaces",
        text: deviceText(["        file /data/a.dat", "        filesize 1G"])
            + "\nnamespace other {\n    storage-engine memory {\n        file /data/a.dat\n"
            + "        filesize 1G\n    }\n}\n",
        expected: "aerospike.conf:14: '/data/a.dat' is already used by namespace test (line 8); a device or "
            + "file belongs to one namespace"
    ),
    ErrorCase(
        name: "namespace without storage engine",
        text: namespaceText(["    default-ttl 1d"]),
        expected: "aerospike.conf:6: namespace test has no 'storage-engine': add 'storage-engine device { … }' "
            + "or 'storage-engine memory { … }'"
    ),
    ErrorCase(
        name: "memory without data-size",
        text: namespaceText(["    storage-engine memory {", "    }"]),
        expected: "aerospike.conf:7: no 'data-size' in namespace test storage-engine memory (opened here): a "
            + "memory namespace without 'file' or 'device' persistence needs one, like 'data-size 4G'"
    ),
    ErrorCase(
        name: "memory with data-size and persistence",
        text: namespaceText([
            "    storage-engine memory {", "        data-size 1G", "        file /tmp/a.dat",
            "        filesize 1G", "    }",
        ]),
        expected: "aerospike.conf:8: 'data-size' cannot be used with 'file' or 'device' persistence in "
            + "namespace test storage-engine memory: the data size is then the size of the files or devices"
    ),
    ErrorCase(
        name: "device tuning in a memory engine",
        text: namespaceText([
            "    storage-engine memory {", "        data-size 1G", "        write-block-size 1M", "    }",
        ]),
        expected: "aerospike.conf:9: unsupported parameter 'write-block-size' in namespace test storage-engine "
            + "memory: in Cairn 'write-block-size' applies to 'storage-engine device' only"
    ),
    ErrorCase(
        name: "no network stanza",
        text: "namespace test {\n    storage-engine memory {\n        data-size 1G\n    }\n}\n",
        expected: "aerospike.conf:5: no 'network' stanza: at least 'network { service { port 3000 } }' is required"
    ),
    ErrorCase(
        name: "no namespace",
        text: "network {\n    service {\n        port 3000\n    }\n}\n# nothing else\n",
        expected: "aerospike.conf:6: no namespace: at least one 'namespace NAME { … }' stanza is required"
    ),
    ErrorCase(
        name: "network without service",
        text: "network {\n    # nothing\n}\n",
        expected: "aerospike.conf:1: 'network' opened here has no 'service' stanza: add 'service { port 3000 }'"
    ),
    ErrorCase(
        name: "service endpoint without port",
        text: "network {\n    service {\n        address any\n    }\n}\n",
        expected: "aerospike.conf:2: no 'port' in network service (opened here): add a line like 'port 3000'"
    ),
    ErrorCase(
        name: "info port refused (nothing would listen on it)",
        text: "network {\n    service {\n        port 3000\n    }\n    info {\n        port 3003\n    }\n}\n",
        expected: "aerospike.conf:5: unsupported stanza 'info' in network: Cairn has no separate info port; info commands are answered on the service port (asinfo -p <service port>): remove this stanza"
    ),
    ErrorCase(
        name: "control character",
        text: "service {\n    pidfile /run/a\u{7}b\n}\n",
        expected: "aerospike.conf:2: control character 0x07 is not allowed in a configuration line"
    ),
    ErrorCase(
        name: "line too long",
        text: "service {\n    pidfile /" + String(repeating: "a", count: 5000) + "\n}\n",
        expected: "aerospike.conf:2: line is 5013 bytes long; at most 4096 are accepted"
    ),
]

@Suite struct ConfigErrorTests {
    @Test(arguments: errorCases)
    func errorNamesFileLineAndReason(_ errorCase: ErrorCase) {
        guard let error = parseError(errorCase.text) else {
            Issue.record("expected the error \(errorCase.expected), but the text parsed")
            return
        }
        #expect(error.description == errorCase.expected)
        #expect(error.file == "aerospike.conf")
    }

    @Test func errorCarriesTheFileNameItWasGiven() throws {
        let error = try #require(parseError("}\n", fileName: "/etc/cairn/cairn.conf"))
        #expect(
            error
                == ConfigError(
                    file: "/etc/cairn/cairn.conf", line: 1, message: "unexpected '}': no stanza is open here"))
        #expect(error.description == "/etc/cairn/cairn.conf:1: unexpected '}': no stanza is open here")
    }

    @Test func wholeFileErrorLeavesTheLineOut() {
        let error = ConfigError(file: "cairn.conf", line: 0, message: "cannot open")
        #expect(error.description == "cairn.conf: cannot open")
    }

    @Test func oversizedTextIsRefused() throws {
        let text = String(repeating: "# padding\n", count: (ConfigLimits.fileSizeBytesMax / 10) + 1)
        let error = try #require(parseError(text))
        #expect(error.line == 0)
        #expect(error.message.hasPrefix("the configuration is 1048580 bytes long"))
    }

    @Test func everyErrorCaseHasADistinctName() {
        #expect(Set(errorCases.map(\.name)).count == errorCases.count)
    }
}
