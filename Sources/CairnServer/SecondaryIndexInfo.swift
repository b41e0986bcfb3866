import CairnEngine
import CairnParticle
import CairnWire

/// The secondary-index info commands: `sindex-create`, `sindex-delete`, `sindex-exists`,
/// `sindex-list`, `sindex-stat` and the deprecated `sindex[/ns[/name]]`, with Aerospike 8.1's
/// parameters, checks, messages and answers (docs/compatibility.md). Definitions are kept in
/// the namespace's ``SecondaryIndexCatalog``.
struct SecondaryIndexInfo {
    let context: ServerContext

    typealias Catalog = SecondaryIndexCatalog

    /// A parameter read as Aerospike's `as_info_*_param_is_ok` read it: absent, present with a
    /// value, or an error answer already made (empty value, value too long).
    private enum Parameter {
        case absent
        case value(String)
        case answered(String)
    }

    private func parameter(_ command: InfoCommand, _ keys: [String], named name: String, bytesMax: Int) -> Parameter {
        guard let value = keys.lazy.compactMap({ command.parameter($0) }).first else { return .absent }
        let code: ResultCode = name == "namespace" ? .namespaceNotFound : .parameter
        if value.isEmpty { return .answered(InfoReply.errorValue(code, message: "missing '\(name)' value")) }
        if value.utf8.count > bytesMax { return .answered(InfoReply.errorValue(code, message: "'\(name)' value too long")) }
        return .value(value)
    }

    /// A required parameter: its value, or the error answer.
    private func required(_ command: InfoCommand, _ keys: [String], named name: String, bytesMax: Int) -> Result<String, Answer> {
        switch parameter(command, keys, named: name, bytesMax: bytesMax) {
        case .value(let v): return .success(v)
        case .answered(let answer): return .failure(Answer(answer))
        case .absent:
            let code: ResultCode = name == "namespace" ? .namespaceNotFound : .parameter
            return .failure(Answer(InfoReply.errorValue(code, message: "missing '\(name)'")))
        }
    }

    /// An optional parameter: nil when absent, or the error answer.
    private func optional(_ command: InfoCommand, _ keys: [String], named name: String, bytesMax: Int) -> Result<String?, Answer> {
        switch parameter(command, keys, named: name, bytesMax: bytesMax) {
        case .value(let v): return .success(v)
        case .absent: return .success(nil)
        case .answered(let answer): return .failure(Answer(answer))
        }
    }

    struct Answer: Error {
        var text: String
        init(_ text: String) { self.text = text }
    }

    static let namespaceKeys = ["namespace", "ns"]
    static let namespaceBytesMax = 31
    static let setBytesMax = 63
    static let binBytesMax = 15
    static let base64BytesMax = 4096

    private static func parameterError(_ message: String) -> Answer {
        Answer(InfoReply.errorValue(.parameter, message: message))
    }

    // MARK: - sindex-create

    func create(_ command: InfoCommand) -> String {
        switch parseCreate(command) {
        case .failure(let answer): return answer.text
        case .success(let (namespace, definition)):
            switch namespace.secondaryIndexes.create(definition) {
            case .created, .alreadyExists, .renamed:
                context.logger.info(
                    "sindex-create", metadata: ["index": "\(definition.name)", "bin": "\(definition.binName ?? "")"])
                return InfoReply.ok
            case .nameTakenByOtherDefinition:
                return InfoReply.errorValue(.indexFound, message: "'indexname' already exists with different definition")
            case .full:
                return InfoReply.errorValue(.indexMaxCount, message: "already at sindex definition limit")
            case .notPersisted(let reason):
                context.logger.error("sindex-create", metadata: ["index": "\(definition.name)", "error": "\(reason)"])
                return InfoReply.errorValue(.serverError, message: "definition not persisted")
            }
        }
    }

    private func parseCreate(_ command: InfoCommand) -> Result<(Namespace, Catalog.Definition), Answer> {
        do throws(Answer) {
            let name = try required(command, ["indexname"], named: "indexname", bytesMax: Catalog.nameBytesMax).get()
            let namespaceName = try required(command, Self.namespaceKeys, named: "namespace", bytesMax: Self.namespaceBytesMax).get()
            let indexTypeText = try optional(command, ["indextype"], named: "indextype", bytesMax: 16).get()
            if indexTypeText?.lowercased() == "set" {
                return .success(try parseSetIndex(command, name: name, namespaceName: namespaceName))
            }
            let setName = try optional(command, ["set"], named: "set", bytesMax: Self.setBytesMax).get()
            let contextBase64 = try optional(command, ["context"], named: "context", bytesMax: Self.base64BytesMax).get()
            if let contextBase64 {
                // As Aerospike's as_sindex_cdt_ctx_b64_decode: base64, then a read context, then
                // normalized msgpack.
                guard let bytes = Self.base64Decoded(contextBase64) else { throw Self.parameterError("'context' invalid base64") }
                do throws(IndexContext.Problem) {
                    _ = try IndexContext.parse(bytes)
                } catch {
                    throw Self.parameterError(error == .notNormalized ? "'context' not normalized msgpack" : "'context' invalid cdt context")
                }
            }
            var collection = Catalog.Collection.default
            if let indexTypeText {
                guard let parsed = Catalog.Collection(rawValue: indexTypeText.lowercased()), parsed != .set else {
                    throw Self.parameterError("bad 'indextype' - must be one of 'default', 'list', 'mapkeys', 'mapvalues'")
                }
                collection = parsed
            }
            let indexData = try optional(command, ["indexdata"], named: "indexdata", bytesMax: 64).get()
            let typeText = try optional(command, ["type"], named: "type", bytesMax: 16).get()
            var binName: String?
            var expressionBase64: String?
            let keyType: Catalog.KeyType
            switch (indexData, typeText) {
            case (nil, nil):
                throw Self.parameterError("both 'indexdata' and 'type' are missing")
            case (.some, .some):
                throw Self.parameterError("both 'indexdata' and 'type' are specified")
            case (nil, .some(let typeText)):
                guard let parsed = Self.keyType(typeText) else {
                    throw Self.parameterError("bad 'type' - must be one of 'numeric', 'string', 'blob', 'geo2dsphere'")
                }
                keyType = parsed
                binName = try optional(command, ["bin"], named: "bin", bytesMax: Self.binBytesMax).get()
                expressionBase64 = try optional(command, ["exp"], named: "exp", bytesMax: Self.base64BytesMax).get()
                switch (binName, expressionBase64) {
                case (.some, .some): throw Self.parameterError("both 'bin' and 'exp' are specified")
                case (nil, nil): throw Self.parameterError("both 'bin' and 'exp' are missing")
                default: break
                }
                if let expressionBase64 {
                    if contextBase64 != nil { throw Self.parameterError("both 'context' and 'exp' are specified") }
                    try Self.checkExpression(expressionBase64, collection: collection, keyType: keyType)
                }
            case (.some(let indexData), nil):
                guard let comma = indexData.firstIndex(of: ",") else {
                    throw Self.parameterError("'indexdata' missing bin type")
                }
                let bin = String(indexData[..<comma])
                if bin.isEmpty { throw Self.parameterError("'indexdata' missing bin name") }
                if bin.utf8.count > Self.binBytesMax { throw Self.parameterError("'indexdata' bin name too long") }
                guard let parsed = Self.keyType(String(indexData[indexData.index(after: comma)...])) else {
                    throw Self.parameterError(
                        "bad 'indexdata' bin type - must be one of 'numeric', 'string', 'blob', 'geo2dsphere'")
                }
                binName = bin
                keyType = parsed
            }
            if collection == .mapkeys && keyType == .geo2dsphere {
                throw Self.parameterError(
                    "bad 'indexdata' bin type for 'indextype' 'mapkeys' - must be one of 'numeric', 'string', 'blob'")
            }
            guard let namespace = context.namespaces[namespaceName] else {
                throw Self.parameterError("namespace not found")
            }
            let definition = Catalog.Definition(
                name: name, setName: setName, binName: binName, keyType: keyType, collection: collection,
                contextBase64: contextBase64, expressionBase64: expressionBase64)
            return .success((namespace, definition))
        } catch {
            return .failure(error)
        }
    }

    /// An expression index's expression, as Aerospike 8.1's `as_sindex_validate_exp` and
    /// `as_sindex_validate_exp_type`: base64 of an expression that builds, reads a bin or the
    /// digest and no other metadata nor the key (else `bad 'exp'`), and whose result type is the
    /// index's (its value type for `default`, a list for `list`, a map for `mapkeys` and
    /// `mapvalues`).
    private static func checkExpression(_ base64: String, collection: Catalog.Collection, keyType: Catalog.KeyType) throws(Answer) {
        let checked: IndexExpression.Checked
        do throws(IndexExpression.Problem) {
            guard let bytes = base64Decoded(base64) else { throw .doesNotBuild }
            checked = try IndexExpression.check(bytes)
        } catch {
            throw parameterError("bad 'exp'")
        }
        let expected = switch collection {
        case .list: "list"
        case .mapkeys, .mapvalues: "map"
        default: keyType.rawValue
        }
        if let found = checked.resultType, found != expected {
            throw parameterError("bad 'exp' - expression type '\(found)' does not match expected type '\(expected)'")
        }
    }

    /// A set index (`indextype=SET`): only a set, none of a bin index's parameters.
    private func parseSetIndex(_ command: InfoCommand, name: String, namespaceName: String) throws(Answer)
        -> (Namespace, Catalog.Definition)
    {
        for key in ["context", "indexdata", "type", "bin", "exp"] where command.parameter(key) != nil {
            throw Self.parameterError("\(key) parameter is not supported for set index")
        }
        let setName = try required(command, ["set"], named: "set", bytesMax: Self.setBytesMax).get()
        guard let namespace = context.namespaces[namespaceName] else { throw Self.parameterError("namespace not found") }
        guard namespace.setID(registering: setName) != nil else { throw Self.parameterError("failed to get/create set") }
        return (namespace, Catalog.Definition(name: name, setName: setName, binName: nil, keyType: .numeric, collection: .set))
    }

    /// `numeric` (and `integer`, the name 8.2 clients send), `string`, `blob`, `geo2dsphere`,
    /// any case.
    static func keyType(_ text: String) -> Catalog.KeyType? {
        let lower = text.lowercased()
        return lower == "integer" ? .numeric : Catalog.KeyType(rawValue: lower)
    }

    // MARK: - sindex-delete, sindex-exists

    func delete(_ command: InfoCommand) -> String {
        do throws(Answer) {
            let name = try required(command, ["indexname"], named: "indexname", bytesMax: Catalog.nameBytesMax).get()
            let namespaceName = try required(command, Self.namespaceKeys, named: "namespace", bytesMax: Self.namespaceBytesMax).get()
            // An unknown index (or namespace) is not an error: Aerospike answers ok.
            do throws(Catalog.PersistError) {
                if try context.namespaces[namespaceName]?.secondaryIndexes.delete(name: name) == true {
                    context.logger.info("sindex-delete", metadata: ["index": "\(name)"])
                }
            } catch {
                context.logger.error("sindex-delete", metadata: ["index": "\(name)", "error": "\(error)"])
                return InfoReply.errorValue(.serverError, message: "deletion not persisted")
            }
            return InfoReply.ok
        } catch {
            return error.text
        }
    }

    func exists(_ command: InfoCommand) -> String {
        do throws(Answer) {
            let name = try required(command, ["indexname"], named: "indexname", bytesMax: Catalog.nameBytesMax).get()
            let namespace = try localNamespace(command)
            return namespace.secondaryIndexes.definition(named: name) == nil ? "false" : "true"
        } catch {
            return error.text
        }
    }

    private func localNamespace(_ command: InfoCommand) throws(Answer) -> Namespace {
        let name = try required(command, Self.namespaceKeys, named: "namespace", bytesMax: Self.namespaceBytesMax).get()
        guard let namespace = context.namespaces[name] else {
            throw Answer(InfoReply.errorValue(.namespaceNotFound, message: "namespace not found on node"))
        }
        return namespace
    }

    // MARK: - sindex-list, sindex-stat, sindex

    /// `sindex-list[:namespace=NS][;b64=true|false]`: one `ns=…:indexname=…:…:state=RW` item
    /// per index, `;`-separated. With `b64=true` contexts and expressions are shown in base64;
    /// without, as Aerospike 8.1 shows them (`IndexContext.display`, `ExpressionDisplay`; a
    /// stored expression that no longer builds stays in base64).
    func list(_ command: InfoCommand) -> String {
        do throws(Answer) {
            var names = context.namespaceNames
            if let name = try optional(command, Self.namespaceKeys, named: "namespace", bytesMax: Self.namespaceBytesMax).get() {
                guard context.namespaces[name] != nil else {
                    throw Answer(InfoReply.errorValue(.namespaceNotFound, message: "namespace not found on node"))
                }
                names = [name]
            }
            let b64 = try optional(command, ["b64"], named: "b64", bytesMax: 5).get()
            if let b64, b64 != "true", b64 != "false" {
                throw Self.parameterError("bad b64")
            }
            return listItems(namespaceNames: names, base64: b64 == "true")
        } catch {
            return error.text
        }
    }

    private func listItems(namespaceNames: [String], base64: Bool = false) -> String {
        var items: [String] = []
        for name in namespaceNames {
            guard let namespace = context.namespaces[name] else { continue }
            let definitions = namespace.secondaryIndexes.all
            for d in definitions where d.collection != .set {
                items.append(
                    "ns=\(name):indexname=\(d.name):set=\(d.setName ?? "null"):bin=\(d.binName ?? "null")"
                        + ":type=\(d.keyType.rawValue):indextype=\(d.collection.rawValue)"
                        + ":context=\(Self.shown(context: d, base64: base64)):exp=\(Self.shown(expression: d, base64: base64)):state=RW")
            }
            // Set indexes after the others, in their shorter form (as Aerospike lists them).
            for d in definitions where d.collection == .set {
                items.append("ns=\(name):indexname=\(d.name):set=\(d.setName ?? "null"):indextype=set")
            }
        }
        return items.joined(separator: ";")
    }

    private static func shown(context d: Catalog.Definition, base64: Bool) -> String {
        guard let text = d.contextBase64 else { return "null" }
        guard !base64, let bytes = base64Decoded(text) else { return text }
        return IndexContext.display(bytes)
    }

    private static func shown(expression d: Catalog.Definition, base64: Bool) -> String {
        guard let text = d.expressionBase64 else { return "null" }
        guard !base64, let bytes = base64Decoded(text) else { return text }
        return ExpressionDisplay.display(bytes) ?? text
    }

    /// `sindex-stat:namespace=NS;indexname=NAME`. Cairn keeps no index structure (queries walk
    /// the primary index), so an index is always fully loaded and uses no memory; the entry
    /// counts Aerospike reports are left out rather than made up.
    func stat(_ command: InfoCommand) -> String {
        do throws(Answer) {
            let name = try required(command, ["indexname"], named: "indexname", bytesMax: Catalog.nameBytesMax).get()
            let namespace = try localNamespace(command)
            return statistics(namespace, name)
        } catch {
            return error.text
        }
    }

    private func statistics(_ namespace: Namespace, _ name: String) -> String {
        guard namespace.secondaryIndexes.definition(named: name) != nil else {
            return InfoReply.errorValue(.indexNotFound, message: "no index")
        }
        return "used_bytes=0;load_pct=100;load_time=0;stat_gc_recs=0"
    }

    /// The deprecated `sindex` (every namespace's list), `sindex/NS` (its list) and
    /// `sindex/NS/NAME` (the index's statistics).
    func legacy(_ command: InfoCommand) -> String {
        guard let namespaceName = command.arguments.first else {
            return listItems(namespaceNames: context.namespaceNames)
        }
        guard let namespace = context.namespaces[namespaceName] else { return "ns_type=unknown" }
        guard command.arguments.count > 1 else { return listItems(namespaceNames: [namespaceName]) }
        return statistics(namespace, command.arguments[1...].joined(separator: "/"))
    }

    // MARK: - Base64

    /// Standard base64 with padding; nil when `text` is not.
    static func base64Decoded(_ text: String) -> [UInt8]? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count / 4 * 3)
        var accumulator: UInt32 = 0
        var bits = 0
        var padding = 0
        for (i, c) in bytes.enumerated() {
            let v: UInt32
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(c - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(c - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "+"): v = 62
            case UInt8(ascii: "/"): v = 63
            case UInt8(ascii: "="):
                // Only as the last one or two characters.
                guard i >= bytes.count - 2 else { return nil }
                padding += 1
                continue
            default: return nil
            }
            if padding > 0 { return nil }
            accumulator = (accumulator << 6) | v
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        return out
    }
}
