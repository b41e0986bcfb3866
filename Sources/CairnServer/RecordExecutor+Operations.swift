import CairnEngine
import CairnWire

extension RecordExecutor {
    /// A read-only operate (no WRITE flag) with collection reads among its ops: every op must be
    /// a READ or a CDT_READ. Runs through the engine's operate, which evaluates them on one
    /// consistent copy of the record.
    func operateReadOnly(_ command: RecordCommand, target: Target, body: UnsafeRawBufferPointer) throws(Refusal) -> RecordOutcome {
        let header = command.header
        for op in command.ops where op.type != .read && op.type != .cdtRead {
            switch op.type {
            case .expRead, .bitsRead, .hllRead: throw Refusal(.unsupportedFeature, "op \(op.typeRaw) is not supported")
            case .none: throw Refusal(.parameter, "unknown op \(op.typeRaw)")
            default: throw Refusal(.parameter, "write op \(op.typeRaw) without the WRITE flag")
            }
        }
        let operations = try command.ops.map { (op) throws(Refusal) -> BinOperation in
            try Self.operation(for: op, header: header, replaces: false, body: body)
        }
        let respondsAll = header.info2.contains(.respondAllOps)
        if respondsAll && operations.count(where: { $0 == .readAll }) > 1 {
            throw Refusal(.parameter, "more than one read-all op with RESPOND_ALL_OPS")
        }
        let result: OperateResult
        do {
            result = try target.namespace.operate(target.digest, operations: operations)
        } catch {
            throw Refusal(ResultCode(engine: error.result), error.message)
        }
        let bins = Self.replyBins(ops: command.ops, operations: operations, results: result.bins, respondsAll: respondsAll, body: body)
        return RecordOutcome(resultCode: .ok, generation: UInt32(result.generation), voidTime: result.voidTime, bins: bins)
    }
}
