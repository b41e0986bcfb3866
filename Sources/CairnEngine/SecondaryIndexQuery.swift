import CairnIndex
import CairnParticle
import CairnStorage

/// The `where` of a secondary-index query (the INDEX_RANGE field), tested against a record's
/// bins as the index would have found it: Cairn answers such a query by walking the primary
/// index (``SecondaryIndexCatalog``), so a record is returned when its bin holds a value of the
/// index's type inside the range — the bin's own value (`default`), an element of a list bin
/// (`list`), a key or a value of a map bin (`mapkeys`, `mapvalues`); for GeoJSON, points inside
/// the query's region or regions containing its point. Values of other types are
/// not indexed and never match; a record that matches is returned once, or for a geo query on a
/// collection index once per matching value (``matchCount``).
///
/// A context index (``context``) indexes what its CDT context reaches in the bin (a list or
/// map bin; nothing when the context reaches nothing); an expression index (``expression``)
/// indexes what the expression evaluates to on the record (nothing when it is unknown). What
/// is reached is then indexed as a bin's value would be, by the index's collection type.
public struct SecondaryIndexPredicate: Sendable, Equatable {
    public enum Range: Sendable, Equatable {
        /// Integers from `lower` to `upper`, both included.
        case integers(Int64, Int64)
        /// One string (UTF-8 bytes).
        case string([UInt8])
        /// One generic blob.
        case blob([UInt8])
        /// GeoJSON: points inside a region, or regions containing a point (GeoShape.matches).
        case geo(GeoShape)

        public var keyType: SecondaryIndexCatalog.KeyType {
            switch self {
            case .integers: .numeric
            case .string: .string
            case .blob: .blob
            case .geo: .geo2dsphere
            }
        }
    }

    /// The indexed bin; empty for an expression index (and, before the index is found, for a
    /// query that names its index or sends its expression).
    public var binName: String
    public var range: Range
    public var collection: SecondaryIndexCatalog.Collection
    /// A context index's context, applied to the bin's list or map.
    public var context: [CDTContextItem]?
    /// An expression index's expression, evaluated on the record.
    public var expression: CairnParticle.Value?
    /// The index's value type when it differs from the range's (a query naming an index of
    /// another type than its range): nothing matches.
    public var indexKeyType: SecondaryIndexCatalog.KeyType?
    /// The index's stored context or expression does not decode: nothing matches.
    public var matchesNothing = false
    /// The name of the index the query uses, once found (``using(_:)``).
    public var indexName: String?

    public init(binName: String, range: Range, collection: SecondaryIndexCatalog.Collection,
                context: [CDTContextItem]? = nil, expression: CairnParticle.Value? = nil) {
        self.binName = binName
        self.range = range
        self.collection = collection
        self.context = context
        self.expression = expression
    }

    /// The predicate of `definition` (found by name, by its context or by its expression) with
    /// this query's range. A stored context or expression that no longer decodes matches
    /// nothing.
    public func using(_ definition: SecondaryIndexCatalog.Definition) -> SecondaryIndexPredicate {
        var p = SecondaryIndexPredicate(binName: definition.binName ?? "", range: range, collection: definition.collection)
        p.indexName = definition.name
        if definition.keyType != range.keyType { p.indexKeyType = definition.keyType }
        if let bytes = definition.contextBytes {
            if let items = try? IndexContext.parse(bytes) { p.context = items } else { p.matchesNothing = true }
        }
        if let bytes = definition.expressionBytes {
            if let node = try? Expression.decode(bytes) { p.expression = node } else { p.matchesNothing = true }
        }
        return p
    }

    /// Why an INDEX_RANGE field cannot be answered: `isUnsupported` (16), otherwise a malformed
    /// field (4).
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
        // An empty bin name: the query names its index (INDEX_NAME) or sends its expression.
        let nameBytes = try take(Int(try take(1).first!))
        guard nameBytes.count < 16, let binName = String(validating: nameBytes, as: UTF8.self) else {
            throw Problem(message: "index range bin name is too long or not UTF-8", isUnsupported: false)
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
            do throws(GeoShape.Problem) {
                range = .geo(try GeoShape.parse(begin))
            } catch {
                throw Problem(message: "GeoJSON query: \(error.reason)", isUnsupported: false)
            }
        default:
            throw Problem(message: "index range of particle type \(particleType)", isUnsupported: false)
        }
        return SecondaryIndexPredicate(binName: binName, range: range, collection: collection)
    }

    /// A stored GeoJSON value (bin particle or collection element) against the query's shape;
    /// a value that does not parse is not indexed.
    private static func geoMatches(_ value: [UInt8], _ query: GeoShape) -> Bool {
        guard let candidate = try? GeoShape.parse(value) else { return false }
        return GeoShape.matches(candidate: candidate, query: query)
    }

    private static func int64(_ bytes: [UInt8]) -> Int64 {
        Int64(bitPattern: bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }

    /// Whether the record with `bins` would be found through the index (a bin or context
    /// index; an expression index needs the whole record, ``matchCount(_:digest:nowMs:storage:)``).
    public func matches(_ bins: [StoredBin]) -> Bool {
        matchCount(bins) > 0
    }

    /// How many times the query returns the record with `bins`: 0 when the index would not find
    /// it, else 1 (a collection index's several entries for one record are de-duplicated), or
    /// for a geo query on a collection index the number of distinct matching values. An
    /// expression index finds nothing here (it needs the record's metadata too).
    public func matchCount(_ bins: [StoredBin]) -> Int {
        guard expression == nil, let bin = bins.first(where: { $0.name == binName }) else { return 0 }
        return byteMatchCount(bin) ?? decodedMatchCount(bin)
    }

    /// The cheap case, on the stored bytes without decoding a value: a bin index of the
    /// default type (no context) whose bin is an integer, a string or a blob. Nil otherwise
    /// (``decodedMatchCount(_:)`` answers those); where both answer, they agree.
    func byteMatchCount(_ bin: StoredBin) -> Int? {
        guard collection == .default, context == nil, !matchesNothing, indexKeyType == nil || indexKeyType == range.keyType else {
            return nil
        }
        switch (range, bin.particleType) {
        case (.integers(let lower, let upper), .integer):
            guard bin.bytes.count == 8 else { return 0 }
            let v = Self.int64(bin.bytes)
            return lower <= v && v <= upper ? 1 : 0
        case (.string(let s), .string): return bin.bytes == s ? 1 : 0
        case (.blob(let b), .blob): return bin.bytes == b ? 1 : 0
        case (_, .integer), (_, .string), (_, .blob): return 0  // a value of another type than the range's
        default: return nil
        }
    }

    /// Any bin index: the bin decoded into a value, then what its context reaches, indexed by
    /// the index's collection type.
    func decodedMatchCount(_ bin: StoredBin) -> Int {
        guard let value = ExpressionRecord.Bin(name: bin.name, particleType: bin.particleType.rawValue, bytes: bin.bytes).value else {
            return 0
        }
        if let context {
            guard let reached = IndexContext.resolve(value, context) else { return 0 }
            return matchCount(indexing: reached)
        }
        return matchCount(indexing: value)
    }

    /// How many times the index would find `record`: for an expression index, by the value the
    /// expression gives on the record (unknown, or an evaluation error, indexes nothing).
    public func matchCount(_ record: EngineRecord, digest: Digest, nowMs: UInt64 = CitrusleafTime.nowMs(),
                           storage: ExpressionRecord.Storage = .device) -> Int {
        matchCount(record.bins, RecordScope(setName: record.setName, userKey: record.userKey, digest: digest,
                                            lastUpdateMs: record.lastUpdateMs, voidTime: record.voidTime, nowMs: nowMs,
                                            storage: storage))
    }

    /// ``matchCount(_:digest:nowMs:storage:)`` of a stored record (the write path's copy).
    func matchCount(_ record: StoredRecord, digest: Digest, nowMs: UInt64, storage: ExpressionRecord.Storage) -> Int {
        matchCount(record.bins, RecordScope(setName: record.setName, userKey: record.userKey, digest: digest,
                                            lastUpdateMs: record.lastUpdateMs, voidTime: record.voidTime, nowMs: nowMs,
                                            storage: storage))
    }

    private func matchCount(_ bins: [StoredBin], _ scope: RecordScope) -> Int {
        guard let expression else { return matchCount(bins) }
        guard case .known(let value)? = try? Expression.evaluate(expression, scope.record(bins)) else { return 0 }
        return matchCount(indexing: value)
    }

    /// The entries an index of this collection type makes of `value` that the range takes.
    private func matchCount(indexing value: CairnParticle.Value) -> Int {
        if matchesNothing { return 0 }
        if let indexKeyType, indexKeyType != range.keyType { return 0 }
        switch collection {
        case .default:
            return matches(value) ? 1 : 0
        // A collection index holds one entry per distinct value of the record. An equality
        // takes one value; an integer range is de-duplicated (Aerospike's `de_dup`, set for a
        // range on any index type but the default; it covers one burst of 100 index entries of
        // a partition, so on large partitions Aerospike can still return a record twice; Cairn
        // never does). A geo query is not: Aerospike runs it as one range per S2 cell and
        // de-duplicates only within each, so a record comes back once per matching value (the
        // C client's suite expects those duplicates).
        case .list:
            guard case .list(let items, _) = value else { return 0 }
            if case .geo = range { return Set(items.filter(matches)).count }
            return items.contains(where: matches) ? 1 : 0
        case .mapkeys, .mapvalues:
            guard case .map(let entries, _) = value else { return 0 }
            let keys = collection == .mapkeys
            if case .geo = range { return Set(entries.map { keys ? $0.key : $0.value }.filter(matches)).count }
            return entries.contains { matches(keys ? $0.key : $0.value) } ? 1 : 0
        case .set:
            return 0
        }
    }

    /// Whether one value (a bin's own, a collection element, what a context or an expression
    /// reaches) is an indexed value inside the range.
    private func matches(_ value: CairnParticle.Value) -> Bool {
        switch (range, value) {
        case (.integers(let lower, let upper), .int(let v)): lower <= v && v <= upper
        case (.string(let s), .string(let v)): v.elementsEqual(s)
        case (.blob(let b), .blob(ParticleType.blob.rawValue, let v)): v.elementsEqual(b)
        case (.geo(let query), .geojson(let v)): Self.geoMatches(Array(v), query)
        default: false
        }
    }
}
