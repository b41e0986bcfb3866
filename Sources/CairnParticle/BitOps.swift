/// Bitwise operations on blob bins (Aerospike's BIT_READ = 12 and BIT_MODIFY = 13 ops).
///
/// Payload: a msgpack list `[command, args...]`. Modify commands are 0 ... 12, read commands
/// 50 ... 54. Offsets are in bits (negative counts from the end of the blob), except for insert
/// and remove, whose offset and size are in bytes; sizes are in bits except for resize, insert
/// and remove.
///
/// Errors follow Aerospike: a malformed op, a bad flag, a negative offset before the start, or a
/// remove past the end is 4; a range past the end of the blob is 26 (OP_NOT_APPLICABLE) and an
/// overflow without WRAP or SATURATE is 26; a bin of another type is 12; CREATE_ONLY on an
/// existing bin is 6; an op other than insert and resize (or with UPDATE_ONLY) on a missing bin
/// is 17. NO_FAIL turns each of the range and existence failures into a no-op.
///
/// One deliberate difference: with PARTIAL, a modify range that runs past the end is cut at the
/// end of the blob. Aerospike computes that cut size from the start of the blob instead of the
/// range's byte, which for a range that does not start in byte 0 shifts in bytes outside the
/// range (and crashes CE 8.1 for an rshift on a short blob).

/// The commands of a family of `[command, args...]` ops (bit, HLL).
protocol PayloadCommand: RawRepresentable<Int> {
    /// Whether it comes as the family's MODIFY op.
    var isWrite: Bool { get }
    /// How many arguments it takes (after the command itself).
    var arity: ClosedRange<Int> { get }
}

/// Decodes a `[command, args...]` payload: the command must be one of `C`, come as the op
/// (read or modify) it belongs to, and have as many arguments as it takes; else 4.
func decodeCommand<C: PayloadCommand>(_ payload: [UInt8], isWrite: Bool, family: String) throws(CDTError) -> (C, [Value]) {
    let items: [Value]
    do {
        guard case .list(let list, _) = try Value.decode(payload), !list.isEmpty else {
            throw CDTError.param("\(family) op is not a non-empty list")
        }
        items = list
    } catch let e as CDTError {
        throw e
    } catch {
        throw .param("\(family) op: \(error)")
    }
    guard case .int(let code) = items[0], let command = C(rawValue: Int(truncatingIfNeeded: code)), command.isWrite == isWrite else {
        throw .param("\(family) op \(items[0]) is not a \(family) \(isWrite ? "modify" : "read") command")
    }
    let args = Array(items.dropFirst())
    guard command.arity.contains(args.count) else { throw .param("\(family) op \(command): \(args.count) arguments") }
    return (command, args)
}

/// Bit operation commands.
public enum BitCommand: Int, Sendable, CaseIterable, PayloadCommand {
    case resize = 0, insert = 1, remove = 2, set = 3, or = 4, xor = 5, and = 6, not = 7
    case lshift = 8, rshift = 9, add = 10, subtract = 11, setInt = 12
    case get = 50, count = 51, lscan = 52, rscan = 53, getInt = 54

    public var isWrite: Bool { rawValue < 50 }

    /// The write flags each modify command accepts.
    var allowedFlags: BitWriteFlags {
        switch self {
        case .resize, .insert: [.createOnly, .updateOnly, .noFail]
        case .remove, .set, .or, .xor, .and, .not, .lshift, .rshift: [.updateOnly, .noFail, .partial]
        case .add, .subtract, .setInt: [.updateOnly, .noFail]
        case .get, .count, .lscan, .rscan, .getInt: []
        }
    }

    var arity: ClosedRange<Int> {
        switch self {
        case .resize: 1...3
        case .insert, .remove: 2...3
        case .set, .or, .xor, .and, .lshift, .rshift: 3...4
        case .not: 2...3
        case .add, .subtract: 3...5
        case .setInt: 3...4
        case .get, .count: 2...2
        case .lscan, .rscan: 3...3
        case .getInt: 2...3
        }
    }
}

/// Bit write flags (policy).
public struct BitWriteFlags: OptionSet, Sendable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let createOnly = BitWriteFlags(rawValue: 1)
    public static let updateOnly = BitWriteFlags(rawValue: 2)
    public static let noFail = BitWriteFlags(rawValue: 4)
    public static let partial = BitWriteFlags(rawValue: 8)
}

/// Resize flags.
public struct BitResizeFlags: OptionSet, Sendable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let fromFront = BitResizeFlags(rawValue: 1)
    public static let growOnly = BitResizeFlags(rawValue: 2)
    public static let shrinkOnly = BitResizeFlags(rawValue: 4)
}

/// Integer flags of add, subtract (signed and overflow action) and get_int (signed).
public struct BitIntFlags: OptionSet, Sendable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let signed = BitIntFlags(rawValue: 1)
    public static let saturate = BitIntFlags(rawValue: 2)
    public static let wrap = BitIntFlags(rawValue: 4)
}

/// The bin a bit or HLL operation works on.
public enum BlobBin: Sendable, Equatable {
    case missing
    /// A bin of the particle type the family works on (blob for bits, HLL for HLL).
    case bytes([UInt8])
    /// A bin of another particle type.
    case otherType
}

/// What a bit or HLL operation did.
public struct BlobOutcome: Sendable, Equatable {
    /// The bin's new bytes when the operation changed it.
    public var newValue: [UInt8]?
    /// The operation's result; nil when it returns nothing.
    public var result: Value?

    public init(newValue: [UInt8]? = nil, result: Value? = nil) {
        self.newValue = newValue
        self.result = result
    }
}

/// A decoded bit operation.
public struct BitOperation: Sendable, Equatable {
    public var command: BitCommand
    /// Bit offset (byte offset × 8 for insert and remove); negative counts from the end.
    public var offset: Int64 = 0
    /// Size in bits (byte size × 8 for resize and remove; buffer bits for insert).
    public var size: UInt64 = 0
    /// Shift count, integer operand or scanned bit value.
    public var value: UInt64 = 0
    public var buffer: [UInt8] = []
    public var flags = BitWriteFlags()
    public var subflags: UInt64 = 0

    /// Aerospike's largest message, the bound of offsets and sizes.
    public static let protoSizeMax: UInt64 = 128 * 1024 * 1024

    /// Decodes an op payload; `isWrite` tells whether it came as BIT_MODIFY.
    public static func decode(_ payload: [UInt8], isWrite: Bool) throws(CDTError) -> BitOperation {
        let (command, args): (BitCommand, [Value]) = try decodeCommand(payload, isWrite: isWrite, family: "bit")
        var op = BitOperation(command: command)
        var rest = args.makeIterator()
        switch command {
        case .resize:
            op.size = try byteSize(rest.next()!, allowZero: true)
            if let f = rest.next() { try op.parseFlags(f) }
            if let s = rest.next() { try op.parseResizeFlags(s) }
        case .insert:
            op.offset = try byteOffset(rest.next()!)
            try op.parseBuffer(rest.next()!)
            if let f = rest.next() { try op.parseFlags(f) }
        case .remove:
            op.offset = try byteOffset(rest.next()!)
            op.size = try byteSize(rest.next()!, allowZero: false)
            if let f = rest.next() { try op.parseFlags(f) }
        case .set, .or, .xor, .and:
            op.offset = try bitOffset(rest.next()!)
            op.size = try bitSize(rest.next()!)
            try op.parseBuffer(rest.next()!)
            if let f = rest.next() { try op.parseFlags(f) }
        case .not:
            op.offset = try bitOffset(rest.next()!)
            op.size = try bitSize(rest.next()!)
            if let f = rest.next() { try op.parseFlags(f) }
        case .lshift, .rshift:
            op.offset = try bitOffset(rest.next()!)
            op.size = try bitSize(rest.next()!)
            op.value = try unsigned(rest.next()!)
            guard op.value <= protoSizeMax * 8 else { throw .param("shift by \(op.value) bits") }
            if let f = rest.next() { try op.parseFlags(f) }
        case .add, .subtract, .setInt:
            op.offset = try bitOffset(rest.next()!)
            op.size = try integerSize(rest.next()!)
            op.value = try unsigned(rest.next()!)
            if let f = rest.next() { try op.parseFlags(f) }
            if let s = rest.next() {
                op.subflags = try unsigned(s)
                let known: BitIntFlags = [.signed, .saturate, .wrap]
                let flags = BitIntFlags(rawValue: op.subflags)
                guard known.isSuperset(of: flags), !flags.isSuperset(of: [.saturate, .wrap]) else {
                    throw .param("bad arithmetic flags \(op.subflags)")
                }
            }
        case .get, .count:
            op.offset = try bitOffset(rest.next()!)
            op.size = try bitSize(rest.next()!)
        case .lscan, .rscan:
            op.offset = try bitOffset(rest.next()!)
            op.size = try bitSize(rest.next()!)
            guard case .bool(let b) = rest.next()! else { throw .param("scan value is not a boolean") }
            op.value = b ? 1 : 0
        case .getInt:
            op.offset = try bitOffset(rest.next()!)
            op.size = try integerSize(rest.next()!)
            if let s = rest.next() {
                op.subflags = try unsigned(s)
                guard op.subflags & ~BitIntFlags.signed.rawValue == 0 else { throw .param("bad get_int flags \(op.subflags)") }
            }
        }
        return op
    }

    private static func unsigned(_ v: Value) throws(CDTError) -> UInt64 {
        guard case .int(let i) = v else { throw .param("bit op argument \(v) is not an integer") }
        return UInt64(bitPattern: i)
    }

    private static func signed(_ v: Value) throws(CDTError) -> Int64 {
        guard case .int(let i) = v else { throw .param("bit op argument \(v) is not an integer") }
        return i
    }

    private static func bitOffset(_ v: Value) throws(CDTError) -> Int64 {
        let o = try signed(v)
        guard o.magnitude <= protoSizeMax * 8 else { throw .param("bit offset \(o) out of bounds") }
        return o
    }

    private static func byteOffset(_ v: Value) throws(CDTError) -> Int64 {
        let o = try signed(v)
        guard o.magnitude <= protoSizeMax else { throw .param("byte offset \(o) out of bounds") }
        return o * 8
    }

    private static func bitSize(_ v: Value) throws(CDTError) -> UInt64 {
        let s = try unsigned(v)
        guard s != 0, s <= protoSizeMax * 8 else { throw .param("bit size \(s)") }
        return s
    }

    private static func byteSize(_ v: Value, allowZero: Bool) throws(CDTError) -> UInt64 {
        let s = try unsigned(v)
        guard s != 0 || allowZero, s <= protoSizeMax else { throw .param("byte size \(s)") }
        return s * 8
    }

    private static func integerSize(_ v: Value) throws(CDTError) -> UInt64 {
        let s = try unsigned(v)
        guard (1...64).contains(s) else { throw .param("integer size \(s)") }
        return s
    }

    private mutating func parseBuffer(_ v: Value) throws(CDTError) {
        let bytes: Bytes
        switch v {
        case .blob(_, let b), .string(let b), .geojson(let b): bytes = b
        default: throw .param("bit op buffer is not bytes")
        }
        guard !bytes.isEmpty else { throw .param("empty bit op buffer") }
        let bits = UInt64(bytes.count) * 8
        if size == 0 {
            size = bits
        } else if bits < size {
            throw .param("buffer of \(bits) bits for \(size) bits")
        }
        buffer = Array(bytes)
    }

    private mutating func parseFlags(_ v: Value) throws(CDTError) {
        let raw = try Self.unsigned(v)
        flags = BitWriteFlags(rawValue: raw)
        guard command.allowedFlags.isSuperset(of: flags), !flags.isSuperset(of: [.createOnly, .updateOnly]) else {
            throw .param("bad bit write flags \(raw) for \(command)")
        }
    }

    private mutating func parseResizeFlags(_ v: Value) throws(CDTError) {
        subflags = try Self.unsigned(v)
        let known: BitResizeFlags = [.fromFront, .growOnly, .shrinkOnly]
        let resize = BitResizeFlags(rawValue: subflags)
        guard known.isSuperset(of: resize), !resize.isSuperset(of: [.growOnly, .shrinkOnly]) else {
            throw .param("bad resize flags \(subflags)")
        }
    }
}

/// Runs bit operations.
public enum BitExecutor {
    /// Runs `payload` (the op's value) on `bin`; `isWrite` tells whether it came as BIT_MODIFY.
    /// A read on a missing bin returns nothing (before its payload is looked at, as Aerospike).
    public static func execute(payload: [UInt8], bin: BlobBin, isWrite: Bool) throws(CDTError) -> BlobOutcome {
        if !isWrite, bin == .missing { return BlobOutcome() }
        let op = try BitOperation.decode(payload, isWrite: isWrite)
        return try execute(op, bin: bin)
    }

    public static func execute(_ op: BitOperation, bin: BlobBin) throws(CDTError) -> BlobOutcome {
        let noFail = op.flags.contains(.noFail)
        let old: [UInt8]?
        switch bin {
        case .otherType:
            if op.command.isWrite && op.flags.contains(.createOnly) {
                if noFail { return BlobOutcome() }
                throw CDTError(binExists, "bin exists (CREATE_ONLY)")
            }
            throw CDTError(CDTError.binTypeError, "bit op on a bin that is not a blob")
        case .bytes(let b):
            if op.flags.contains(.createOnly) {
                if noFail { return BlobOutcome() }
                throw CDTError(binExists, "bin exists (CREATE_ONLY)")
            }
            old = b
        case .missing:
            if !op.command.isWrite { return BlobOutcome() }
            if (op.command != .insert && op.command != .resize) || op.flags.contains(.updateOnly) {
                if noFail { return BlobOutcome() }
                throw CDTError(binNotFound, "bit op \(op.command) on a missing bin")
            }
            old = nil
        }
        let blob = old ?? []
        // Normalize the offset.
        var offset = op.offset
        if offset < 0 {
            if old == nil { throw .param("negative offset on a missing bin") }
            guard offset.magnitude <= UInt64(blob.count) * 8 else { throw .param("offset \(offset) before the start") }
            offset += Int64(blob.count) * 8
        }
        let bitOffset = Int(offset)
        let byteOffset = bitOffset / 8
        let inByte = bitOffset % 8
        let spanBytes = (inByte + Int(op.size) + 7) / 8
        let failed = { (code: UInt8, reason: String) throws(CDTError) -> BlobOutcome in
            if noFail { return BlobOutcome() }
            throw CDTError(code, reason)
        }
        switch op.command {
        case .resize:
            let target = Int(op.size / 8)
            let resize = BitResizeFlags(rawValue: op.subflags)
            if target == blob.count { return BlobOutcome() }
            if target < blob.count && resize.contains(.growOnly) { return try failed(CDTError.parameter, "resize would shrink") }
            if target > blob.count && resize.contains(.shrinkOnly) { return try failed(CDTError.parameter, "resize would grow") }
            return try checked(resized(blob, to: target, fromFront: resize.contains(.fromFront)))
        case .insert:
            var new = blob
            if byteOffset >= blob.count {
                new += [UInt8](repeating: 0, count: byteOffset - blob.count)
                new += op.buffer
            } else {
                new.insert(contentsOf: op.buffer, at: byteOffset)
            }
            return try checked(new)
        case .remove:
            if byteOffset >= blob.count { return try failed(CDTError.parameter, "remove past the end") }
            var end = byteOffset + spanBytes
            if end > blob.count {
                if !op.flags.contains(.partial) { return try failed(CDTError.parameter, "remove past the end without PARTIAL") }
                end = blob.count
            }
            var new = blob
            new.removeSubrange(byteOffset..<end)
            return BlobOutcome(newValue: new)
        case .set, .or, .xor, .and, .not, .lshift, .rshift:
            if byteOffset >= blob.count { return try failed(CDTError.opNotApplicable, "range starts past the end") }
            var size = Int(op.size)
            if byteOffset + spanBytes > blob.count {
                if !op.flags.contains(.partial) { return try failed(CDTError.opNotApplicable, "range past the end without PARTIAL") }
                size = (blob.count - byteOffset) * 8 - inByte
            }
            let range = BitRange(start: bitOffset, count: size)
            let current = range.read(blob)
            var new = blob
            range.write(&new, modified(current, op: op, count: size))
            return BlobOutcome(newValue: new)
        case .add, .subtract, .setInt, .get, .count, .lscan, .rscan, .getInt:
            guard byteOffset < blob.count, byteOffset + spanBytes <= blob.count else {
                return try failed(CDTError.opNotApplicable, "range past the end")
            }
            let range = BitRange(start: bitOffset, count: Int(op.size))
            return try integerOrRead(op, range: range, blob: blob)
        }
    }

    static let binExists: UInt8 = 6
    static let binNotFound: UInt8 = 17

    private static func checked(_ new: [UInt8]) throws(CDTError) -> BlobOutcome {
        guard UInt64(new.count) < BitOperation.protoSizeMax else { throw .param("blob of \(new.count) bytes") }
        return BlobOutcome(newValue: new)
    }

    private static func resized(_ blob: [UInt8], to target: Int, fromFront: Bool) -> [UInt8] {
        if target < blob.count {
            return fromFront ? Array(blob[(blob.count - target)...]) : Array(blob[..<target])
        }
        let zeros = [UInt8](repeating: 0, count: target - blob.count)
        return fromFront ? zeros + blob : blob + zeros
    }

    /// The new bits of a range-wide modify (`current` left-aligned, `count` bits).
    private static func modified(_ current: [UInt8], op: BitOperation, count: Int) -> [UInt8] {
        switch op.command {
        case .set: return BitRange.masked(Array(op.buffer.prefix(current.count)), count: count)
        case .or: return zip(current, op.buffer).map { $0 | $1 }
        case .xor: return zip(current, op.buffer).map { $0 ^ $1 }
        case .and: return zip(current, op.buffer).map { $0 & $1 }
        case .not: return current.map { ~$0 }
        case .lshift: return BitRange.shiftedLeft(current, by: op.value, count: count)
        case .rshift: return BitRange.shiftedRight(current, by: op.value, count: count)
        default: return current
        }
    }

    private static func integerOrRead(_ op: BitOperation, range: BitRange, blob: [UInt8]) throws(CDTError) -> BlobOutcome {
        let n = range.count
        let mask: UInt64 = n >= 64 ? .max : (1 << UInt64(n)) - 1  // reads take wider ranges
        switch op.command {
        case .get:
            return BlobOutcome(result: .blob(Value.particleTypeBlob, Bytes(range.read(blob))))
        case .count:
            return BlobOutcome(result: .int(Int64(range.read(blob).reduce(0) { $0 + $1.nonzeroBitCount })))
        case .lscan, .rscan:
            return BlobOutcome(result: .int(scan(op, range: range, blob: blob)))
        case .getInt:
            let loaded = range.loadInteger(blob)
            if BitIntFlags(rawValue: op.subflags).contains(.signed) {
                return BlobOutcome(result: .int(signExtended(loaded, bits: n)))
            }
            return BlobOutcome(result: .int(Int64(bitPattern: loaded)))
        case .setInt:
            var new = blob
            range.storeInteger(&new, op.value & mask)
            return BlobOutcome(newValue: new)
        case .add, .subtract:
            let load = range.loadInteger(blob)
            let value = op.value & mask
            let flags = BitIntFlags(rawValue: op.subflags)
            let isAdd = op.command == .add
            var result = (isAdd ? load &+ value : load &- value) & mask
            if !flags.contains(.wrap) {
                if flags.contains(.signed) {
                    // Aerospike's test: the operand is negated (as 64 bits) for a subtract, and
                    // overflow is same-signed operands giving a result of the other sign.
                    let operand = isAdd ? value : UInt64(bitPattern: -Int64(bitPattern: value))
                    let sLoad = signExtended(load, bits: n)
                    let sValue = signExtended(operand, bits: n)
                    let sResult = signExtended(result, bits: n)
                    if sLoad < 0 && sValue < 0 && sResult > 0 {
                        guard flags.contains(.saturate) else { return try overflow(op) }
                        result = 1 << UInt64(n - 1)
                    } else if sLoad > 0 && sValue > 0 && sResult < 0 {
                        guard flags.contains(.saturate) else { return try overflow(op) }
                        result = mask >> 1
                    }
                } else if isAdd ? result < load : result > load {
                    guard flags.contains(.saturate) else { return try overflow(op) }
                    result = isAdd ? mask : 0
                }
            }
            var new = blob
            range.storeInteger(&new, result)
            return BlobOutcome(newValue: new)
        default:
            return BlobOutcome()
        }
    }

    private static func overflow(_ op: BitOperation) throws(CDTError) -> BlobOutcome {
        if op.flags.contains(.noFail) { return BlobOutcome() }
        throw CDTError.notApplicable("\(op.command) overflows")
    }

    private static func signExtended(_ v: UInt64, bits: Int) -> Int64 {
        let leading = UInt64(64 - bits)
        return (Int64(bitPattern: v << leading)) >> leading
    }

    /// lscan: the first bit equal to the value in the range, relative to its start, or -1.
    /// rscan: Aerospike's scan goes back through the whole first byte of the range, bits before
    /// the offset included, so a match there answers a negative position (kept as is).
    private static func scan(_ op: BitOperation, range: BitRange, blob: [UInt8]) -> Int64 {
        let wanted = op.value == 1
        let inByte = range.start % 8
        if op.command == .lscan {
            for i in 0..<range.count where BitRange.bit(blob, range.start + i) == wanted { return Int64(i) }
            return -1
        }
        let spanStart = range.start - inByte
        var i = inByte + range.count - 1
        while i >= 0 {
            if BitRange.bit(blob, spanStart + i) == wanted { return Int64(i - inByte) }
            i -= 1
        }
        return -1
    }
}

/// A range of bits in a byte buffer (bit 0 is the high bit of byte 0), read and written as a
/// left-aligned buffer of `(count + 7) / 8` bytes whose bits past `count` are zero.
struct BitRange {
    var start: Int
    var count: Int

    static func bit(_ bytes: [UInt8], _ index: Int) -> Bool {
        bytes[index >> 3] & (0x80 >> UInt8(index & 7)) != 0
    }

    /// The range's bits, left-aligned.
    func read(_ bytes: [UInt8]) -> [UInt8] {
        let first = start >> 3
        let shift = start & 7
        let n = (count + 7) / 8
        var out = [UInt8](repeating: 0, count: n)
        for j in 0..<n {
            let hi = first + j < bytes.count ? bytes[first + j] : 0
            if shift == 0 {
                out[j] = hi
            } else {
                let lo = first + j + 1 < bytes.count ? bytes[first + j + 1] : 0
                out[j] = hi << UInt8(shift) | lo >> UInt8(8 - shift)
            }
        }
        return Self.masked(out, count: count)
    }

    /// Replaces the range's bits with `bits` (left-aligned); the bits around it stay.
    func write(_ bytes: inout [UInt8], _ bits: [UInt8]) {
        let first = start >> 3
        let shift = start & 7
        let span = (shift + count + 7) / 8
        for k in 0..<span {
            // The source bits that land in byte `first + k`.
            let hi = k - 1 >= 0 && k - 1 < bits.count ? bits[k - 1] : 0
            let lo = k < bits.count ? bits[k] : 0
            let aligned = shift == 0 ? lo : (hi << UInt8(8 - shift)) | (lo >> UInt8(shift))
            // Which bits of this byte belong to the range.
            let lowBit = max(0, start - (first + k) * 8)
            let highBit = min(8, start + count - (first + k) * 8)
            guard lowBit < highBit else { continue }
            let mask = UInt8(truncatingIfNeeded: (0xFF >> lowBit) & ~(0xFF >> highBit))
            bytes[first + k] = bytes[first + k] & ~mask | aligned & mask
        }
    }

    /// The range as an unsigned integer (count ≤ 64).
    func loadInteger(_ bytes: [UInt8]) -> UInt64 {
        let left = read(bytes).prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let n = (count + 7) / 8
        return (left << UInt64((8 - n) * 8)) >> UInt64(64 - count)
    }

    /// Stores the low `count` bits of `value` in the range.
    func storeInteger(_ bytes: inout [UInt8], _ value: UInt64) {
        let left = value << UInt64(64 - count)
        let n = (count + 7) / 8
        write(&bytes, (0..<n).map { UInt8(truncatingIfNeeded: left >> UInt64(56 - 8 * $0)) })
    }

    /// `bits` with every bit past `count` cleared.
    static func masked(_ bits: [UInt8], count: Int) -> [UInt8] {
        var out = bits
        let tail = count % 8
        if tail != 0, !out.isEmpty { out[out.count - 1] &= UInt8(truncatingIfNeeded: 0xFF << (8 - tail)) }
        return out
    }

    /// Left-aligned `count` bits shifted toward bit 0 by `n`, zeros in.
    static func shiftedLeft(_ bits: [UInt8], by n: UInt64, count: Int) -> [UInt8] {
        guard n < UInt64(count) else { return [UInt8](repeating: 0, count: bits.count) }
        let moved = BitRange(start: Int(n), count: count - Int(n)).read(bits)
        return moved + [UInt8](repeating: 0, count: bits.count - moved.count)
    }

    /// Left-aligned `count` bits shifted away from bit 0 by `n`, zeros in.
    static func shiftedRight(_ bits: [UInt8], by n: UInt64, count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: bits.count)
        guard n < UInt64(count) else { return out }
        BitRange(start: Int(n), count: count - Int(n)).write(&out, BitRange(start: 0, count: count - Int(n)).read(bits))
        return out
    }
}
