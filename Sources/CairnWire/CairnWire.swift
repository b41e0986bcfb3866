/// CairnWire: the Aerospike client wire protocol codec (frames, info, as_msg, fields, ops,
/// particles, batch and scan payloads, result codes, TTL/void-time arithmetic).
///
/// Pure: no I/O, no Foundation, no dependency on the rest of Cairn or on SwiftNIO. Decoders read
/// from `UnsafeRawBufferPointer` (what NIO's `ByteBuffer.withUnsafeReadableBytes` hands out),
/// `[UInt8]` or `ArraySlice<UInt8>`; encoders append to a ``WireWriter``.
///
/// The byte-level specification is `PROTOCOL.md` (shared with the rest of the project); every
/// public type cites the section it implements. Everything from the network is untrusted: each
/// length is checked against the bytes that remain before it is used, and malformed input is
/// reported as a typed error (``MessageError``, ``FrameError``, ``InfoError``), never a trap.
/// Preconditions guard only programmer errors on the encoding side.
public enum CairnWireModule {}
