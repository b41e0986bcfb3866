import CairnIO
import CairnIndex
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The in-memory copy of one persisted device of a `storage-engine memory` namespace: a shared
/// file (normally in /dev/shm) of the device's size, mapped shared, holding every written block
/// at the device offset it has on the persistence device.
///
/// Why a mirror rather than a large post-write cache: the namespace promises that every record
/// is in memory, not only recent ones, and the copy must outlive the process so a warm restart
/// keeps it. The writer stores each block here once its full write to the persistence device
/// completed (`DeviceWriter.complete`); until then the block is in the writer's buffers, so a
/// record is always either in the writer's memory or here, and reads never touch the device.
///
/// Threads: the device's flusher stores blocks; any thread reads. A read of a block being reused
/// can see a mix of old and new bytes, exactly like a device read of a reused block: the record
/// decoder's CRC and digest checks catch it and the engine retries with the index's new location.
public final class MemoryMirror: @unchecked Sendable {
    // @unchecked: the mapping is fixed for the object's life; stores and reads of the bytes are
    // ordered by the writer's lock as described above (raw memory, checked by CRC on read).
    public let path: String
    public let sizeBytes: Int
    private let base: UnsafeMutableRawPointer

    private init(path: String, sizeBytes: Int, base: UnsafeMutableRawPointer) {
        self.path = path
        self.sizeBytes = sizeBytes
        self.base = base
    }

    deinit { munmap(base, sizeBytes) }

    /// Creates (or truncates to zero and re-sizes) the mirror file and maps it.
    public static func create(path: String, sizeBytes: Int) throws -> MemoryMirror {
        try map(path: path, sizeBytes: sizeBytes, create: true)
    }

    /// Maps an existing mirror file; refuses one of another size.
    public static func attach(path: String, sizeBytes: Int) throws -> MemoryMirror {
        try map(path: path, sizeBytes: sizeBytes, create: false)
    }

    private static func map(path: String, sizeBytes: Int, create: Bool) throws -> MemoryMirror {
        precondition(sizeBytes > 0, "mirror of \(sizeBytes) bytes")
        let fd = create ? Glibc.open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600) : Glibc.open(path, O_RDWR)
        guard fd >= 0 else {
            throw StorageError.refused(path: path, reason: "cannot open memory copy: \(String(cString: strerror(errno)))")
        }
        defer { _ = Glibc.close(fd) }
        if create {
            guard ftruncate(fd, off_t(sizeBytes)) == 0 else {
                throw StorageError.refused(path: path, reason: "cannot size memory copy to \(sizeBytes) bytes: \(String(cString: strerror(errno)))")
            }
        } else {
            var st = Glibc.stat()
            guard fstat(fd, &st) == 0 else {
                throw StorageError.refused(path: path, reason: "cannot stat memory copy: \(String(cString: strerror(errno)))")
            }
            guard Int(st.st_size) == sizeBytes else {
                throw StorageError.refused(path: path, reason: "memory copy is \(st.st_size) bytes, the device is \(sizeBytes)")
            }
        }
        guard let base = mmap(nil, sizeBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), base != MAP_FAILED else {
            throw StorageError.refused(path: path, reason: "cannot map memory copy: \(String(cString: strerror(errno)))")
        }
        return MemoryMirror(path: path, sizeBytes: sizeBytes, base: base)
    }

    /// Stores `bytes` at device offset `offset`.
    public func store(at offset: UInt64, _ bytes: UnsafeRawBufferPointer) {
        precondition(offset <= UInt64(sizeBytes) && UInt64(bytes.count) <= UInt64(sizeBytes) - offset,
                     "store of \(bytes.count) bytes at \(offset) beyond memory copy of \(sizeBytes)")
        guard let source = bytes.baseAddress else { return }
        (base + Int(offset)).copyMemory(from: source, byteCount: bytes.count)
    }

    /// Copies the record bytes at `location` into `destination`.
    public func read(_ location: RecordLocation, into destination: UnsafeMutableRawBufferPointer) {
        let offset = location.byteOffset
        precondition(destination.count >= location.sizeBytes, "destination too small")
        precondition(offset <= UInt64(sizeBytes) && UInt64(location.sizeBytes) <= UInt64(sizeBytes) - offset,
                     "location \(location) beyond memory copy of \(sizeBytes)")
        destination.baseAddress!.copyMemory(from: base + Int(offset), byteCount: location.sizeBytes)
    }

    /// Removes a mirror file; absent is not an error.
    public static func remove(path: String) throws {
        if unlink(path) != 0 && errno != ENOENT {
            throw StorageError.refused(path: path, reason: "cannot remove memory copy: \(String(cString: strerror(errno)))")
        }
    }
}

extension NamespaceStorage {
    /// Copies every block below `firstPristineBlocks[i]` of device i into `mirrors[i]` (after a
    /// cold start of a persisted memory namespace, before `start`). Reads whole blocks.
    public func fillMirrors(_ mirrors: [MemoryMirror], firstPristineBlocks: [UInt32]) throws {
        precondition(mirrors.count == devices.count, "one memory copy per device")
        let blockSize = options.writeBlockSizeBytes
        for d in devices {
            let buffer = AlignedBuffer(countBytes: blockSize, alignmentBytes: d.device.alignmentBytes)
            var block = UInt32(DeviceGeometry.firstDataBlockIndex)
            while block < firstPristineBlocks[d.index] {
                let offset = geometry.byteOffset(ofBlock: block)
                do { try d.device.readSync(into: buffer, at: offset) } catch { throw StorageError.io(error) }
                buffer.withUnsafeBytes { mirrors[d.index].store(at: offset, $0) }
                block += 1
            }
        }
    }
}
