import CairnIO

import CairnIndex

extension RecordLocation: CustomStringConvertible {
    /// A location from a byte offset and size (both multiples of 16).
    public init(deviceIndex: Int, byteOffset: UInt64, sizeBytes: Int) {
        precondition(byteOffset % 16 == 0 && sizeBytes % 16 == 0, "record locations are 16-byte aligned")
        self.init(deviceIndex: UInt8(deviceIndex), offsetUnits: byteOffset / 16, sizeUnits: UInt32(sizeBytes / 16))
    }

    /// Byte offset of the record on its device.
    @inline(__always)
    public var byteOffset: UInt64 { offsetBytes }

    /// The write block holding the record.
    @inline(__always)
    public func blockIndex(writeBlockSizeBytes: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: offsetBytes / UInt64(writeBlockSizeBytes))
    }

    public var description: String { "device \(deviceIndex) offset \(offsetBytes) size \(sizeBytes)" }
}

/// Storage errors surfaced to the engine; each maps to an Aerospike result code there.
public enum StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No free block is left on the device (result 8, OUT_OF_SPACE).
    case deviceFull(path: String)
    /// Too many bytes are waiting to be written to the device (result 18, DEVICE_OVERLOAD).
    case overloaded(path: String, waitingBytes: Int)
    /// The record is larger than a write block can hold (result 13, RECORD_TOO_BIG).
    case recordTooBig(sizeBytes: Int, maxBytes: Int)
    /// A device I/O error; the device stops taking writes until restart.
    case io(IOError)
    /// Bytes read back are not the record the index points at (checksum, digest, format).
    case corruptRecord(location: RecordLocation, path: String, reason: String)
    /// The namespace is closing or closed.
    case closed
    /// A device is not usable as this namespace's device.
    case refused(path: String, reason: String)

    public var description: String {
        switch self {
        case .deviceFull(let p): return "\(p): device full (no free write block)"
        case .overloaded(let p, let n): return "\(p): device overloaded (\(n) bytes waiting to be written)"
        case .recordTooBig(let s, let m): return "record of \(s) bytes exceeds the \(m)-byte maximum"
        case .io(let e): return e.description
        case .corruptRecord(let l, let p, let r): return "\(p): corrupt record at \(l): \(r)"
        case .closed: return "namespace is closed"
        case .refused(let p, let r): return "\(p): \(r)"
        }
    }
}
