/// One read, write or data-sync against a device, as handed to an ``IOQueue``.
///
/// The request owns a reference to its buffer for as long as it is in flight and gives it back
/// in its ``IOCompletion``, so no path (success or error) can lose a buffer.
public struct IORequest: Sendable {
    public enum Kind: Sendable, Equatable { case read, write, dataSync }

    public var kind: Kind
    /// Byte offset on the device (aligned to the device's alignment).
    public var offset: UInt64
    /// The memory read into or written from (nil for `dataSync`).
    public var buffer: AlignedBuffer?
    /// Where in `buffer` the transfer starts (aligned).
    public var bufferOffset: Int
    /// Bytes to transfer (a multiple of the device's alignment).
    public var lengthBytes: Int
    /// For writes: RWF_DSYNC, so the completion means the bytes are durable.
    public var durable: Bool
    /// The caller's identifier, returned untouched in the completion.
    public var tag: UInt64

    public init(kind: Kind, offset: UInt64, buffer: AlignedBuffer?, bufferOffset: Int, lengthBytes: Int,
                durable: Bool, tag: UInt64) {
        self.kind = kind
        self.offset = offset
        self.buffer = buffer
        self.bufferOffset = bufferOffset
        self.lengthBytes = lengthBytes
        self.durable = durable
        self.tag = tag
    }

    /// A read of `lengthBytes` (default: the whole buffer) at `offset` into `buffer`.
    public static func read(into buffer: AlignedBuffer, bufferOffset: Int = 0, lengthBytes: Int? = nil,
                            at offset: UInt64, tag: UInt64 = 0) -> IORequest {
        IORequest(kind: .read, offset: offset, buffer: buffer, bufferOffset: bufferOffset,
                  lengthBytes: lengthBytes ?? buffer.countBytes - bufferOffset, durable: false, tag: tag)
    }

    /// A write of `lengthBytes` (default: the whole buffer) from `buffer` to `offset`.
    public static func write(from buffer: AlignedBuffer, bufferOffset: Int = 0, lengthBytes: Int? = nil,
                             at offset: UInt64, durable: Bool = false, tag: UInt64 = 0) -> IORequest {
        IORequest(kind: .write, offset: offset, buffer: buffer, bufferOffset: bufferOffset,
                  lengthBytes: lengthBytes ?? buffer.countBytes - bufferOffset, durable: durable, tag: tag)
    }

    /// An fdatasync of the whole device.
    public static func dataSync(tag: UInt64 = 0) -> IORequest {
        IORequest(kind: .dataSync, offset: 0, buffer: nil, bufferOffset: 0, lengthBytes: 0, durable: true, tag: tag)
    }

    var operation: IOOperation {
        switch kind {
        case .read: return .read
        case .write: return .write
        case .dataSync: return .fsync
        }
    }
}

/// The outcome of one ``IORequest``: the request itself (with its buffer) and its error, if any.
public struct IOCompletion: Sendable {
    public var request: IORequest
    public var error: IOError?

    public init(request: IORequest, error: IOError?) {
        self.request = request
        self.error = error
    }

    /// Throws the error, if any.
    public func get() throws(IOError) {
        if let error { throw error }
    }
}
