/// An address and port cairnd listens on.
///
/// `address` is `any` (every interface, IPv4 and IPv6) or an IPv4 or IPv6 literal such as
/// `127.0.0.1` or `::1`, kept as written.
public struct NetworkEndpoint: Sendable, Equatable {
    /// `address`: `any` or an IP literal.
    public var address: String
    /// `port`: 1 to 65535.
    public var port: UInt16

    /// Makes an endpoint; the address defaults to `any`.
    public init(address: String = ConfigLimits.addressDefault, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// True when `address` means every interface.
    public var isAnyAddress: Bool {
        address == "any"
    }
}

/// The `network` stanza.
///
/// ```
/// network {
///     service {            # required: the client protocol port
///         address any      # default any
///         port 3000        # required
///     }
///     info {               # optional: Aerospike's plain-text info port
///         address 127.0.0.1
///         port 3003
///     }
/// }
/// ```
///
/// Info commands are always answered on the service port too (that is what `asinfo` and the
/// clients use). Aerospike's `heartbeat`, `fabric`, `tls` and `admin` stanzas are refused:
/// Cairn runs as a single node.
public struct NetworkConfig: Sendable, Equatable {
    /// `network service`: where clients connect.
    public var service: NetworkEndpoint
    /// `network info`: the plain-text info port, or `nil` when there is none.
    public var info: NetworkEndpoint?

    /// Makes a network section; by default port 3000 on every interface and no info port.
    public init(
        service: NetworkEndpoint = NetworkEndpoint(port: ConfigLimits.servicePortDefault),
        info: NetworkEndpoint? = nil
    ) {
        self.service = service
        self.info = info
    }
}
