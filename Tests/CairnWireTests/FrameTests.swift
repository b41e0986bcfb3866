import Testing
@testable import CairnWire

@Suite struct FrameTests {
    let decoder = FrameDecoder()

    @Test func headerRoundTrip() {
        for type in ProtoType.allCases {
            for size: UInt64 in [0, 1, 22, 0x1234_5678_9A, ProtoHeader.bodySizeBytesWireMax] {
                var bytes: [UInt8] = []
                ProtoHeader(type: type, bodySizeBytes: size).encode(into: &bytes)
                #expect(bytes.count == 8)
                let decoded = bytes.withUnsafeBytes { ProtoHeader.peek($0) }
                #expect(decoded == ProtoHeader(type: type, bodySizeBytes: size))
            }
        }
    }

    @Test func sizeIsBigEndian48Bit() {
        let bytes = hexBytes("02 03 01 02 03 04 05 06")
        let header = bytes.withUnsafeBytes { ProtoHeader.peek($0) }
        #expect(header?.bodySizeBytes == 0x0102_0304_0506)
    }

    @Test func needMoreForEveryPrefix() {
        let frame = encode { $0.appendLastFrame() }
        for length in 0..<frame.count {
            let expected = length < 8 ? 8 - length : frame.count - length
            #expect(decoder.decode(frame[0..<length]) == .needMore(bytes: expected), "prefix \(length)")
        }
        #expect(decoder.decode(frame) == .frame(type: .message, bodyRange: 8..<30))
    }

    @Test func tooLargeFrameRefusedFromHeaderAlone() {
        let limit: UInt64 = 1024
        let small = FrameDecoder(bodySizeBytesMax: limit)
        var header: [UInt8] = []
        ProtoHeader(type: .message, bodySizeBytes: limit + 1).encode(into: &header)
        #expect(header.count == 8)
        #expect(small.decode(header) == .error(.bodyTooLarge(sizeBytes: limit + 1, maxBytes: limit)))
        // Exactly at the limit: waits for the body.
        var atLimit: [UInt8] = []
        ProtoHeader(type: .message, bodySizeBytes: limit).encode(into: &atLimit)
        #expect(small.decode(atLimit) == .needMore(bytes: Int(limit)))
        // Default limit is 128 MiB; 2^48-1 is refused without waiting.
        let maxBytes: UInt64 = FrameDecoder.bodySizeBytesMaxDefault
        #expect(maxBytes == 134_217_728)
        let huge = hexBytes("02 03 ff ff ff ff ff ff")
        let hugeError = FrameError.bodyTooLarge(sizeBytes: ProtoHeader.bodySizeBytesWireMax, maxBytes: maxBytes)
        #expect(decoder.decode(huge) == .error(hugeError))
        let justOver = hexBytes("02 01 00 00 08 00 00 01")
        let justOverError = FrameError.bodyTooLarge(sizeBytes: maxBytes + 1, maxBytes: maxBytes)
        #expect(decoder.decode(justOver) == .error(justOverError))
    }

    @Test func unknownVersionsAndTypesAreRefused() {
        #expect(decoder.decode(hexBytes("03 03 00 00 00 00 00 00")) == .error(.unsupportedVersion(version: 3, typeRaw: 3)))
        #expect(decoder.decode(hexBytes("00 03 00 00 00 00 00 00")) == .error(.unsupportedVersion(version: 0, typeRaw: 3)))
        #expect(decoder.decode(hexBytes("02 00 00 00 00 00 00 00")) == .error(.unknownType(typeRaw: 0)))
        #expect(decoder.decode(hexBytes("02 06 00 00 00 00 00 00")) == .error(.unknownType(typeRaw: 6)))
        #expect(decoder.decode(hexBytes("02 ff 00 00 00 00 00 00")) == .error(.unknownType(typeRaw: 255)))
        #expect(decoder.decode(hexBytes("02 05 00 00 00 00 00 00")) == .error(.internalXDRType))
    }

    @Test func adminVersionZeroIsTolerated() {
        let frame = hexBytes("00 02 00 00 00 00 00 10") + [UInt8](repeating: 0, count: 16)
        #expect(decoder.decode(frame) == .frame(type: .admin, bodyRange: 8..<24))
        let strict = FrameDecoder(acceptsVersionZeroAdmin: false)
        #expect(strict.decode(frame) == .error(.unsupportedVersion(version: 0, typeRaw: 2)))
    }

    @Test func compressedFramesAreRecognised() throws {
        let body = hexBytes("00 00 00 00 00 00 00 40") + [0x78, 0x01, 0x00]
        var frame: [UInt8] = []
        ProtoHeader(type: .compressedMessage, bodySizeBytes: UInt64(body.count)).encode(into: &frame)
        frame += body
        #expect(decoder.decode(frame) == .frame(type: .compressedMessage, bodyRange: 8..<19))
        let prefix = try withRaw(body) { try CompressedMessagePrefix.decode($0) }
        #expect(prefix.uncompressedSizeBytes == 64)
        #expect(prefix.zlibRange == 8..<11)
        // An impossible inflated size is refused.
        let tiny = hexBytes("00 00 00 00 00 00 00 04")
        #expect(throws: MessageError.uncompressedSizeInvalid(sizeBytes: 4)) {
            try withRaw(tiny) { try CompressedMessagePrefix.decode($0) }
        }
    }

    @Test func tlsClientHelloIsNamed() {
        let hello = hexBytes("16 03 01 02 00 01 00 01 fc 03 03")
        #expect(decoder.decode(hello) == .error(.tlsClientHello))
    }

    @Test func backToBackFramesAndSliceRanges() {
        var writer = WireWriter()
        writer.appendInfoRequestFrame(["build"])
        writer.appendLastFrame()
        let stream = writer.bytes
        guard case .frame(let firstType, let firstRange) = decoder.decode(stream) else {
            Issue.record("first frame not found")
            return
        }
        #expect(firstType == .info)
        #expect(Array(stream[firstRange]) == Array("build\n".utf8))
        let rest = stream[firstRange.upperBound...]
        // Ranges are 0-based from the slice's first element.
        #expect(decoder.decode(rest) == .frame(type: .message, bodyRange: 8..<30))
    }

    @Test func adminReplyIsSecurityNotEnabled() throws {
        let frame = encode { $0.appendAdminReplyFrame() }
        #expect(frame == hexBytes("02 02 00 00 00 00 00 10 00 34") + [UInt8](repeating: 0, count: 14))
        let header = try withRaw(frameBody(frame)) { try AdminHeader.decode($0) }
        #expect(header.resultCodeRaw == ResultCode.securityNotEnabled.rawValue)
    }

    @Test func writerPatchesFrameSizes() {
        var writer = WireWriter()
        writer.beginFrame(.message)
        writer.appendLastMessage()
        #expect(writer.openFrameBodySizeBytes == 22)
        writer.appendLastMessage()
        writer.endFrame()
        #expect(writer.isIdle)
        #expect(Array(writer.bytes[0..<8]) == hexBytes("02 03 00 00 00 00 00 2c"))
        writer.removeAll()
        #expect(writer.sizeBytes == 0)
    }
}
