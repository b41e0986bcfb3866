/// Aerospike's msgpack dialect (PROTOCOL.md, collection data types).
///
/// Aerospike stores lists and maps as msgpack with three additions:
/// - strings, blobs and GeoJSON are msgpack `str`/`bin` whose first byte is the particle type
///   (3 string, 4 blob, 23 GeoJSON, other blob types as sent);
/// - an ordered list or map carries its flags as a leading ext element (`c7 00 FLAGS`): the
///   first element of a list, the first key (with a nil value) of a map, counted in the header;
/// - the range operands "wildcard" (`d4 ff 00`, equal to anything) and "infinity"
///   (`d4 ff 01`, above everything).
///
/// This module is pure: no I/O, no dependency on any other Cairn module.

/// A malformed or unsupported msgpack buffer.
public struct MsgPackError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "msgpack: \(reason)" }
}

/// The deepest nesting accepted (Aerospike's own limit for comparisons is 256).
public let msgPackDepthMax = 256

/// Byte payloads of values: slices of the buffer they were decoded from (no copy).
public typealias Bytes = ArraySlice<UInt8>

/// A decoded msgpack value in Aerospike's dialect.
public enum Value: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    /// UTF-8 bytes, without the leading particle type byte.
    case string(Bytes)
    /// A blob: its particle type byte (4 = generic blob) and bytes.
    case blob(UInt8, Bytes)
    /// GeoJSON text.
    case geojson(Bytes)
    /// A list; `flags` from its leading ext element (0 when it has none).
    case list([Value], flags: UInt8)
    /// A map as its pairs in stored order; `flags` from its leading ext key (0 when none).
    case map([MapEntry], flags: UInt8)
    /// Range operand: compares equal to anything.
    case wildcard
    /// Range operand: above everything.
    case infinity
    /// Any other ext value (kept so that it round-trips).
    case ext(UInt8, Bytes)

    public static let particleTypeString: UInt8 = 3
    public static let particleTypeBlob: UInt8 = 4
    public static let particleTypeGeoJSON: UInt8 = 23

    public static func string(_ s: String) -> Value { .string(Bytes(s.utf8)) }
    public static func list(_ items: [Value]) -> Value { .list(items, flags: 0) }
}

public struct MapEntry: Sendable, Hashable {
    public var key: Value
    public var value: Value
    public init(_ key: Value, _ value: Value) {
        self.key = key
        self.value = value
    }
}

// MARK: - Reader

/// A bounds-checked cursor over msgpack bytes.
public struct MsgPackReader {
    public let bytes: [UInt8]
    public private(set) var offset: Int
    public let end: Int

    public init(_ bytes: [UInt8], offset: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        self.offset = offset
        self.end = end ?? bytes.count
    }

    public var isAtEnd: Bool { offset >= end }

    public func peek() throws(MsgPackError) -> UInt8 {
        guard offset < end else { throw MsgPackError("truncated") }
        return bytes[offset]
    }

    mutating func byte() throws(MsgPackError) -> UInt8 {
        guard offset < end else { throw MsgPackError("truncated") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func bigEndian(_ count: Int) throws(MsgPackError) -> UInt64 {
        guard count <= end - offset else { throw MsgPackError("truncated") }
        var v: UInt64 = 0
        for i in 0..<count { v = v << 8 | UInt64(bytes[offset + i]) }
        offset += count
        return v
    }

    mutating func take(_ count: Int) throws(MsgPackError) -> Bytes {
        guard count >= 0, count <= end - offset else { throw MsgPackError("truncated") }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    /// The element count of a list header at the cursor, or nil when it is not a list.
    public mutating func listHeader() throws(MsgPackError) -> Int? {
        let b = try peek()
        switch b {
        case 0x90...0x9f: offset += 1; return Int(b & 0x0f)
        case 0xdc: offset += 1; return Int(try bigEndian(2))
        case 0xdd: offset += 1; return Int(try bigEndian(4))
        default: return nil
        }
    }

    /// The pair count of a map header at the cursor, or nil when it is not a map.
    public mutating func mapHeader() throws(MsgPackError) -> Int? {
        let b = try peek()
        switch b {
        case 0x80...0x8f: offset += 1; return Int(b & 0x0f)
        case 0xde: offset += 1; return Int(try bigEndian(2))
        case 0xdf: offset += 1; return Int(try bigEndian(4))
        default: return nil
        }
    }

    /// Whether the cursor is on an ext value.
    public func atExt() -> Bool {
        guard offset < end else { return false }
        switch bytes[offset] {
        case 0xc7, 0xc8, 0xc9, 0xd4...0xd8: return true
        default: return false
        }
    }

    /// Skips one value, returning its byte range.
    public mutating func skip(depth: Int = 0) throws(MsgPackError) -> Range<Int> {
        let start = offset
        guard depth < msgPackDepthMax else { throw MsgPackError("nested deeper than \(msgPackDepthMax)") }
        let b = try byte()
        switch b {
        case 0x00...0x7f, 0xe0...0xff, 0xc0, 0xc2, 0xc3: break
        case 0x80...0x8f: for _ in 0..<(Int(b & 0x0f) * 2) { _ = try skip(depth: depth + 1) }
        case 0x90...0x9f: for _ in 0..<Int(b & 0x0f) { _ = try skip(depth: depth + 1) }
        case 0xa0...0xbf: _ = try advance(Int(b & 0x1f))
        case 0xcc, 0xd0: _ = try advance(1)
        case 0xcd, 0xd1: _ = try advance(2)
        case 0xca, 0xce, 0xd2: _ = try advance(4)
        case 0xcb, 0xcf, 0xd3: _ = try advance(8)
        case 0xc4, 0xd9: _ = try advance(Int(try bigEndian(1)))
        case 0xc5, 0xda: _ = try advance(Int(try bigEndian(2)))
        case 0xc6, 0xdb: _ = try advance(Int(try bigEndian(4)))
        case 0xd4: _ = try advance(2)
        case 0xd5: _ = try advance(3)
        case 0xd6: _ = try advance(5)
        case 0xd7: _ = try advance(9)
        case 0xd8: _ = try advance(17)
        case 0xc7: _ = try advance(1 + Int(try bigEndian(1)))
        case 0xc8: _ = try advance(1 + Int(try bigEndian(2)))
        case 0xc9: _ = try advance(1 + Int(try bigEndian(4)))
        case 0xdc: for _ in 0..<Int(try bigEndian(2)) { _ = try skip(depth: depth + 1) }
        case 0xdd:
            let n = Int(try bigEndian(4))
            guard n <= end - offset else { throw MsgPackError("list of \(n) elements in \(end - offset) bytes") }
            for _ in 0..<n { _ = try skip(depth: depth + 1) }
        case 0xde: for _ in 0..<(Int(try bigEndian(2)) * 2) { _ = try skip(depth: depth + 1) }
        case 0xdf:
            let n = Int(try bigEndian(4))
            guard n <= end - offset else { throw MsgPackError("map of \(n) pairs in \(end - offset) bytes") }
            for _ in 0..<(n * 2) { _ = try skip(depth: depth + 1) }
        default: throw MsgPackError("invalid byte 0x\(String(b, radix: 16))")
        }
        return start..<offset
    }

    private mutating func advance(_ n: Int) throws(MsgPackError) -> Int {
        guard n >= 0, n <= end - offset else { throw MsgPackError("truncated") }
        offset += n
        return n
    }

    /// Reads an ext value: (type, data).
    mutating func ext(_ b: UInt8) throws(MsgPackError) -> (UInt8, Bytes) {
        let size: Int
        switch b {
        case 0xd4: size = 1
        case 0xd5: size = 2
        case 0xd6: size = 4
        case 0xd7: size = 8
        case 0xd8: size = 16
        case 0xc7: size = Int(try bigEndian(1))
        case 0xc8: size = Int(try bigEndian(2))
        default: size = Int(try bigEndian(4))
        }
        let type = try byte()
        return (type, try take(size))
    }

    /// Decodes one value.
    public mutating func value(depth: Int = 0) throws(MsgPackError) -> Value {
        guard depth < msgPackDepthMax else { throw MsgPackError("nested deeper than \(msgPackDepthMax)") }
        let b = try byte()
        switch b {
        case 0x00...0x7f: return .int(Int64(b))
        case 0xe0...0xff: return .int(Int64(Int8(bitPattern: b)))
        case 0xc0: return .null
        case 0xc2: return .bool(false)
        case 0xc3: return .bool(true)
        case 0xcc: return .int(Int64(try bigEndian(1)))
        case 0xcd: return .int(Int64(try bigEndian(2)))
        case 0xce: return .int(Int64(try bigEndian(4)))
        case 0xcf: return .int(Int64(bitPattern: try bigEndian(8)))
        case 0xd0: return .int(Int64(Int8(truncatingIfNeeded: try bigEndian(1))))
        case 0xd1: return .int(Int64(Int16(truncatingIfNeeded: try bigEndian(2))))
        case 0xd2: return .int(Int64(Int32(truncatingIfNeeded: try bigEndian(4))))
        case 0xd3: return .int(Int64(bitPattern: try bigEndian(8)))
        case 0xca: return .double(Double(Float(bitPattern: UInt32(try bigEndian(4)))))
        case 0xcb: return .double(Double(bitPattern: try bigEndian(8)))
        case 0xa0...0xbf: return try blob(Int(b & 0x1f))
        case 0xc4, 0xd9: return try blob(Int(try bigEndian(1)))
        case 0xc5, 0xda: return try blob(Int(try bigEndian(2)))
        case 0xc6, 0xdb: return try blob(Int(try bigEndian(4)))
        case 0x90...0x9f: return try list(Int(b & 0x0f), depth: depth)
        case 0xdc: return try list(Int(try bigEndian(2)), depth: depth)
        case 0xdd: return try list(Int(try bigEndian(4)), depth: depth)
        case 0x80...0x8f: return try map(Int(b & 0x0f), depth: depth)
        case 0xde: return try map(Int(try bigEndian(2)), depth: depth)
        case 0xdf: return try map(Int(try bigEndian(4)), depth: depth)
        case 0xc7, 0xc8, 0xc9, 0xd4...0xd8:
            let (type, data) = try ext(b)
            if type == 0xff && data.count == 1 {
                if data.first == 0 { return .wildcard }
                if data.first == 1 { return .infinity }
            }
            return .ext(type, data)
        default:
            throw MsgPackError("invalid byte 0x\(String(b, radix: 16))")
        }
    }

    private mutating func blob(_ n: Int) throws(MsgPackError) -> Value {
        guard n > 0 else { return .blob(Value.particleTypeBlob, []) }
        let type = try byte()
        let data = try take(n - 1)
        switch type {
        case Value.particleTypeString: return .string(data)
        case Value.particleTypeGeoJSON: return .geojson(data)
        default: return .blob(type, data)
        }
    }

    private mutating func list(_ n: Int, depth: Int) throws(MsgPackError) -> Value {
        guard n <= end - offset else { throw MsgPackError("list of \(n) elements in \(end - offset) bytes") }
        var count = n
        var flags: UInt8 = 0
        if count > 0 && atExt() {
            let (type, _) = try ext(try byte())
            flags = type
            count -= 1
        }
        var items: [Value] = []
        items.reserveCapacity(count)
        for _ in 0..<count { items.append(try value(depth: depth + 1)) }
        return .list(items, flags: flags)
    }

    private mutating func map(_ n: Int, depth: Int) throws(MsgPackError) -> Value {
        guard n <= end - offset else { throw MsgPackError("map of \(n) pairs in \(end - offset) bytes") }
        var count = n
        var flags: UInt8 = 0
        if count > 0 && atExt() {
            let (type, _) = try ext(try byte())
            flags = type
            _ = try value(depth: depth + 1)  // the nil value of the flags key
            count -= 1
        }
        var entries: [MapEntry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let k = try value(depth: depth + 1)
            let v = try value(depth: depth + 1)
            entries.append(MapEntry(k, v))
        }
        return .map(entries, flags: flags)
    }
}

extension Value {
    /// Decodes exactly one value filling `bytes`.
    public static func decode(_ bytes: [UInt8]) throws(MsgPackError) -> Value {
        var r = MsgPackReader(bytes)
        let v = try r.value()
        guard r.isAtEnd else { throw MsgPackError("\(r.end - r.offset) bytes after the value") }
        return v
    }

    /// The canonical encoding (what Aerospike's packer writes).
    public var encoded: [UInt8] {
        var w = MsgPackWriter(capacity: encodedSizeEstimate)
        w.write(self)
        return w.bytes
    }

    /// A cheap upper-bound-ish guess of the encoded size, to allocate the buffer once.
    var encodedSizeEstimate: Int {
        switch self {
        case .list(let items, _): return 8 + items.count * 10
        case .map(let entries, _): return 8 + entries.count * 20
        case .string(let b), .geojson(let b), .blob(_, let b): return 6 + b.count
        default: return 10
        }
    }
}

// MARK: - Writer

/// Writes msgpack the way Aerospike's packer does: the smallest header for each size,
/// unsigned forms for non-negative integers, `str` headers for strings and blobs.
public struct MsgPackWriter: Sendable {
    public var bytes: [UInt8] = []

    public init() {}

    public init(capacity: Int) { bytes.reserveCapacity(capacity) }

    mutating func typed(_ type: UInt8, _ v: UInt64, _ width: Int) {
        bytes.append(type)
        for i in stride(from: width - 1, through: 0, by: -1) { bytes.append(UInt8(truncatingIfNeeded: v >> (UInt64(i) * 8))) }
    }

    public mutating func writeInt(_ v: Int64) {
        if v >= 0 {
            let u = UInt64(v)
            if u < 128 { bytes.append(UInt8(u)) } else if u < 256 { typed(0xcc, u, 1) } else if u < 65536 { typed(0xcd, u, 2) } else if u < (1 << 32) { typed(0xce, u, 4) } else { typed(0xcf, u, 8) }
        } else if v >= -32 {
            bytes.append(UInt8(bitPattern: Int8(v)))
        } else if v >= -128 {
            typed(0xd0, UInt64(bitPattern: v), 1)
        } else if v >= -32768 {
            typed(0xd1, UInt64(bitPattern: v), 2)
        } else if v >= -(1 << 31) {
            typed(0xd2, UInt64(bitPattern: v), 4)
        } else {
            typed(0xd3, UInt64(bitPattern: v), 8)
        }
    }

    public mutating func writeListHeader(_ n: Int) {
        if n < 16 { bytes.append(0x90 | UInt8(n)) } else if n < 65536 { typed(0xdc, UInt64(n), 2) } else { typed(0xdd, UInt64(n), 4) }
    }

    public mutating func writeMapHeader(_ n: Int) {
        if n < 16 { bytes.append(0x80 | UInt8(n)) } else if n < 65536 { typed(0xde, UInt64(n), 2) } else { typed(0xdf, UInt64(n), 4) }
    }

    /// The flags element of an ordered list or map: ext of no content, type = flags.
    public mutating func writeFlagsExt(_ flags: UInt8) {
        bytes.append(0xc7)
        bytes.append(0)
        bytes.append(flags)
    }

    mutating func writeStrHeader(_ n: Int) {
        if n < 32 { bytes.append(0xa0 | UInt8(n)) } else if n < 256 { typed(0xd9, UInt64(n), 1) } else if n < 65536 { typed(0xda, UInt64(n), 2) } else { typed(0xdb, UInt64(n), 4) }
    }

    mutating func writeTyped(_ type: UInt8, _ data: Bytes) {
        writeStrHeader(data.count + 1)
        bytes.append(type)
        bytes.append(contentsOf: data)
    }

    public mutating func write(_ v: Value) {
        switch v {
        case .null: bytes.append(0xc0)
        case .bool(let b): bytes.append(b ? 0xc3 : 0xc2)
        case .int(let i): writeInt(i)
        case .double(let d): typed(0xcb, d.bitPattern, 8)
        case .string(let s): writeTyped(Value.particleTypeString, s)
        case .blob(let t, let d): writeTyped(t, d)
        case .geojson(let g): writeTyped(Value.particleTypeGeoJSON, g)
        case .list(let items, let flags):
            if flags != 0 {
                writeListHeader(items.count + 1)
                writeFlagsExt(flags)
            } else {
                writeListHeader(items.count)
            }
            for item in items { write(item) }
        case .map(let entries, let flags):
            if flags != 0 {
                writeMapHeader(entries.count + 1)
                writeFlagsExt(flags)
                bytes.append(0xc0)
            } else {
                writeMapHeader(entries.count)
            }
            for e in entries {
                write(e.key)
                write(e.value)
            }
        case .wildcard: bytes.append(contentsOf: [0xd4, 0xff, 0x00])
        case .infinity: bytes.append(contentsOf: [0xd4, 0xff, 0x01])
        case .ext(let t, let d):
            switch d.count {
            case 1: bytes.append(0xd4)
            case 2: bytes.append(0xd5)
            case 4: bytes.append(0xd6)
            case 8: bytes.append(0xd7)
            case 16: bytes.append(0xd8)
            default:
                if d.count < 256 { typed(0xc7, UInt64(d.count), 1) } else if d.count < 65536 { typed(0xc8, UInt64(d.count), 2) } else { typed(0xc9, UInt64(d.count), 4) }
            }
            bytes.append(t)
            bytes.append(contentsOf: d)
        }
    }
}
