import Glibc

/// Pages of `[offsetBytes, offsetBytes + lengthBytes)` of the file or device at `path` that the
/// page cache holds (`mincore` on a read-only shared mapping; the page cache is the inode's, so
/// any descriptor sees it). -1 when the range cannot be mapped. `offsetBytes` is page aligned.
public func residentPageCount(path: String, offsetBytes: Int, lengthBytes: Int) -> Int {
    let pageBytes = Int(sysconf(Int32(_SC_PAGESIZE)))
    precondition(offsetBytes % pageBytes == 0 && lengthBytes > 0, "residentPageCount: unaligned range \(offsetBytes)+\(lengthBytes)")
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return -1 }
    defer { close(fd) }
    guard let map = mmap(nil, lengthBytes, PROT_READ, MAP_SHARED, fd, off_t(offsetBytes)), map != MAP_FAILED else { return -1 }
    defer { munmap(map, lengthBytes) }
    var vector = [UInt8](repeating: 0, count: (lengthBytes + pageBytes - 1) / pageBytes)
    guard mincore(map, lengthBytes, &vector) == 0 else { return -1 }
    return vector.reduce(0) { $0 + Int($1 & 1) }
}
