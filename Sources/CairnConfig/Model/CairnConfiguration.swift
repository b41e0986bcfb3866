/// A whole Cairn configuration: what `cairnd` runs with.
///
/// It is the typed form of an `aerospike.conf`-style file:
///
/// ```
/// service   { … }          -> service     (optional stanza; every parameter has a default)
/// logging   { … }          -> logging     (optional stanza; default: console at info)
/// network   { … }          -> network     (required)
/// metrics   { … }          -> metrics     (optional stanza: the Prometheus endpoint)
/// mod-lua   { … }          -> modLuaUserPath (optional stanza: `user-path DIR`, UDF modules)
/// namespace NAME { … } …   -> namespaces  (at least one, at most 32, names unique)
/// ```
///
/// Get one from `parse(text:fileName:)`, `load(path:)` or `embeddedDefault`; turn one back into
/// text with `rendered()`. For every value `parse` returns, `parse(text: x.rendered(), …) == x`.
///
/// Paths are kept as written; `resolvingPaths(relativeTo:)` makes them absolute, and
/// `load(path:)` does so against the configuration file's directory.
///
/// A plain value: any thread may create, copy and read it.
public struct CairnConfiguration: Sendable, Equatable {
    /// The `service` stanza: process-wide settings.
    public var service: ServiceConfig
    /// The `logging` stanza: where log lines go and how verbose they are.
    public var logging: LoggingConfig
    /// The `network` stanza: the addresses and ports cairnd listens on.
    public var network: NetworkConfig
    /// The `namespace` stanzas, in file order.
    public var namespaces: [NamespaceConfig]
    /// The `metrics { address … port … }` stanza: where `/metrics` is served over HTTP in the
    /// Prometheus exposition format; nil (no stanza): not served.
    public var metrics: NetworkEndpoint?
    /// The `mod-lua { user-path DIR }` stanza: where registered Lua UDF modules are kept; nil (no
    /// stanza or no user-path): `udf/lua` under the work directory (``modLuaUserPath``).
    public var modLuaUserPath: String?

    /// Makes a configuration from its sections.
    public init(
        service: ServiceConfig = ServiceConfig(),
        logging: LoggingConfig = LoggingConfig(),
        network: NetworkConfig = NetworkConfig(),
        namespaces: [NamespaceConfig],
        metrics: NetworkEndpoint? = nil,
        modLuaUserPath: String? = nil
    ) {
        self.service = service
        self.logging = logging
        self.network = network
        self.namespaces = namespaces
        self.metrics = metrics
        self.modLuaUserPath = modLuaUserPath
    }

    /// The directory of registered UDF modules: `mod-lua`'s `user-path`, else `udf/lua` under
    /// the work directory.
    public var effectiveModLuaUserPath: String {
        modLuaUserPath ?? (service.workDirectory.hasSuffix("/") ? service.workDirectory : service.workDirectory + "/") + "udf/lua"
    }

    /// The namespace called `name`, if there is one.
    public func namespace(named name: String) -> NamespaceConfig? {
        namespaces.first { $0.name == name }
    }
}
