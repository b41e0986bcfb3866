/// Where the index's memory comes from.
public enum IndexBacking: Sendable, Equatable {
    /// Private anonymous memory; the index dies with the process.
    case anonymous
    /// Files `<directory>/<name>.header`, `<name>.sprigs` and `<name>.stage-NNNN` mapped shared
    /// (normally `directory` is `/dev/shm`), so a later process can attach them after a clean
    /// shutdown (`PrimaryIndex.attach`).
    case sharedFiles(directory: String, name: String)

    /// Longest accepted `name`.
    public static let nameLengthMax = 64

    /// Throws `IndexError.configurationInvalid` unless `directory` is non-empty and `name` is
    /// 1...64 characters of `[A-Za-z0-9._-]` not starting with a dot (it becomes part of file names).
    func validate() throws(IndexError) {
        guard case .sharedFiles(let directory, let name) = self else { return }
        let allowed = name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
        if name.isEmpty || name.utf8.count > IndexBacking.nameLengthMax || !allowed || name.hasPrefix(".") {
            throw .configurationInvalid(
                field: "shared index name \"\(name)\"", value: name.utf8.count,
                expected: "1...\(IndexBacking.nameLengthMax) characters of [A-Za-z0-9._-], not starting with a dot")
        }
        if directory.isEmpty {
            throw .configurationInvalid(field: "shared index directory", value: 0, expected: "a directory path")
        }
    }

    /// Path of the header file, or `nil` when anonymous.
    var headerPath: String? { path(suffix: "header") }
    /// Path of the sprig-table file, or `nil` when anonymous.
    var sprigTablePath: String? { path(suffix: "sprigs") }

    /// Path of stage `index`'s file, or `nil` when anonymous.
    func stagePath(_ index: Int) -> String? {
        let digits = String(index)
        let padded = String(repeating: "0", count: max(0, 4 - digits.count)) + digits
        return path(suffix: "stage-" + padded)
    }

    private func path(suffix: String) -> String? {
        switch self {
        case .anonymous: return nil
        case .sharedFiles(let directory, let name): return "\(directory)/\(name).\(suffix)"
        }
    }

    /// A new region of `sizeBytes` for `path` (anonymous when `path` is `nil`).
    static func createRegion(path: String?, sizeBytes: Int) throws(IndexError) -> MemoryRegion {
        guard let path else { return try MemoryRegion.anonymous(sizeBytes: sizeBytes) }
        return try MemoryRegion.create(path: path, sizeBytes: sizeBytes)
    }
}
