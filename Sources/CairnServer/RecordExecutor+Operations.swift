import CairnEngine
import CairnWire
import NIOCore

extension RecordExecutor {
    /// A read-only operate (no WRITE flag) with collection reads among its ops: every op must be
    /// a READ or a CDT_READ. Runs through the engine's operate, which evaluates them on one
    /// consistent copy of the record.
    func operateReadOnly(_ command: RecordCommand, target: Target, body: ByteBuffer, raw: UnsafeRawBufferPointer,
                         resume: Resume, finish: Finish) throws(Refusal) {
        let header = command.header
        let readTypes: Set<OpType> = [.read, .cdtRead, .bitsRead, .hllRead, .expRead]
        for op in command.ops where !(op.type.map(readTypes.contains) ?? false) {
            switch op.type {
            case .none: throw Refusal(.parameter, "unknown op \(op.typeRaw)")
            default: throw Refusal(.parameter, "write op \(op.typeRaw) without the WRITE flag")
            }
        }
        // Built in this thread's kept memory when it has some (handed back once answered).
        let scratch = resume.operations
        var operations = scratch?.takeOperations() ?? []
        operations.reserveCapacity(command.ops.count)
        for op in command.ops {
            operations.append(try Self.operation(for: op, header: header, replaces: false, body: raw, scratch: scratch))
        }
        let respondsAll = header.info2.contains(.respondAllOps)
        if respondsAll && operations.count(where: { $0 == .readAll }) > 1 {
            throw Refusal(.parameter, "more than one read-all op with RESPOND_ALL_OPS")
        }
        var options = WriteOptions()
        options.filter = try Self.filter(of: command, body: raw)
        let start = target.namespace.with {
            $0.startOperate(target.digest, operations: operations, options: options, scratch: resume.records)
        }
        Self.reply(to: start, of: command, operations: operations, respondsAll: respondsAll, namespace: target.namespace,
                   body: body, resume: resume, finish: finish, scratch: scratch)
    }
}
