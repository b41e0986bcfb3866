import CairnWire
import NIOCore

/// One unit of client input: a complete proto frame, or the reason the stream was refused.
enum InboundFrame: Sendable {
    /// A whole frame: its type and its body (the bytes after the 8-byte proto header).
    case frame(type: ProtoType, body: ByteBuffer)
    /// The frame header was unacceptable (bad version or type, too large, TLS), with the raw
    /// type byte of that header when one was read. Nothing after it can be trusted: the
    /// connection answers what it can and closes.
    case refused(FrameError, typeRaw: UInt8?)
}

/// Splits a connection's byte stream into proto frames with CairnWire's ``FrameDecoder``
/// (PROTOCOL.md §1).
///
/// Owned by one channel pipeline; runs on its event loop only. The size limit is checked as
/// soon as the 8-byte header has arrived, so an oversized frame is refused before its body is
/// buffered. After a refusal every further byte is discarded: the stream cannot be
/// resynchronised, and the connection handler closes the channel.
struct ProtoFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = InboundFrame

    private let frameDecoder: FrameDecoder
    private var isRefused = false

    init(frameSizeBytesMax: UInt64) {
        frameDecoder = FrameDecoder(bodySizeBytesMax: frameSizeBytesMax)
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard !isRefused else {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return .needMoreData
        }
        let result = buffer.withUnsafeReadableBytes { frameDecoder.decode($0) }
        switch result {
        case .needMore:
            return .needMoreData
        case .error(let error):
            isRefused = true
            let typeRaw = buffer.withUnsafeReadableBytes { ProtoHeader.peek($0)?.typeRaw }
            buffer.moveReaderIndex(to: buffer.writerIndex)
            context.fireChannelRead(wrapInboundOut(.refused(error, typeRaw: typeRaw)))
            return .needMoreData
        case .frame(let type, let bodyRange):
            buffer.moveReaderIndex(forwardBy: bodyRange.lowerBound)
            guard let body = buffer.readSlice(length: bodyRange.count) else {
                // FrameDecoder saw the whole frame in these very bytes; a miss is a bug.
                preconditionFailure("frame body of \(bodyRange.count) bytes not in the buffer")
            }
            context.fireChannelRead(wrapInboundOut(.frame(type: type, body: body)))
            return .continue
        }
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A partial frame left at EOF is dropped: there is nobody to answer.
        while try decode(context: context, buffer: &buffer) == .continue {}
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .needMoreData
    }
}
