import CairnIO
import CairnTesting
import Foundation
import Testing

/// One owner per device or file: a writable open takes an exclusive flock; another process
/// holding it gets the open refused with its pid; within one process the lock is shared; a
/// filesize below data already written is refused and the file is left as it was.
@Suite struct DeviceOwnerLockTests {
    @Test func anotherProcessHoldingTheFileIsNamedByPid() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("owned.dat")
        _ = try BlockDevice.open(path: path, options: .init(fileSizeBytes: 1 << 20))  // create it, lock released
        // util-linux flock(1) holds flock(LOCK_EX) on the file while `sleep` runs.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = ["-x", "-o", path, "sleep", "10"]  // -o: the lock stays with flock itself
        try holder.run()
        defer { holder.terminate(); holder.waitUntilExit() }
        // Wait until the lock is held.
        var held = false
        for _ in 0..<100 where !held {
            if let text = try? String(contentsOfFile: "/proc/locks", encoding: .utf8), text.contains("FLOCK") {
                do { _ = try BlockDevice.open(path: path, options: .init(fileSizeBytes: 1 << 20)) } catch { held = true; break }
            }
            usleep(50_000)
        }
        #expect(held)
        #expect {
            try BlockDevice.open(path: path, options: .init(fileSizeBytes: 1 << 20))
        } throws: { error in
            guard let error = error as? IOError, case .ownedByAnotherProcess(let pid) = error.kind else { return false }
            return pid == holder.processIdentifier && error.description.contains(path)
                && error.description.contains("pid \(holder.processIdentifier)")
        }
        // Read-only opens (inspection tools) take no lock.
        _ = try BlockDevice.open(path: path, options: .init(readOnly: true))
    }

    @Test func oneProcessMayOpenItsOwnFileTwice() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("twice.dat")
        let first = try BlockDevice.open(path: path, options: .init(fileSizeBytes: 1 << 20))
        let second = try BlockDevice.open(path: path, options: .init(fileSizeBytes: 1 << 20))
        #expect(first.sizeBytes == second.sizeBytes)
    }

    @Test func shrinkBelowWrittenDataIsRefusedAndTheFileIsUntouched() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("shrink.dat")
        do {
            let device = try BlockDevice.open(path: path, options: .init(fileSizeBytes: 8 << 20))
            let buffer = AlignedBuffer(countBytes: 4096, alignmentBytes: 4096)
            buffer.withUnsafeMutableBytes { _ = $0.initializeMemory(as: UInt8.self, repeating: 0xAB) }
            try device.writeSync(from: buffer, at: UInt64(6 << 20), durable: true)
        }
        #expect {
            try BlockDevice.open(path: path, options: .init(fileSizeBytes: 4 << 20))
        } throws: { error in
            let text = "\(error)"
            return text.contains("the configured size 4194304 bytes (4.0 MiB) is below data already written")
                && text.contains("holds data up to byte 6295552") && text.contains(path)
        }
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int == 8 << 20)
        // Growing is fine, and a shrink that only drops holes too.
        _ = try BlockDevice.open(path: path, options: .init(fileSizeBytes: 16 << 20))
        _ = try BlockDevice.open(path: path, options: .init(fileSizeBytes: 7 << 20))
    }
}
