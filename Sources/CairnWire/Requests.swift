// Client-side request encoding for tests, tools and load generation (PROTOCOL.md §4.2, §6.3–
// §6.5), in the C client's field order: NAMESPACE, SET, DIGEST, [KEY].

/// Identifies a record in a request: namespace, set ("" = no set) and digest.
public struct RecordKey: Sendable, Equatable {
    public var namespace: String
    public var setName: String
    public var digest: Digest
    /// Sent as the KEY field when present (policy key=SEND).
    public var userKey: ParticleValue?

    public init(namespace: String, setName: String, digest: Digest, userKey: ParticleValue? = nil) {
        self.namespace = namespace
        self.setName = setName
        self.digest = digest
        self.userKey = userKey
    }
}

extension WireWriter {
    /// Appends a single-record request frame: `header` (counts recomputed), the key fields and
    /// `ops`.
    public mutating func appendRecordRequestFrame(header: MessageHeader, key: RecordKey, ops: [OwnedOp] = []) {
        beginFrame(.message)
        beginMessage(header)
        appendField(.namespace, string: key.namespace)
        appendField(.set, string: key.setName)
        appendDigestField(key.digest)
        if let userKey = key.userKey {
            appendField(.key, data: UserKey.fieldData(userKey))
        }
        for op in ops {
            appendOp(op)
        }
        endMessage()
        endFrame()
    }

    /// get (READ|GET_ALL) or, with `binNames`, select (READ + one READ op per name) (§6.3).
    public mutating func appendGetRequestFrame(key: RecordKey, binNames: [String]? = nil, timeoutMs: UInt32 = 1000) {
        guard let binNames else {
            appendRecordRequestFrame(header: MessageHeader(info1: [.read, .getAll], transactionTTL: timeoutMs), key: key)
            return
        }
        let ops = binNames.map { OwnedOp(.read, name: $0, value: .null) }
        appendRecordRequestFrame(header: MessageHeader(info1: .read, transactionTTL: timeoutMs), key: key, ops: ops)
    }

    /// exists (READ|GET_NOBINDATA) (§6.3).
    public mutating func appendExistsRequestFrame(key: RecordKey, timeoutMs: UInt32 = 1000) {
        appendRecordRequestFrame(header: MessageHeader(info1: [.read, .getNoBinData], transactionTTL: timeoutMs), key: key)
    }

    /// put: info2 WRITE plus `info2`/`info3` policy bits, one WRITE op per bin (§6.4).
    public mutating func appendPutRequestFrame(
        key: RecordKey,
        bins: [Bin],
        ttl: RecordTTL = .namespaceDefault,
        generation: UInt32 = 0,
        info2: Info2 = [],
        info3: Info3 = [],
        timeoutMs: UInt32 = 1000
    ) {
        let header = MessageHeader(
            info2: info2.union(.write), info3: info3, generation: generation,
            recordTTL: ttl.wireValue, transactionTTL: timeoutMs
        )
        appendRecordRequestFrame(header: header, key: key, ops: bins.map { OwnedOp(.write, name: $0.name, value: $0.value) })
    }

    /// remove: info2 WRITE|DELETE, no ops (§6.5).
    public mutating func appendDeleteRequestFrame(key: RecordKey, generation: UInt32 = 0, info2: Info2 = [], timeoutMs: UInt32 = 1000) {
        let header = MessageHeader(info2: info2.union([.write, .delete]), generation: generation, transactionTTL: timeoutMs)
        appendRecordRequestFrame(header: header, key: key)
    }

    /// touch: info2 WRITE, one TOUCH op, `record_ttl` = the TTL (§6.5).
    public mutating func appendTouchRequestFrame(key: RecordKey, ttl: RecordTTL, timeoutMs: UInt32 = 1000) {
        let header = MessageHeader(info2: .write, recordTTL: ttl.wireValue, transactionTTL: timeoutMs)
        let touch = OwnedOp(typeRaw: OpType.touch.rawValue, particleTypeRaw: ParticleType.null.rawValue, name: [], value: [])
        appendRecordRequestFrame(header: header, key: key, ops: [touch])
    }
}
