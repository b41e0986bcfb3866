extension ConfigInterpreter {
    /// The `network` stanza: `service { … }` (required); `info { … }` is refused at its line.
    func networkSection(_ stanza: ConfigNode) throws(ConfigError) -> NetworkConfig {
        var reader = StanzaReader(
            fileName: fileName,
            place: "in network",
            knownNames: ["service", "info"],
            unsupported: UnsupportedNames.network
        )
        var service: NetworkEndpoint?
        for node in stanza.children {
            switch node.name {
            case "service":
                try reader.requireStanza(node, argumentCount: 0, argumentName: "")
                try reader.noteOnce(node)
                service = try endpoint(node, place: "in network service")
            case "info":
                // Aerospike's plain-text info port: nothing would listen on it, so it is refused
                // here rather than accepted and ignored.
                throw reader.error(
                    node.line,
                    "unsupported stanza 'info' in network: Cairn has no separate info port; info commands are "
                        + "answered on the service port (asinfo -p <service port>): remove this stanza")
            default:
                throw reader.unknown(node)
            }
        }
        guard let service else {
            throw reader.error(
                stanza.line,
                "'network' opened here has no 'service' stanza: add 'service { port 3000 }'"
            )
        }
        return NetworkConfig(service: service, info: nil)
    }

    /// A `service { … }`, `info { … }` or top-level `metrics { … }` stanza: `address` (default any) and `port` (required).
    func endpoint(_ stanza: ConfigNode, place: String) throws(ConfigError) -> NetworkEndpoint {
        var reader = StanzaReader(
            fileName: fileName,
            place: place,
            knownNames: ["address", "port"],
            unsupported: UnsupportedNames.endpoint
        )
        var address = ConfigLimits.addressDefault
        var port: UInt16?
        for node in stanza.children {
            switch node.name {
            case "address":
                try reader.noteOnce(node)
                let text = try reader.word(node)
                guard ConfigValue.isAddress(text) else {
                    throw reader.badValue(
                        node, text, expected: "'any' or an IPv4 or IPv6 address (like 127.0.0.1 or ::1)")
                }
                address = text
            case "port":
                try reader.noteOnce(node)
                let value = try reader.integer(node, range: 1...Int(UInt16.max))
                // In range 1...65535 by the check above.
                port = UInt16(value)
            default:
                throw reader.unknown(node)
            }
        }
        guard let port else {
            throw reader.error(stanza.line, "no 'port' \(place) (opened here): add a line like 'port 3000'")
        }
        return NetworkEndpoint(address: address, port: port)
    }
}
