import Foundation

/// A loop device over a sparse file, attached with direct I/O through `hack/loopdev` (the same
/// script the benchmarks use) and detached on `detach()` or deinit.
public final class LoopDevice: @unchecked Sendable {
    // @unchecked: `path` and `backingFile` are immutable; `detached` is only touched by the owner.
    public let path: String
    public let backingFile: String
    private var detached = false

    /// Attaches a loop device over `backingFile` (created sparse with `sizeBytes` if missing).
    /// Throws ``TestEnvironmentError`` with the reason when loop devices can't be had here.
    public init(backingFile: String, sizeBytes: UInt64, sectorSizeBytes: Int = 512) throws {
        let result = try Shell.run(Shell.repositoryRoot + "/hack/loopdev",
                                   ["attach", backingFile, "\(sizeBytes)", "--sector-size", "\(sectorSizeBytes)"])
        guard result.status == 0 else {
            throw TestEnvironmentError("loop device unavailable: \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        path = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        self.backingFile = backingFile
    }

    /// A loop device for a test over `backingFile`, or nil where none can be had here: then the
    /// reason is printed as `LOOP DEVICE UNAVAILABLE: … — <test> could not run here`, so a run's
    /// output says what did not run, and the test cancels itself (`guard let … else { try
    /// Test.cancel(…) }`).
    public static func forTest(backingFile: String, sizeBytes: UInt64, test: String = #function) -> LoopDevice? {
        do {
            return try LoopDevice(backingFile: backingFile, sizeBytes: sizeBytes)
        } catch {
            print("LOOP DEVICE UNAVAILABLE: \(error) — \(test) could not run here")
            return nil
        }
    }

    public func detach() throws {
        guard !detached else { return }
        let result = try Shell.run(Shell.repositoryRoot + "/hack/loopdev", ["detach", path])
        guard result.status == 0 else { throw TestEnvironmentError("detach \(path) failed: \(result.stderr)") }
        detached = true
    }

    deinit {
        if !detached {
            do { try detach() } catch {
                FileHandle.standardError.write(Data("warning: \(error)\n".utf8))
            }
        }
    }
}

/// Runs helper commands for tests.
public enum Shell {
    /// The package root (two levels above this source file's directory).
    public static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs `executable` with `arguments`, waits, and returns its status and output.
    public static func run(_ executable: String, _ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }
}
