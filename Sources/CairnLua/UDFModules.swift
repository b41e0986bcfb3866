import Foundation
import Synchronization

/// The registered Lua modules (Aerospike's `udf-put`, `udf-get`, `udf-list`, `udf-remove`):
/// kept in memory and in files under the `mod-lua` `user-path` directory, one file per module,
/// so they survive a restart. Thread-safe; every change bumps ``version``, by which the Lua
/// states of ``LuaPool`` notice that their cached copy of a module is stale.
public final class UDFModules: Sendable {
    /// Aerospike's limits: a file name under 128 bytes, content up to 1 MiB.
    public static let fileNameMax = 127
    public static let contentMax = 1024 * 1024

    public struct Module: Sendable, Equatable {
        public var name: String
        public var content: [UInt8]
        public var version: UInt64
    }

    /// Why a registration or removal was refused: Aerospike's `error=` answer word.
    public struct Refusal: Error, Equatable, Sendable {
        public var answer: String
        public var reason: String
    }

    /// The `user-path` exists and is not a directory.
    public struct NotADirectory: Error, Equatable, CustomStringConvertible {
        public var path: String
        public var description: String { "mod-lua user-path \(path) exists and is not a directory" }
    }

    public let directory: String
    private let state: Mutex<(modules: [String: Module], version: UInt64)>

    /// Loads the modules in `directory`; files that are not valid module names are skipped. A
    /// missing directory holds no module: it is created by the first `put`, so a start writes
    /// nothing (a daemon without a work directory creates none under the default one).
    public init(directory: String) throws {
        self.directory = directory
        var modules: [String: Module] = [:]
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory)
        if exists && !isDirectory.boolValue {
            throw NotADirectory(path: directory)
        }
        for name in exists ? try FileManager.default.contentsOfDirectory(atPath: directory).sorted() : [] {
            guard Self.validName(name) == nil,
                  let data = FileManager.default.contents(atPath: directory + "/" + name) else { continue }
            modules[name] = Module(name: name, content: Array(data), version: 1)
        }
        state = Mutex((modules, 1))
    }

    /// nil when `name` can name a module file: Aerospike's rule (a dot, not first or last), and
    /// nothing that leaves the directory (no `/`, no NUL, no leading dot) or breaks an info
    /// answer (no `;`, `,`, `=`, TAB, LF).
    public static func validName(_ name: String) -> String? {
        let bytes = Array(name.utf8)
        if bytes.isEmpty || bytes.count > fileNameMax { return "a module name has 1 to \(fileNameMax) bytes" }
        if bytes.contains(where: { $0 == UInt8(ascii: "/") || $0 == 0 || $0 == UInt8(ascii: "\\") }) {
            return "a module name cannot contain a path separator"
        }
        if bytes.contains(where: { [";", ",", "=", ":", "\t", "\n", "\r"].map { UInt8(ascii: $0) }.contains($0) }) {
            return "a module name cannot contain ; , = : or control characters"
        }
        guard let dot = bytes.firstIndex(of: UInt8(ascii: ".")), dot != 0, dot != bytes.count - 1 else {
            return "a module name needs an extension (a dot, not first or last)"
        }
        return nil
    }

    public var version: UInt64 { state.withLock { $0.version } }

    public func module(_ name: String) -> Module? { state.withLock { $0.modules[name] } }

    /// Every module, sorted by name.
    public func all() -> [Module] { state.withLock { $0.modules.values.sorted { $0.name < $1.name } } }

    /// Stores `content` as module `name` (replacing one of that name) after checking that it
    /// compiles and runs its top level (as Aerospike's validation does). The file is written
    /// and synced before the module is visible.
    public func put(name: String, content: [UInt8]) throws(Refusal) {
        if let reason = Self.validName(name) { throw Refusal(answer: "invalid_filename", reason: reason) }
        if content.count > Self.contentMax { throw Refusal(answer: "invalid_udf_content_len,>1M", reason: "content over 1 MiB") }
        if let error = LuaPool.validate(name: name, content: content) {
            throw Refusal(answer: error.answer, reason: error.reason)
        }
        let path = directory + "/" + name
        let temporary = directory + "/.tmp-" + name
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Self.writeSynced(content, to: temporary)
            guard rename(temporary, path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            Self.syncDirectory(directory)
        } catch {
            unlink(temporary)
            throw Refusal(answer: "unknown_error", reason: "writing \(path): \(error)")
        }
        state.withLock { state in
            state.version += 1
            state.modules[name] = Module(name: name, content: content, version: state.version)
        }
    }

    /// Removes module `name`; removing one that is not there is not an error (as Aerospike).
    public func remove(name: String) throws(Refusal) {
        if let reason = Self.validName(name) { throw Refusal(answer: "invalid_filename", reason: reason) }
        let path = directory + "/" + name
        if unlink(path) != 0 && errno != ENOENT {
            throw Refusal(answer: "unknown_error", reason: "removing \(path): errno \(errno)")
        }
        Self.syncDirectory(directory)
        state.withLock { state in
            if state.modules.removeValue(forKey: name) != nil { state.version += 1 }
        }
    }

    /// The `udf-list` hash of a module: SHA-1 of the JSON object Aerospike keeps for it
    /// (`{"content64": BASE64, "type": "LUA", "name": NAME}`), as lowercase hex.
    public static func hash(_ module: Module) -> String {
        let json = "{\"content64\": \"\(Data(module.content).base64EncodedString())\", \"type\": \"LUA\", \"name\": \"\(module.name)\"}"
        return SHA1.hex(Array(json.utf8))
    }

    private static func writeSynced(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
            offset += written
        }
        guard fsync(fd) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    private static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }
}
