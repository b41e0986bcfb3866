/// Why a frame header was refused (PROTOCOL.md §1).
///
/// Frame errors come from the 8-byte header alone, before any body byte is buffered. The stream
/// cannot be resynchronised after one (the body length is untrusted), so the server should log
/// the reason and close the connection; there is no as_msg to answer with a result code.
public enum FrameError: Error, Sendable, Equatable {
    /// Version byte is not 2 (and not the admin-only 0 that §1 tolerates).
    case unsupportedVersion(version: UInt8, typeRaw: UInt8)
    /// Type byte is 0 or above 5.
    case unknownType(typeRaw: UInt8)
    /// Type 5 (internal XDR): valid on a real cluster, refused from clients.
    case internalXDRType
    /// Declared body size is above the configured maximum.
    case bodyTooLarge(sizeBytes: UInt64, maxBytes: UInt64)
    /// The first bytes look like a TLS ClientHello arriving at a plain-text port.
    case tlsClientHello
}

/// What ``FrameDecoder/decode(_:)-(UnsafeRawBufferPointer)`` found at the start of the bytes.
public enum FrameDecodeResult: Sendable, Equatable {
    /// At least this many more bytes are needed before a decision can be made.
    case needMore(bytes: Int)
    /// A complete frame: its type and the body's range within the bytes given. The frame ends at
    /// `bodyRange.upperBound`; consume that many bytes.
    case frame(type: ProtoType, bodyRange: Range<Int>)
    /// The header is unacceptable; close the connection.
    case error(FrameError)
}

/// Splits a byte stream into proto frames (PROTOCOL.md §1).
///
/// Stateless and `Sendable`: call ``decode(_:)-(UnsafeRawBufferPointer)`` with whatever bytes are
/// buffered (starting at a frame boundary) and act on the result. The size limit is enforced as
/// soon as the 8-byte header is present, so an oversized frame is refused before its body is
/// read. Version 2 is required, except that version 0 is accepted on admin frames, matching the
/// real server's backward-compatibility rule (§1, [SRV service.c]).
public struct FrameDecoder: Sendable {
    /// PROTO_SIZE_MAX of the real server and the C client: 128 MiB.
    public static let bodySizeBytesMaxDefault: UInt64 = 128 * 1024 * 1024

    /// Largest body accepted, in bytes.
    public var bodySizeBytesMax: UInt64
    /// Whether a version-0 admin frame is accepted (real-server compatibility, §1).
    public var acceptsVersionZeroAdmin: Bool

    public init(bodySizeBytesMax: UInt64 = FrameDecoder.bodySizeBytesMaxDefault, acceptsVersionZeroAdmin: Bool = true) {
        precondition(bodySizeBytesMax <= ProtoHeader.bodySizeBytesWireMax, "limit above the 48-bit wire maximum")
        precondition(bodySizeBytesMax <= UInt64(Int.max - ProtoHeader.sizeBytes), "limit does not fit in Int")
        self.bodySizeBytesMax = bodySizeBytesMax
        self.acceptsVersionZeroAdmin = acceptsVersionZeroAdmin
    }

    /// Validates an 8-byte header: version, type, size limit.
    public func validate(_ header: ProtoHeader) -> Result<ProtoType, FrameError> {
        let versionOK = header.version == ProtoHeader.currentVersion
            || (acceptsVersionZeroAdmin && header.version == 0 && header.typeRaw == ProtoType.admin.rawValue)
        guard versionOK else {
            return .failure(.unsupportedVersion(version: header.version, typeRaw: header.typeRaw))
        }
        guard let type = header.type else {
            return .failure(.unknownType(typeRaw: header.typeRaw))
        }
        if type == .internalXDR {
            return .failure(.internalXDRType)
        }
        guard header.bodySizeBytes <= bodySizeBytesMax else {
            return .failure(.bodyTooLarge(sizeBytes: header.bodySizeBytes, maxBytes: bodySizeBytesMax))
        }
        return .success(type)
    }

    /// Looks for one frame at the start of `bytes`.
    public func decode(_ bytes: UnsafeRawBufferPointer) -> FrameDecodeResult {
        // A TLS record header (22, 3, x, x, x, 1 = ClientHello) can be recognised from 6 bytes.
        if bytes.count >= 6, loadUInt8(bytes, at: 0) == 22, loadUInt8(bytes, at: 1) == 3,
            loadUInt8(bytes, at: 5) == 1
        {
            return .error(.tlsClientHello)
        }
        guard let header = ProtoHeader.peek(bytes) else {
            return .needMore(bytes: ProtoHeader.sizeBytes - bytes.count)
        }
        let type: ProtoType
        switch validate(header) {
        case .failure(let error): return .error(error)
        case .success(let validType): type = validType
        }
        // Fits in Int: bodySizeBytesMax <= Int.max - 8 was checked at init.
        let frameSizeBytes = ProtoHeader.sizeBytes + Int(header.bodySizeBytes)
        guard bytes.count >= frameSizeBytes else {
            return .needMore(bytes: frameSizeBytes - bytes.count)
        }
        return .frame(type: type, bodyRange: ProtoHeader.sizeBytes..<frameSizeBytes)
    }

    /// Looks for one frame at the start of `bytes` (`[UInt8]`, `ArraySlice<UInt8>`, …). The
    /// returned range is 0-based from the first element of `bytes`, also for slices.
    public func decode<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> FrameDecodeResult {
        withRawBytes(bytes) { raw in decode(raw) }
    }
}
