import CairnIO
import CairnTesting
import Foundation
import Testing
@testable import CairnStorage

/// Without commit-to-device the flusher writes the open block's new records within
/// flush-max-ms, and `bufferReading.unflushedBytes` says how many bytes are still waiting.
@Suite struct FlushTimingTests {
    static func makeWriter(_ dir: TemporaryDirectory, flushMaxMs: Int) throws -> DeviceWriter {
        try DeviceWriterEncodingTests.makeWriter(dir.file("w.dat"), commitToDevice: false, flushMaxMs: flushMaxMs).1
    }

    static func append(_ writer: DeviceWriter, id: Int) throws {
        _ = try writer.append(sizeBytes: 512) { raw, _ in DeviceWriterEncodingTests.fill(raw, id: id) }
    }

    @Test func unflushedBytesAreWhatTheFlusherHasNotWrittenYet() throws {
        let dir = try TemporaryDirectory()
        let writer = try Self.makeWriter(dir, flushMaxMs: 200)
        defer { try? writer.close() }
        #expect(writer.bufferReading.unflushedBytes == 0)
        try Self.append(writer, id: 1)
        try Self.append(writer, id: 2)
        let waiting = writer.bufferReading
        // The block's header (64 bytes in this writer) and both records, unless the timed flush
        // came already.
        #expect(waiting.unflushedBytes == 64 + 2 * 512 || waiting.statistics.partialWrites > 0, "\(waiting)")
        #expect(waiting.sealedBlocks == 0)
        #expect(waitUntil(seconds: 5) { writer.bufferReading.unflushedBytes == 0 },
                "flush-max-ms 200 passed long ago and \(writer.bufferReading.unflushedBytes) bytes are still unwritten")
        #expect(writer.statistics.partialWrites >= 1)
    }
}
