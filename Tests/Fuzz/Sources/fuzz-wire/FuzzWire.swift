// Feeds arbitrary bytes to everything the server does with a client's bytes before it touches
// the engine: frame splitting, as_msg decoding, particle decoding of every op, batch and scan
// requests, admin headers and compressed-frame prefixes. Any crash, over-read (ASan) or hang is
// a bug; a thrown decode error is the expected answer to garbage.
import CairnWire

func fuzzWire(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    // The bytes as a stream of frames (what arrives on a connection).
    var offset = 0
    while offset < bytes.count {
        let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
        guard case .frame(let type, let bodyRange) = FrameDecoder(bodySizeBytesMax: 1 << 20).decode(rest) else { break }
        decodeBody(UnsafeRawBufferPointer(rebasing: rest[bodyRange]), type: type)
        offset += bodyRange.upperBound
    }
    // The bytes as one body of every type (the frame header is the cheap part to get right).
    for type in [ProtoType.info, .message, .admin, .compressedMessage] {
        decodeBody(bytes, type: type)
    }
    return 0
}

private func decodeBody(_ body: UnsafeRawBufferPointer, type: ProtoType) {
    switch type {
    case .info:
        _ = try? InfoRequest.parse(body: body)
    case .admin:
        _ = try? AdminHeader.decode(body)
    case .compressedMessage:
        _ = try? CompressedMessagePrefix.decode(body, bodySizeBytesMax: 1 << 20)
    case .message:
        guard let message = try? Message.decode(body: body) else { return }
        for op in message.ops {
            _ = try? ParticleValue.decode(
                typeRaw: op.particleTypeRaw, value: UnsafeRawBufferPointer(rebasing: body[op.valueRange]))
            _ = String(decoding: UnsafeRawBufferPointer(rebasing: body[op.nameRange]), as: UTF8.self)
        }
        if message.field(.batchIndex) != nil || message.field(.batchIndexWithSet) != nil {
            _ = try? BatchRequest.decode(message: message, body: body)
        } else {
            _ = try? ScanRequest.decode(message: message, body: body)
        }
        if let key = message.field(.key) {
            _ = try? UserKey.decode(fieldData: UnsafeRawBufferPointer(rebasing: body[key.dataRange]))
        }
    default:
        break
    }
}
