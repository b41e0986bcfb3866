import CairnStorage
import CairnWire

/// The parts of a single-record command, from a whole message or from one batch row (PROTOCOL.md
/// §6, §8.1: "each row is processed exactly like the corresponding single-record command").
///
/// Field and op ranges point into the request body the command was decoded from; the body must
/// stay alive (and is passed alongside) while the command is executed.
struct RecordCommand {
    var header: MessageHeader
    var fields: [Field]
    var ops: [Op]
    /// Batch rows carry their digest outside the fields; nil for a message (read its DIGEST field).
    var rowDigest: Digest?

    init(message: Message) {
        header = message.header
        fields = message.fields
        ops = message.ops
        rowDigest = nil
    }

    /// A batch row; `filter` (the batch's filter expression) applies when the row has none.
    init(row: BatchRow, transactionTTL: UInt32, filter: Field? = nil) {
        header = row.header(transactionTTL: transactionTTL)
        fields = row.fields
        ops = row.ops
        rowDigest = row.digest
        if let filter, !fields.contains(where: { $0.typeRaw == FieldType.filterExpression.rawValue }) {
            fields.append(filter)
        }
    }

    func field(_ type: FieldType) -> Field? {
        fields.first { $0.typeRaw == type.rawValue }
    }
}

/// One bin entry of a reply (§6.2): the op code, the bin name, the particle type and the value.
struct ReplyBin: Equatable {
    var opTypeRaw: UInt8
    /// At most 15 bytes: a small string, so a reply bin allocates nothing for its name.
    var name: String
    var particleTypeRaw: UInt8
    var value: [UInt8]

    /// An entry with no value (particle NIL), for RESPOND_ALL_OPS write results and missing bins.
    static func empty(opTypeRaw: UInt8, name: String) -> ReplyBin {
        ReplyBin(opTypeRaw: opTypeRaw, name: name, particleTypeRaw: ParticleType.null.rawValue, value: [])
    }
}

/// What a single-record command produced: the reply header's result, generation and void time,
/// and the bins to return (none on errors, §6.2).
struct RecordOutcome: Equatable {
    var resultCode: ResultCode
    var generation: UInt32
    var voidTime: UInt32
    var bins: [ReplyBin]
    /// Stored bins returned as READ entries after `bins`: a read of the whole record passes the
    /// record's own bin array here, so its reply needs no array of reply entries and no copies
    /// of the values.
    var readBins: [StoredBin]

    init(resultCode: ResultCode, generation: UInt32 = 0, voidTime: UInt32 = 0, bins: [ReplyBin] = [],
         readBins: [StoredBin] = []) {
        self.resultCode = resultCode
        self.generation = generation
        self.voidTime = voidTime
        self.bins = bins
        self.readBins = readBins
    }

    /// Reply entries in all (for sizing the reply).
    var binCount: Int { bins.count + readBins.count }

    static func failure(_ resultCode: ResultCode) -> RecordOutcome {
        RecordOutcome(resultCode: resultCode)
    }
}

extension WireWriter {
    /// Appends the bins of an outcome to the open message.
    mutating func appendReplyBins(_ outcome: RecordOutcome) {
        for bin in outcome.bins {
            appendOp(typeRaw: bin.opTypeRaw, particleTypeRaw: bin.particleTypeRaw, name: bin.name, value: bin.value)
        }
        appendReadBins(outcome.readBins)
    }

    /// Appends stored bins as READ entries (a record read whole, a scan's records).
    mutating func appendReadBins(_ bins: [StoredBin]) {
        for bin in bins {
            appendOp(typeRaw: OpType.read.rawValue, particleTypeRaw: bin.particleType.rawValue, name: bin.name, value: bin.bytes)
        }
    }

    /// Appends a whole single-record reply frame for `outcome` (§6.2).
    mutating func appendRecordReplyFrame(_ outcome: RecordOutcome) {
        beginRecordReply(resultCode: outcome.resultCode, generation: outcome.generation, voidTime: outcome.voidTime)
        appendReplyBins(outcome)
        endRecordReply()
    }

    /// Appends one batch reply row for `outcome` inside the open frame (§8.2).
    mutating func appendBatchReplyRow(index: UInt32, _ outcome: RecordOutcome) {
        beginBatchReplyRow(index: index, resultCode: outcome.resultCode, generation: outcome.generation, voidTime: outcome.voidTime)
        appendReplyBins(outcome)
        endMessage()
    }
}
