/// Collection writes done on the stored bytes, without decoding the collection.
///
/// The general path decodes a stored list or map into values, runs the operation and encodes
/// the whole collection again: on a 1,000-entry list an append cost about 43 µs
/// (`hack/bench-cdt`). The writes here touch only the header and the end, and give the same
/// bytes and result as the general path (`InPlaceTests` compares them on random lists). Any
/// case they do not cover answers nil, and the caller takes the general path.
public enum InPlaceCDT {
    /// `append` of one value to a stored unordered list at the top level (no context) with no
    /// write flags: the new list bytes and its new size. Nil for anything else (an ordered list,
    /// write flags, a context, arguments the general path refuses), and for a stored value that
    /// is not a list header followed by elements.
    public static func append(_ op: CDTOperation, storedList bytes: [UInt8]) throws(CDTError) -> (bytes: [UInt8], size: Int)? {
        guard op.command == ListCommand.append.rawValue, op.context.isEmpty, (1...3).contains(op.args.count) else {
            return nil
        }
        // The order argument is read only when the list is created; write flags must be none.
        if op.args.count >= 2 { guard case .int = op.args[1] else { return nil } }
        if op.args.count == 3 { guard case .int(0) = op.args[2] else { return nil } }
        guard let (count, headerBytes) = listHeader(bytes) else { return nil }
        // An ordered list starts with its flags ext (`c7 00 FLAGS`); an ext first element of an
        // unordered one looks the same: both take the general path.
        if count > 0 && bytes[headerBytes] == 0xc7 { return nil }
        let item = try ListExecutor.storable([op.args[0]])[0]
        var writer = MsgPackWriter(capacity: bytes.count + 16)
        writer.writeListHeader(count + 1)
        writer.bytes.append(contentsOf: bytes[headerBytes...])
        writer.write(item)
        return (writer.bytes, count + 1)
    }

    /// The element count and header length of a msgpack array at the start of `bytes`.
    static func listHeader(_ bytes: [UInt8]) -> (count: Int, headerBytes: Int)? {
        guard let first = bytes.first else { return nil }
        switch first {
        case 0x90...0x9f:
            return (Int(first & 0x0f), 1)
        case 0xdc:
            guard bytes.count >= 3 else { return nil }
            return (Int(bytes[1]) << 8 | Int(bytes[2]), 3)
        case 0xdd:
            guard bytes.count >= 5 else { return nil }
            return (Int(bytes[1]) << 24 | Int(bytes[2]) << 16 | Int(bytes[3]) << 8 | Int(bytes[4]), 5)
        default:
            return nil
        }
    }
}
