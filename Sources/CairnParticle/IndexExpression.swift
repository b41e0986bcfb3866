/// The expression of an expression index (`sindex-create ... exp=BASE64`), checked as Aerospike
/// 8.1's `sindex-create` checks it before anything is created: the expression must build (as
/// ``Expression/decode(_:)`` checks a filter), must read no metadata but the digest (no
/// `last_update`, `ttl`, `set_name`, `key_exists`, `record_size`, ...), must not read the
/// record's key, and must read a bin (a bin or `bin_type`) or the digest (`digest_modulo`).
/// Its result type is what the index's type is compared with.
public enum IndexExpression {
    /// The expression's result type, as `sindex-create` names it (`numeric`, `string`, `blob`,
    /// `geo2dsphere`, `bool`, `float`, `list`, `map`, `hll`, `null`); nil where Cairn does not
    /// infer it before running (a variable of such a definition, arithmetic on one), which is
    /// then not compared.
    public struct Checked: Sendable, Equatable {
        public var resultType: String?
    }

    /// Why an expression cannot index anything (`ERROR:4:bad 'exp'`).
    public enum Problem: Error, Sendable, Equatable {
        /// Not msgpack, or an expression that does not build.
        case doesNotBuild
        /// Reads metadata other than the digest.
        case readsMetadata
        /// Reads the record's key.
        case readsKey
        /// Reads neither a bin nor the digest.
        case readsNoBinOrDigest
    }

    private static let nonDigestMetadata: Set<Int64> = [65, 66, 67, 68, 69, 70, 71, 72, 73, 74]

    public static func check(_ bytes: [UInt8]) throws(Problem) -> Checked {
        // Decoded and checked as a filter is, collecting every op the builder builds (not inside
        // a quoted list, nor inside a path select's context or apply, built when the call runs).
        var ops = Set<Int64>()
        let node: Value
        do {
            node = try Value.decode(bytes)
            try Expression.check(node) { ops.insert($0) }
        } catch {
            throw .doesNotBuild
        }
        if !ops.isDisjoint(with: nonDigestMetadata) { throw .readsMetadata }
        if ops.contains(80) { throw .readsKey }
        if ops.isDisjoint(with: [64, 81, 82]) { throw .readsNoBinOrDigest }
        return Checked(resultType: resultType(node).map(typeName))
    }

    /// The root's type as the builder gives it: ``Expression/staticType(_:_:)``, and where it
    /// infers none, `unknown` (op 0) is a boolean and `remove_result` (op 100) nil, as in
    /// Aerospike's op table.
    private static func resultType(_ node: Value) -> Int64? {
        if let t = Expression.staticType(node) { return t }
        switch node {
        case .list([.int(0)], _): return ExpressionType.bool.rawValue
        case .list([.int(100)], _): return ExpressionType.nil_.rawValue
        default: return nil
        }
    }

    /// `AS_EXP_TYPE_*` as Aerospike names the particle type it maps to (`sindex_particle_type_str`).
    /// Aerospike cannot name the nil type (it asserts); Cairn says `null`, its particle name.
    private static func typeName(_ type: Int64) -> String {
        switch ExpressionType(rawValue: type) {
        case .nil_, nil: "null"
        case .bool: "bool"
        case .int: "numeric"
        case .string: "string"
        case .list: "list"
        case .map: "map"
        case .blob: "blob"
        case .float: "float"
        case .geojson: "geo2dsphere"
        case .hll: "hll"
        }
    }
}
