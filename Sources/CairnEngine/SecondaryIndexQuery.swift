import CairnParticle
import CairnStorage

/// The `where` of a secondary-index query (the INDEX_RANGE field), tested against a record's
/// bins as the index would have found it: Cairn answers such a query by walking the primary
/// index (``SecondaryIndexCatalog``), so a record is returned when its bin holds a value of the
/// index's type inside the range — the bin's own value (`default`), an element of a list bin
/// (`list`), a key or a value of a map bin (`mapkeys`, `mapvalues`). Values of other types are
/// not indexed and never match; a record is returned once however many of its values match.
public struct SecondaryIndexPredicate: Sendable, Equatable {
    public enum Range: Sendable, Equatable {
        /// Integers from `lower` to `upper`, both included.
        case integers(Int64, Int64)
        /// One string (UTF-8 bytes).
        case string([UInt8])
        /// One generic blob.
        case blob([UInt8])

        public var keyType: SecondaryIndexCatalog.KeyType {
            switch self {
            case .integers: .numeric
            case .string: .string
            case .blob: .blob
            }
        }
    }

    public var binName: String
    public var range: Range
    public var collection: SecondaryIndexCatalog.Collection

    public init(binName: String, range: Range, collection: SecondaryIndexCatalog.Collection) {
        self.binName = binName
        self.range = range
        self.collection = collection
    }

    /// Why an INDEX_RANGE field cannot be answered: `isUnsupported` for a geo query (16),
    /// otherwise a malformed field (4).
    public struct Problem: Error, Sendable, Equatable {
        public var message: String
        public var isUnsupported: Bool
    }

    /// Decodes an INDEX_RANGE field: a filter count (1), the bin name (1-byte length), the
    /// particle type, then begin and end values each with a 4-byte big-endian length.
    public static func decode(indexRange bytes: [UInt8], collection: SecondaryIndexCatalog.Collection) throws(Problem)
        -> SecondaryIndexPredicate
    {
        var at = 0
        func take(_ n: Int) throws(Problem) -> ArraySlice<UInt8> {
            guard n >= 0, bytes.count - at >= n else { throw Problem(message: "index range truncated", isUnsupported: false) }
            defer { at += n }
            return bytes[at..<at + n]
        }
        func length() throws(Problem) -> Int {
            try take(4).reduce(0) { $0 << 8 | Int($1) }
        }
        guard try take(1).first == 1 else { throw Problem(message: "index range must hold one filter", isUnsupported: false) }
        let nameBytes = try take(Int(try take(1).first!))
        guard !nameBytes.isEmpty, let binName = String(validating: nameBytes, as: UTF8.self) else {
            throw Problem(message: "index range bin name is empty or not UTF-8", isUnsupported: false)
        }
        let particleType = try take(1).first!
        let begin = Array(try take(try length()))
        let end = Array(try take(try length()))
        guard at == bytes.count else { throw Problem(message: "bytes after the index range", isUnsupported: false) }
        let range: Range
        switch particleType {
        case ParticleType.integer.rawValue:
            guard begin.count == 8, end.count == 8 else {
                throw Problem(message: "integer range values must be 8 bytes", isUnsupported: false)
            }
            range = .integers(Self.int64(begin), Self.int64(end))
        case ParticleType.string.rawValue:
            guard begin == end else { throw Problem(message: "a string query is an equality", isUnsupported: false) }
            range = .string(begin)
        case ParticleType.blob.rawValue:
            guard begin == end else { throw Problem(message: "a blob query is an equality", isUnsupported: false) }
            range = .blob(begin)
        case ParticleType.geoJSON.rawValue:
            throw Problem(message: "geospatial queries are not supported", isUnsupported: true)
        default:
            throw Problem(message: "index range of particle type \(particleType)", isUnsupported: false)
        }
        return SecondaryIndexPredicate(binName: binName, range: range, collection: collection)
    }

    private static func int64(_ bytes: [UInt8]) -> Int64 {
        Int64(bitPattern: bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }

    /// Whether the record with `bins` would be found through the index.
    public func matches(_ bins: [StoredBin]) -> Bool {
        guard let bin = bins.first(where: { $0.name == binName }) else { return false }
        switch collection {
        case .default:
            switch (range, bin.particleType) {
            case (.integers(let lower, let upper), .integer):
                guard bin.bytes.count == 8 else { return false }
                let v = Self.int64(bin.bytes)
                return lower <= v && v <= upper
            case (.string(let s), .string): return bin.bytes == s
            case (.blob(let b), .blob): return bin.bytes == b
            default: return false
            }
        case .list:
            guard bin.particleType == .list, case .list(let items, _)? = try? CairnParticle.Value.decode(bin.bytes) else { return false }
            return items.contains(where: matches)
        case .mapkeys, .mapvalues:
            guard bin.particleType == .map, case .map(let entries, _)? = try? CairnParticle.Value.decode(bin.bytes) else { return false }
            return entries.contains { matches(collection == .mapkeys ? $0.key : $0.value) }
        }
    }

    /// Whether one collection element is an indexed value inside the range.
    private func matches(_ value: CairnParticle.Value) -> Bool {
        switch (range, value) {
        case (.integers(let lower, let upper), .int(let v)): lower <= v && v <= upper
        case (.string(let s), .string(let v)): v.elementsEqual(s)
        case (.blob(let b), .blob(ParticleType.blob.rawValue, let v)): v.elementsEqual(b)
        default: false
        }
    }
}
