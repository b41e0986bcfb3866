import Foundation
import Synchronization

/// The secondary-index definitions of one namespace (`sindex-create`, `sindex-delete`,
/// `sindex-list`, `sindex-stat`), as Aerospike's sindex module keeps them.
///
/// Cairn keeps no index structure: a query naming an index is answered by walking the primary
/// index and testing each record against the query's range (see docs/data-model.md,
/// "Secondary indexes"). An index is therefore always complete (`load_pct=100`, state RW) the
/// moment it is created, and the write path does no extra work for it. Once ``persist(to:)`` names
/// a file (cairnd: `<work-directory>/sindex-<namespace>.json`), every change is written there
/// (a temporary file renamed over it) and the definitions come back on the next start, as
/// Aerospike keeps them in its system metadata.
public final class SecondaryIndexCatalog: Sendable {
    /// Aerospike's limit on definitions per namespace (`MAX_N_SINDEXES`).
    public static let countMax = 256
    /// Longest index name (Aerospike's `INAME_MAX_SZ` less the terminator).
    public static let nameBytesMax = 63

    /// What is indexed in the bin: the value itself, a list's elements, a map's keys or values;
    /// or, for a set index (`indextype=SET`, no bin), the set's records.
    public enum Collection: String, Sendable, CaseIterable, Codable {
        case `default`, list, mapkeys, mapvalues, set

        /// The query field INDEX_TYPE's byte.
        public init?(wireByte: UInt8) {
            switch wireByte {
            case 0: self = .default
            case 1: self = .list
            case 2: self = .mapkeys
            case 3: self = .mapvalues
            default: return nil
            }
        }
    }

    /// The type of the indexed values (other types in the bin are not indexed).
    public enum KeyType: String, Sendable, CaseIterable, Codable {
        case numeric, string, blob, geo2dsphere
    }

    public struct Definition: Sendable, Equatable, Codable {
        public var name: String
        public var setName: String?
        public var binName: String?
        public var keyType: KeyType
        public var collection: Collection
        /// The CDT context as the client sent it (base64 of msgpack), nil for none.
        public var contextBase64: String?
        /// An expression index's expression (base64), nil for a bin index.
        public var expressionBase64: String?

        public init(name: String, setName: String?, binName: String?, keyType: KeyType, collection: Collection,
                    contextBase64: String? = nil, expressionBase64: String? = nil) {
            self.name = name
            self.setName = setName
            self.binName = binName
            self.keyType = keyType
            self.collection = collection
            self.contextBase64 = contextBase64
            self.expressionBase64 = expressionBase64
        }

        /// The context's msgpack bytes (nil for none, or base64 that does not decode).
        public var contextBytes: [UInt8]? {
            contextBase64.flatMap { Data(base64Encoded: $0) }.map { Array($0) }
        }

        /// The expression's msgpack bytes (nil for a bin index, or base64 that does not decode).
        public var expressionBytes: [UInt8]? {
            expressionBase64.flatMap { Data(base64Encoded: $0) }.map { Array($0) }
        }

        /// Same indexed data under whatever name.
        func sameTarget(as other: Definition) -> Bool {
            setName == other.setName && binName == other.binName && keyType == other.keyType
                && collection == other.collection && contextBase64 == other.contextBase64
                && expressionBase64 == other.expressionBase64
        }
    }

    public enum CreateOutcome: Sendable, Equatable {
        case created
        /// The same name with the same definition: Aerospike answers ok.
        case alreadyExists
        /// The same name with another definition (Aerospike's 200, INDEX_FOUND).
        case nameTakenByOtherDefinition
        /// Another name with the same definition: Aerospike renames the index.
        case renamed(from: String)
        /// `countMax` definitions already (206, INDEX_MAXCOUNT).
        case full
        /// The file could not be written: nothing changed.
        case notPersisted(String)
    }

    /// The definitions file could not be read or written.
    public struct PersistError: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    private struct State {
        var list: [Definition] = []
        var file: String?
    }

    private let state = Mutex(State())

    public init() {}

    /// Loads the definitions kept in `path` (none when it does not exist) and writes every later
    /// change there. A file that is not a definitions list is an error (nothing is loaded).
    public func persist(to path: String) throws(PersistError) {
        var loaded: [Definition] = []
        if FileManager.default.fileExists(atPath: path) {
            do {
                loaded = try JSONDecoder().decode([Definition].self, from: Data(contentsOf: URL(fileURLWithPath: path)))
            } catch {
                throw PersistError(description: "secondary-index definitions \(path) unreadable: \(error)")
            }
        }
        state.withLock { s in
            s.list = loaded
            s.file = path
        }
    }

    /// Writes `list` to the file, if there is one.
    private static func write(_ list: [Definition], to file: String?) throws(PersistError) {
        guard let file else { return }
        do {
            let directory = (file as NSString).deletingLastPathComponent
            if !directory.isEmpty {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(list).write(to: URL(fileURLWithPath: file), options: .atomic)
        } catch {
            throw PersistError(description: "secondary-index definitions \(file) not written: \(error)")
        }
    }

    /// Adds `definition`, with Aerospike's rules for names and duplicate definitions.
    public func create(_ definition: Definition) -> CreateOutcome {
        state.withLock { s in
            var list = s.list
            let outcome: CreateOutcome
            if let existing = list.firstIndex(where: { $0.name == definition.name }) {
                return list[existing] == definition ? .alreadyExists : .nameTakenByOtherDefinition
            }
            if let same = list.firstIndex(where: { $0.sameTarget(as: definition) }) {
                let old = list[same].name
                list[same].name = definition.name
                outcome = .renamed(from: old)
            } else {
                // Set indexes do not count toward the limit (as Aerospike).
                guard definition.collection == .set || list.filter({ $0.collection != .set }).count < Self.countMax else {
                    return .full
                }
                list.append(definition)
                outcome = .created
            }
            do throws(PersistError) {
                try Self.write(list, to: s.file)
            } catch {
                return .notPersisted(error.description)
            }
            s.list = list
            return outcome
        }
    }

    /// Removes the index called `name`; false when there is none (Aerospike answers ok anyway).
    /// When the file cannot be written the index stays.
    @discardableResult
    public func delete(name: String) throws(PersistError) -> Bool {
        try state.withLock { s throws(PersistError) -> Bool in
            guard let at = s.list.firstIndex(where: { $0.name == name }) else { return false }
            var list = s.list
            list.remove(at: at)
            try Self.write(list, to: s.file)
            s.list = list
            return true
        }
    }

    public func definition(named name: String) -> Definition? {
        state.withLock { s in s.list.first { $0.name == name } }
    }

    /// Every definition, in creation order.
    public var all: [Definition] {
        state.withLock { $0.list }
    }

    public var count: Int {
        state.withLock { $0.list.count }
    }

    /// The index a query without an index name uses, as Aerospike's `as_sindex_lookup_by_defn`
    /// finds it: the one on `binName` (empty for an expression index) with that collection type,
    /// value type, context bytes and expression bytes (nil: none; compared byte for byte); an
    /// index on the query's set or, failing that, one without a set.
    public func find(binName: String, setName: String?, collection: Collection, keyType: KeyType,
                     context: [UInt8]? = nil, expression: [UInt8]? = nil) -> Definition? {
        state.withLock { s in
            let candidates = s.list.filter {
                ($0.binName ?? "") == binName && $0.collection == collection && $0.keyType == keyType
                    && $0.contextBytes == context && $0.expressionBytes == expression
            }
            return candidates.first { $0.setName == setName } ?? candidates.first { $0.setName == nil }
        }
    }
}
