/// Where the index's memory comes from.
public enum IndexBacking: Sendable, Equatable {
    /// Private anonymous memory; the index dies with the process.
    case anonymous
    /// Files `<directory>/<name>.header`, `<name>.sprigs` and `<name>.stage-NNNN` mapped shared
    /// (normally `directory` is `/dev/shm`), so a later process can attach them after a clean
    /// shutdown (`PrimaryIndex.attach`).
    case sharedFiles(directory: String, name: String)

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
