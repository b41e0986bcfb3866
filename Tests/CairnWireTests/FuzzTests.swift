import Foundation
import Testing
@testable import CairnWire

/// Seeded mutation tests: every truncation and random corruption of valid frames either decodes
/// or yields a typed error — never a trap or an over-read. Replay a failure with
/// `CAIRN_FUZZ_SEED=<seed> swift test --filter FuzzTests` (the seed is printed); scale with
/// `CAIRN_FUZZ_ITERATIONS`.
@Suite struct FuzzTests {
    static let seed: UInt64 = {
        if let text = ProcessInfo.processInfo.environment["CAIRN_FUZZ_SEED"], let value = UInt64(text) {
            return value
        }
        return 0x5EED_CA1B
    }()

    static let iterationsPerFrame: Int = {
        if let text = ProcessInfo.processInfo.environment["CAIRN_FUZZ_ITERATIONS"], let value = Int(text), value > 0 {
            return value
        }
        return 2000
    }()

    // MARK: Corpus

    static let corpus: [(String, [UInt8])] = {
        var frames: [(String, [UInt8])] = [
            ("info request", AppendixATests.infoRequest),
            ("get", AppendixATests.getRequest),
            ("get reply", AppendixATests.getReply),
            ("put", AppendixATests.putRequest),
            ("put reply", AppendixATests.putReply),
            ("scan end", AppendixATests.scanEnd),
        ]
        frames.append(("info summary", encode { $0.appendInfoRequestFrame([]) }))
        frames.append(("info forms", encode { $0.appendInfoRequestFrame(["namespace/test", "truncate:namespace=test;set=demo;lut=5", "user-agent-set:value=AA=="]) }))
        frames.append(("admin reply", encode { $0.appendAdminReplyFrame() }))
        frames.append(("compressed", hexBytes("02 04 00 00 00 00 00 0b 00 00 00 00 00 00 00 40 78 01 00")))
        frames.append(("batch", encode { $0.appendBatchRequestFrame(rows: BatchTests.specs, filterExpression: [0x93, 0x01]) }))
        var rustBatch = encode { $0.appendBatchRequestFrame(rows: BatchTests.specs, filterExpression: [0x93, 0x01]) }
        // Declared batch-field size too large by the filter field's 7 bytes, as Rust 2.0 writes it.
        let sizeOffset = 8 + 22 + 7
        let declared = rustBatch.withUnsafeBytes { loadUInt32BE($0, at: sizeOffset) } + 7
        for index in 0..<4 {
            rustBatch[sizeOffset + index] = UInt8(truncatingIfNeeded: declared >> UInt32(24 - 8 * index))
        }
        frames.append(("rust batch", rustBatch))
        frames.append((
            "scan",
            encode {
                $0.appendScanRequestFrame(
                    namespace: "test", setName: "demo", partitionIDs: [0, 1, 2, 4095], resumeDigests: [key1Digest],
                    maxRecords: 10, recordsPerSecond: 5, taskID: 99, binNames: ["a", "b"]
                )
            }
        ))
        frames.append((
            "scan replies",
            encode {
                $0.beginFrame(.message)
                $0.appendScanRecord(
                    namespace: "test", digest: key1Digest, setName: "demo", userKeyFieldData: UserKey.fieldData(.integer(1)),
                    generation: 1, voidTime: 9, bins: [Bin("a", .float(1.5)), Bin("g", .opaque(typeRaw: 23, bytes: [0, 0, 0, 0x7B, 0x7D]))]
                )
                $0.appendPartitionDoneMessage(partitionID: 3, resultCode: .unavailable)
                $0.appendLastMessage()
                $0.endFrame()
            }
        ))
        frames.append((
            "batch replies",
            encode {
                $0.beginFrame(.message)
                $0.appendBatchReplyRow(index: 1, resultCode: .ok, generation: 2, bins: [Bin("b", .bool(true)), Bin("c", .blob([9]))])
                $0.appendBatchReplyRow(index: 0, resultCode: .keyNotFound)
                $0.appendLastMessage()
                $0.endFrame()
            }
        ))
        let everyParticle = OwnedMessage(
            header: MessageHeader(info1: .read, info2: .write),
            fields: [
                OwnedField(.namespace, string: "test"), OwnedField(.set, string: "s"), OwnedField(.digest, data: key1Digest.bytes),
                OwnedField(.key, data: UserKey.fieldData(.string("k"))),
            ],
            ops: MessageTests.sampleValues.enumerated().map { OwnedOp(.write, name: "b\($0.offset)", value: $0.element) }
        )
        frames.append(("every particle", encode { $0.appendMessageFrame(everyParticle) }))
        return frames
    }()

    // MARK: Harness

    struct Tally {
        var needMore = 0
        var frameErrors = 0
        var decoded = 0
        var decodeErrors = 0
    }

    /// Runs every decoder that applies to `stream`; returns normally unless an invariant breaks.
    static func exercise(_ stream: [UInt8], tally: inout Tally) {
        switch FrameDecoder().decode(stream) {
        case .needMore(let bytes):
            #expect(bytes > 0)
            tally.needMore += 1
        case .error:
            tally.frameErrors += 1
        case .frame(let type, let range):
            #expect(range.lowerBound == 8 && range.upperBound <= stream.count)
            let body = Array(stream[range])
            if exerciseBody(type: type, body: body) {
                tally.decoded += 1
            } else {
                tally.decodeErrors += 1
            }
        }
    }

    /// Returns whether the primary decoder for `type` accepted the body.
    static func exerciseBody(type: ProtoType, body: [UInt8]) -> Bool {
        switch type {
        case .info:
            do {
                let request = try InfoRequest.parse(body: body)
                let answers = request.commands.map { InfoAnswer(line: $0.line, value: "ok") }
                var writer = WireWriter()
                try writer.appendInfoReplyFrame(answers)
                return true
            } catch {
                return false
            }
        case .admin:
            do {
                _ = try withRaw(body) { try AdminHeader.decode($0) }
                return true
            } catch {
                return false
            }
        case .compressedMessage:
            do {
                let prefix = try withRaw(body) { try CompressedMessagePrefix.decode($0) }
                #expect(prefix.zlibRange.upperBound == body.count)
                return true
            } catch {
                return false
            }
        case .message:
            // Requests and single replies hold one message; batch/scan replies a sequence.
            let sequenceDecoded = exerciseSequence(body)
            do {
                let message = try Message.decode(body: body)
                checkRanges(message.fields, message.ops, bodyCount: body.count)
                body.withUnsafeBytes { raw in exerciseDecoded(message, raw: raw) }
                return true
            } catch {
                #expect(error.resultCode == .parameter || error.resultCode == .binName)
                return sequenceDecoded
            }
        case .internalXDR:
            Issue.record("XDR frames must be refused by the frame decoder")
            return false
        }
    }

    static func exerciseSequence(_ body: [UInt8]) -> Bool {
        do {
            let messages = try Message.decodeSequence(body: body)
            for message in messages {
                checkRanges(message.fields, message.ops, bodyCount: body.count)
            }
            return true
        } catch {
            #expect(error.resultCode != .ok)
            return false
        }
    }

    /// Re-encodes a decoded message and decodes it again; runs value, batch and scan decoders.
    static func exerciseDecoded(_ message: Message, raw: UnsafeRawBufferPointer) {
        let owned = OwnedMessage(message, in: raw)
        let reencoded = encode { $0.appendMessageFrame(owned) }
        do {
            let again = try Message.decode(body: frameBody(reencoded))
            let ownedAgain = reencoded.withUnsafeBytes { OwnedMessage(again, in: UnsafeRawBufferPointer(rebasing: $0[8...])) }
            #expect(ownedAgain.fields == owned.fields)
            #expect(ownedAgain.ops == owned.ops)
        } catch {
            Issue.record("re-encoded message failed to decode: \(error)")
        }
        for op in message.ops {
            do { _ = try op.value(in: raw) } catch { #expect(error.resultCode == .parameter) }
        }
        for field in message.fields {
            do { _ = try field.uint64BE(in: raw) } catch { #expect(error.resultCode == .parameter) }
            do { _ = try field.digest(in: raw) } catch { #expect(error.resultCode == .parameter) }
            _ = field.string(in: raw)
            if field.type == .key {
                do { _ = try UserKey.decode(fieldData: field.data(in: raw)) } catch { #expect(error.resultCode == .parameter) }
            }
        }
        if message.header.info1.contains(.batch) {
            do {
                let request = try BatchRequest.decode(message: message, body: raw)
                for row in request.rows {
                    checkRanges(row.fields, row.ops, bodyCount: raw.count)
                }
            } catch {
                #expect(error.resultCode != .ok)
            }
        }
        if message.field(.digest) == nil {
            do {
                _ = try ScanRequest.decode(message: message, body: raw)
            } catch {
                #expect(error.resultCode == .parameter)
            }
        }
    }

    static func checkRanges(_ fields: [Field], _ ops: [Op], bodyCount: Int) {
        for field in fields {
            #expect(field.dataRange.lowerBound >= 0 && field.dataRange.upperBound <= bodyCount)
        }
        for op in ops {
            #expect(op.nameRange.lowerBound >= 0 && op.valueRange.upperBound <= bodyCount)
            #expect(op.nameRange.upperBound <= op.valueRange.lowerBound)
            #expect(op.nameSizeBytes <= MessageLimits.binNameSizeBytesMax)
        }
    }

    /// Rewrites the proto header's size to match the bytes that follow it.
    static func patchFrameSize(_ frame: inout [UInt8]) {
        guard frame.count >= 8 else { return }
        let size = UInt64(frame.count - 8)
        for index in 0..<6 {
            frame[2 + index] = UInt8(truncatingIfNeeded: size >> UInt64(40 - 8 * index))
        }
    }

    // MARK: Tests

    @Test func corpusDecodes() {
        for (name, frame) in Self.corpus {
            var tally = Tally()
            Self.exercise(frame, tally: &tally)
            #expect(tally.decoded == 1, "corpus frame '\(name)' should decode")
        }
    }

    @Test func everyTruncationIsSafe() {
        var tally = Tally()
        for (_, frame) in Self.corpus {
            // Short streams: the frame decoder must ask for more.
            for length in 0..<frame.count {
                var prefixTally = Tally()
                Self.exercise(Array(frame[0..<length]), tally: &prefixTally)
                #expect(prefixTally.needMore == 1)
            }
            // Short bodies with a consistent header: the body decoders see every truncation.
            for length in 8...frame.count {
                var truncated = Array(frame[0..<length])
                Self.patchFrameSize(&truncated)
                Self.exercise(truncated, tally: &tally)
            }
        }
        #expect(tally.decodeErrors > 0)
        print("CairnWire truncation: \(tally)")
    }

    @Test func randomMutationsAreSafe() {
        print("CairnWire fuzz seed: \(Self.seed) (replay with CAIRN_FUZZ_SEED=\(Self.seed)), iterations per frame: \(Self.iterationsPerFrame)")
        var generator = SeededGenerator(seed: Self.seed)
        var tally = Tally()
        let interesting32: [UInt32] = [0, 1, 4, 5, 8, 21, 22, 0x7F, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFE, 0xFFFF_FFFF]
        for (_, frame) in Self.corpus {
            for _ in 0..<Self.iterationsPerFrame {
                var mutated = frame
                let mutationCount = Int.random(in: 1...4, using: &generator)
                for _ in 0..<mutationCount {
                    // Mostly corrupt the body; sometimes the proto header too.
                    let lowest = Int.random(in: 0..<10, using: &generator) == 0 ? 0 : min(8, mutated.count - 1)
                    let position = Int.random(in: lowest..<mutated.count, using: &generator)
                    switch Int.random(in: 0..<6, using: &generator) {
                    case 0:
                        mutated[position] = UInt8.random(in: 0...255, using: &generator)
                    case 1:
                        mutated[position] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &generator)
                    case 2:
                        let value = interesting32.randomElement(using: &generator) ?? 0
                        for index in 0..<4 where position + index < mutated.count {
                            mutated[position + index] = UInt8(truncatingIfNeeded: value >> UInt32(24 - 8 * index))
                        }
                    case 3:
                        let cut = Int.random(in: 0...min(8, mutated.count - position), using: &generator)
                        mutated.removeSubrange(position..<(position + cut))
                    case 4:
                        let extra = (0..<Int.random(in: 1...8, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                        mutated.insert(contentsOf: extra, at: position)
                    default:
                        mutated[position] = [0, 1, 0x0F, 0x10, 0x16, 0x7F, 0x80, 0xFF].randomElement(using: &generator) ?? 0
                    }
                    if mutated.count < 9 { break }
                }
                if Bool.random(using: &generator) {
                    Self.patchFrameSize(&mutated)
                }
                Self.exercise(mutated, tally: &tally)
            }
        }
        print("CairnWire mutations: \(tally)")
        #expect(tally.decoded > 0)
        #expect(tally.decodeErrors > 0)
    }
}
