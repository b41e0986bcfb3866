import CairnConfig
import CairnEngine
import CairnStorage
import CairnWire
import Logging

/// The daemon's log sinks, as the log info commands see them (`logs`, `log/<id>`, `log-set`,
/// `log-rotate`). Implemented by cairnd's sinks; a server without one answers those commands
/// with an error.
public protocol LogControl: Sendable {
    /// Per sink, by id (0…): `stderr` for the console, else the file's path.
    func sinkNames() -> [String]
    func level(ofSink id: Int) -> LogLevel?
    /// False when there is no sink `id`.
    func setLevel(ofSink id: Int, to level: LogLevel) -> Bool
    /// Opens the log files again by path (as SIGHUP does); the failures, described.
    func rotate() -> [String]
}

/// `set-config` and the log commands (PROTOCOL.md §2; Aerospike's `cfg_info.c` names).
///
/// Answers are Aerospike's: `ok`, or `ERROR::<reason>` (Aerospike 6 and 7 answer a bare
/// `error`; tools treat every answer but `ok` as a failure). A change takes effect at once: the
/// engine reads each of these parameters through its namespace's ``RuntimeTunables``.
struct RuntimeControl {
    let context: ServerContext
    let logger: Logger

    /// Namespace parameters `set-config` changes, by name (a storage one also answers to
    /// `storage-engine.<name>`).
    enum NamespaceParameter: String, CaseIterable {
        case defaultTTL = "default-ttl"
        case nsupPeriod = "nsup-period"
        case defragLWMPct = "defrag-lwm-pct"
        case flushMaxMs = "flush-max-ms"
        case postWriteCache = "post-write-cache"
        case stopWritesAvailPct = "stop-writes-avail-pct"
        case evictUsedPct = "evict-used-pct"
        case evictIndexesMemoryPct = "evict-indexes-memory-pct"
        case evictSysMemoryPct = "evict-sys-memory-pct"
        case evictTenthsPct = "evict-tenths-pct"
        case evictHistBuckets = "evict-hist-buckets"

        var key: RuntimeTunables.Key {
            switch self {
            case .defaultTTL: .defaultTTLSeconds
            case .nsupPeriod: .nsupPeriodSeconds
            case .defragLWMPct: .defragLWMPct
            case .flushMaxMs: .flushMaxMs
            case .postWriteCache: .postWriteCacheBytes
            case .stopWritesAvailPct: .stopWritesAvailPct
            case .evictUsedPct: .evictUsedPct
            case .evictIndexesMemoryPct: .evictIndexesMemoryPct
            case .evictSysMemoryPct: .evictSysMemoryPct
            case .evictTenthsPct: .evictTenthsPct
            case .evictHistBuckets: .evictHistBuckets
            }
        }

        var isStorage: Bool {
            switch self {
            case .defaultTTL, .nsupPeriod, .evictIndexesMemoryPct, .evictSysMemoryPct, .evictTenthsPct, .evictHistBuckets:
                false
            default: true
            }
        }

        init?(name: String) {
            let bare = name.hasPrefix("storage-engine.") ? String(name.dropFirst("storage-engine.".count)) : name
            guard let parameter = NamespaceParameter(rawValue: bare), parameter.isStorage || bare == name else { return nil }
            self = parameter
        }
    }

    static func error(_ message: String) -> String { "ERROR::\(message)" }

    // MARK: - set-config

    /// `set-config:context=namespace;id=<ns>;<parameter>=<value>` (or `namespace=<ns>`).
    func setConfig(_ command: InfoCommand) -> String {
        guard let contextName = command.parameter("context") else { return Self.error("missing context") }
        guard contextName == "namespace" else {
            // Cairn's service, network and logging parameters are fixed at start.
            return Self.error("no dynamic parameter in context \(contextName)")
        }
        guard let name = command.parameter("id") ?? command.parameter("namespace"), let namespace = context.namespaces[name] else {
            return Self.error("unknown namespace")
        }
        let settings = command.parameters.filter { !["context", "id", "namespace", "set"].contains($0.key) }
        guard settings.count == 1, let setting = settings.first else {
            return Self.error("give exactly one parameter")
        }
        if let setName = command.parameter("set") {
            return setSetConfig(namespace: namespace, setName: setName, name: setting.key, text: setting.value)
        }
        if setting.key.hasPrefix("enable-benchmarks-") || setting.key.hasPrefix("storage-engine.enable-benchmarks-") {
            return setBenchmarks(namespace: name, parameter: setting.key, text: setting.value)
        }
        guard let parameter = NamespaceParameter(name: setting.key) else {
            return Self.error("\(setting.key) is not a dynamic parameter")
        }
        switch Self.validated(parameter, text: setting.value, namespace: namespace) {
        case .failure(let problem):
            logger.warning("set-config refused", metadata: ["namespace": "\(name)", "parameter": "\(setting.key)", "reason": "\(problem.message)"])
            return Self.error(problem.message)
        case .success(let value):
            let old = Self.current(parameter, of: namespace)
            namespace.options.storage.tunables.set(parameter.key, to: value)
            logger.info("set-config: changed \(parameter.rawValue) of ns \(name) from \(old) to \(value)")
            return InfoReply.ok
        }
    }

    /// `enable-benchmarks-read`, `-write`, `-udf` (true or false): the sub-phase histograms of
    /// `latencies:` (``BenchmarkGroup``). Aerospike's other groups time what Cairn does not do
    /// apart (batch sub-transactions, UDF sub-transactions, storage, fabric) and are refused.
    private func setBenchmarks(namespace: String, parameter: String, text: String) -> String {
        let groupName = String(parameter.dropFirst(parameter.hasPrefix("storage-engine.") ? "storage-engine.enable-benchmarks-".count : "enable-benchmarks-".count))
        guard !parameter.hasPrefix("storage-engine."), let name = BenchmarkGroup.Name(rawValue: groupName),
              let group = context.latencies.benchmarks(name, namespace: namespace)
        else {
            return Self.error("\(parameter) is not supported: Cairn has enable-benchmarks-read, -write and -udf")
        }
        guard let on = ["true": true, "false": false][text] else { return Self.error("\(parameter) must be true or false") }
        let old = group.isEnabled
        group.setEnabled(on)
        logger.info("set-config: changed \(parameter) of ns \(namespace) from \(old) to \(on)")
        return InfoReply.ok
    }

    /// `set-config:context=namespace;id=<ns>;set=<set>;<parameter>=<value>`: `default-ttl`,
    /// `stop-writes-count`, `disable-eviction`. As in Aerospike, a set not yet known is created.
    private func setSetConfig(namespace: Namespace, setName: String, name: String, text: String) -> String {
        let nsName = namespace.options.name
        // As a config `set` stanza's name: 1 to 63 bytes of printable ASCII without `:`, `;`, `=`.
        guard !setName.isEmpty, setName.utf8.count <= 63,
              setName.utf8.allSatisfy({ (0x20...0x7E).contains($0) && $0 != UInt8(ascii: ":") && $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: "=") })
        else {
            return Self.error("bad set name: 1 to 63 bytes of printable ASCII without ':', ';' or '='")
        }
        let key: SetTunables.Key
        let value: Int
        switch name {
        case "default-ttl":
            guard let seconds = ValueText.seconds(text), ConfigLimits.defaultTTLSecondsRange.contains(seconds) else {
                return Self.error("default-ttl must be seconds (s, m, h or d) up to \(ConfigLimits.defaultTTLSecondsRange.upperBound)")
            }
            if seconds != 0 && namespace.options.currentNsupPeriodSeconds == 0 {
                return Self.error("must configure non-zero nsup-period to set non-zero default-ttl")
            }
            (key, value) = (.defaultTTLSeconds, seconds)
        case "stop-writes-count":
            guard let count = Int(text), ConfigLimits.stopWritesCountRange.contains(count) else {
                return Self.error("stop-writes-count must be a non-negative integer")
            }
            (key, value) = (.stopWritesCount, count)
        case "disable-eviction":
            guard let flag = ["true": 1, "false": 0][text] else { return Self.error("disable-eviction must be true or false") }
            (key, value) = (.disableEviction, flag)
        default:
            return Self.error("\(name) is not a dynamic set parameter (default-ttl, stop-writes-count, disable-eviction)")
        }
        guard let setID = namespace.setID(registering: setName) else {
            return Self.error("namespace \(nsName) holds its \(NameRegistry.setCountMax) sets")
        }
        let options = namespace.options
        let old: String
        switch key {
        case .defaultTTLSeconds: old = "\(options.defaultTTLSeconds(forSet: setName, setID: setID))"
        case .stopWritesCount: old = "\(options.stopWritesCount(forSet: setName, setID: setID))"
        case .disableEviction: old = "\(options.isEvictionDisabled(setName: setName, setID: setID))"
        }
        if key == .stopWritesCount && value > 0 { namespace.setLimits.recount(namespace, setID: setID) }
        options.setTunables.set(key, setID: setID, to: value)
        logger.info("set-config: changed \(name) of ns \(nsName) set \(setName) from \(old) to \(text)")
        return InfoReply.ok
    }

    struct Problem: Error {
        var message: String
    }

    /// The value `text` sets `parameter` to, or why it may not.
    static func validated(_ parameter: NamespaceParameter, text: String, namespace: Namespace) -> Result<Int, Problem> {
        let options = namespace.options
        switch parameter {
        case .defaultTTL:
            guard let value = ValueText.seconds(text), ConfigLimits.defaultTTLSecondsRange.contains(value) else {
                return .failure(Problem(message: "default-ttl must be seconds (s, m, h or d) up to \(ConfigLimits.defaultTTLSecondsRange.upperBound)"))
            }
            if value != 0 && options.currentNsupPeriodSeconds == 0 {
                return .failure(Problem(message: "must configure non-zero nsup-period to set non-zero default-ttl"))
            }
            return .success(value)
        case .nsupPeriod:
            guard let value = ValueText.seconds(text), ConfigLimits.nsupPeriodSecondsRange.contains(value) else {
                return .failure(Problem(message: "nsup-period must be seconds (s, m, h or d) up to \(ConfigLimits.nsupPeriodSecondsRange.upperBound)"))
            }
            if value != 0 && options.nsupPeriodSeconds == 0 {
                // No supervisor thread was started; it starts with the namespace.
                return .failure(Problem(message: "nsup-period was 0 at start: set it in the config file and restart"))
            }
            if value == 0 && options.currentDefaultTTLSeconds != 0 {
                return .failure(Problem(message: "must configure zero default-ttl to set zero nsup-period"))
            }
            if value == 0 && (options.currentEvictUsedPct != 0 || options.currentEvictIndexesMemoryPct != 0
                || options.currentEvictSysMemoryPct != 0)
            {
                return .failure(Problem(message: "eviction thresholds are set: eviction runs in the nsup cycle, so nsup-period cannot be 0"))
            }
            return .success(value)
        case .defragLWMPct:
            return integer(text, in: ConfigLimits.defragLWMPctRange, name: parameter.rawValue)
        case .flushMaxMs:
            return integer(text, in: ConfigLimits.flushMaxMsRange, name: parameter.rawValue)
        case .stopWritesAvailPct:
            return integer(text, in: ConfigLimits.stopWritesAvailPctRange, name: parameter.rawValue)
        case .evictUsedPct, .evictIndexesMemoryPct, .evictSysMemoryPct:
            let range = parameter == .evictUsedPct ? ConfigLimits.evictUsedPctRange : ConfigLimits.evictMemoryPctRange
            let result = integer(text, in: range, name: parameter.rawValue)
            if case .success(let value) = result, value != 0, options.currentNsupPeriodSeconds == 0 {
                return .failure(Problem(message: "\(parameter.rawValue) needs a non-zero nsup-period: eviction runs in the nsup cycle"))
            }
            return result
        case .evictTenthsPct:
            return integer(text, in: ConfigLimits.evictTenthsPctRange, name: parameter.rawValue)
        case .evictHistBuckets:
            return integer(text, in: ConfigLimits.evictHistBucketsRange, name: parameter.rawValue)
        case .postWriteCache:
            let configured = options.storage.postWriteCacheBytes
            guard let value = ValueText.bytes(text), value >= 0 else {
                return .failure(Problem(message: "post-write-cache must be bytes (K, M or G)"))
            }
            guard value <= configured else {
                // The buffer pool is sized at start for the configured cache.
                return .failure(Problem(message: "post-write-cache above its configured \(configured) needs a restart"))
            }
            return .success(value)
        }
    }

    private static func integer(_ text: String, in range: ClosedRange<Int>, name: String) -> Result<Int, Problem> {
        guard let value = Int(text), range.contains(value) else {
            return .failure(Problem(message: "\(name) must be an integer in \(range.lowerBound)...\(range.upperBound)"))
        }
        return .success(value)
    }

    /// The value in force now.
    static func current(_ parameter: NamespaceParameter, of namespace: Namespace) -> Int {
        let options = namespace.options
        let storage = options.storage
        switch parameter {
        case .defaultTTL: return Int(options.currentDefaultTTLSeconds)
        case .nsupPeriod: return options.currentNsupPeriodSeconds
        case .defragLWMPct: return storage.currentDefragLWMPct
        case .flushMaxMs: return storage.currentFlushMaxMs
        case .postWriteCache: return storage.currentPostWriteCacheBytes
        case .stopWritesAvailPct: return storage.currentStopWritesAvailPct
        case .evictUsedPct: return options.currentEvictUsedPct
        case .evictIndexesMemoryPct: return options.currentEvictIndexesMemoryPct
        case .evictSysMemoryPct: return options.currentEvictSysMemoryPct
        case .evictTenthsPct: return options.currentEvictTenthsPct
        case .evictHistBuckets: return options.currentEvictHistBuckets
        }
    }

    // MARK: - Logs

    /// `logs`: `<id>:<path or stderr>` per sink, `;`-separated.
    func logs() -> String {
        guard let control = context.logControl else { return Self.error("no log sinks") }
        return control.sinkNames().enumerated().map { "\($0.offset):\($0.element)" }.joined(separator: ";")
    }

    /// `log/<id>`: `<context>:<LEVEL>` per context. Cairn has one context, `any`.
    func logLevels(_ command: InfoCommand) -> String {
        guard let control = context.logControl else { return Self.error("no log sinks") }
        guard let idText = command.arguments.first, let id = Int(idText), let level = control.level(ofSink: id) else {
            return Self.error("bad-id")
        }
        return "any:\(level.rawValue.uppercased())"
    }

    /// `log-set:id=<id>;<context>=<level>` (context `any`, or several at once, all `any`).
    func logSet(_ command: InfoCommand) -> String {
        guard let control = context.logControl else { return Self.error("no log sinks") }
        guard let idText = command.parameter("id"), let id = Int(idText), control.level(ofSink: id) != nil else {
            return Self.error("bad-id")
        }
        let changes = command.parameters.filter { $0.key != "id" }
        guard !changes.isEmpty else { return Self.error("missing context") }
        var level: LogLevel?
        for change in changes {
            guard change.key == "any" else { return Self.error("bad-context \(change.key): Cairn has one context, any") }
            guard let parsed = LogLevel(rawValue: change.value.lowercased()) else {
                return Self.error("bad-level \(change.value): critical, warning, info, debug or detail")
            }
            level = parsed
        }
        guard let level, control.setLevel(ofSink: id, to: level) else { return Self.error("bad-id") }
        logger.info("log-set: sink \(id) now logs at \(level.rawValue)")
        return InfoReply.ok
    }

    /// `log-rotate`: reopen the log files by path (as SIGHUP does).
    func logRotate() -> String {
        guard let control = context.logControl else { return Self.error("no log sinks") }
        let failures = control.rotate()
        for failure in failures { logger.error("log-rotate: \(failure); still writing to the old file") }
        guard failures.isEmpty else { return Self.error(failures.joined(separator: ", ")) }
        logger.info("log-rotate: log files reopened")
        return InfoReply.ok
    }
}

/// Values as `set-config` takes them: plain numbers, or with Aerospike's units.
enum ValueText {
    /// Seconds: `N`, `Ns`, `Nm`, `Nh`, `Nd`.
    static func seconds(_ text: String) -> Int? {
        scaled(text, units: ["s": 1, "m": 60, "h": 3600, "d": 86_400])
    }

    /// Bytes: `N`, `NK`, `NM`, `NG` (powers of 1024).
    static func bytes(_ text: String) -> Int? {
        scaled(text, units: ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30])
    }

    private static func scaled(_ text: String, units: [Character: Int]) -> Int? {
        var digits = Substring(text)
        var factor = 1
        if let last = text.last, let unit = units[last] {
            factor = unit
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let value = Int(digits), value >= 0 else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: factor)
        return overflow ? nil : product
    }
}
