import Foundation

/// A directory under /var/tmp (disk-backed on Debian, unlike a tmpfs /tmp) removed on deinit.
/// Owned by one test.
public final class TemporaryDirectory: @unchecked Sendable {
    // @unchecked: `path` is immutable; removal happens once, in deinit.
    public let path: String

    /// `base` overrides the parent directory (tests of shared memory use /dev/shm).
    public init(prefix: String = "cairn-test", base chosenBase: String? = nil) throws {
        let base = chosenBase ?? (FileManager.default.isWritableFile(atPath: "/var/tmp") ? "/var/tmp" : NSTemporaryDirectory())
        var template = Array("\(base)/\(prefix).XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw TestEnvironmentError("mkdtemp in \(base) failed: errno \(errno)")
        }
        path = String(cString: made)
    }

    public func file(_ name: String) -> String { "\(path)/\(name)" }

    deinit {
        do { try FileManager.default.removeItem(atPath: path) } catch {
            FileHandle.standardError.write(Data("warning: could not remove \(path): \(error)\n".utf8))
        }
    }
}

/// Something the test environment lacks (root, a loop device, a tool); tests report it.
public struct TestEnvironmentError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
