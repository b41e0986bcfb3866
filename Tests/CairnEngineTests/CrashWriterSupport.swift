@_spi(EngineInternals) import CairnEngine
import CairnIndex
import CairnTesting
import Foundation
import Testing

/// Runs `cairn-crash-writer` with `arguments` over two files, kills it with SIGKILL twice (a cold
/// start in between), then cold starts and checks every key against the acknowledged lines:
/// acknowledged writes are there, acknowledged durable deletes stay deleted, unless the one
/// operation under way on the key (announced, never acknowledged) landed.
func crashWriterTwoLives(round: Int, arguments: [String], fileSizeBytes: UInt64, linesPerLife: Int? = nil) throws {
    let dir = try TemporaryDirectory()
    let paths = [dir.file("c1.dat"), dir.file("c2.dat")]
    let writer = try #require(Bundle.main.executableURL?.deletingLastPathComponent().appendingPathComponent("cairn-crash-writer"))
    try #require(FileManager.default.isExecutableFile(atPath: writer.path), "build cairn-crash-writer first (swift build)")
    var acks: [String] = []
    // Two lives: write, kill, restart (cold), write more, kill again.
    for life in 0..<2 {
        let process = Process()
        process.executableURL = writer
        process.arguments = arguments + paths
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let target = linesPerLife ?? (1500 + round * 700)
        var buffered = Data()
        var lines: [String] = []
        let handle = pipe.fileHandleForReading
        while lines.count < target + 1 {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            buffered.append(chunk)
            while let nl = buffered.firstIndex(of: 0x0A) {
                lines.append(String(decoding: buffered[buffered.startIndex..<nl], as: UTF8.self))
                buffered.removeSubrange(buffered.startIndex...nl)
            }
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        // Lines that arrived after the kill decision are acknowledged too.
        buffered.append(handle.readDataToEndOfFile())
        for line in String(decoding: buffered, as: UTF8.self).split(separator: "\n") { lines.append(String(line)) }
        #expect(lines.first == (life == 0 ? "ready fresh" : "ready cold"), "life \(life): \(lines.first ?? "-")")
        #expect(!lines.contains { $0.hasPrefix("error") }, "writer errors: \(lines.filter { $0.hasPrefix("error") }.prefix(3))")
        // Operations announced in an earlier life and never acknowledged are resolved by the
        // restart in between: keep only this life's pending lines meaningful.
        acks.append(contentsOf: lines.dropFirst())
    }
    // Each key is written by one writer thread, so per key the lines are in commit order.
    // After the crash a key must show exactly its last acknowledged state, or the effect of
    // the one operation that was under way on it (announced by "begin", never acknowledged).
    enum State: Equatable { case absent, value(Int64), unknown }
    var acked: [Int: State] = [:]
    var pending: [Int: State] = [:]
    for line in acks {
        let parts = line.split(separator: " ")
        if parts.first == "begin", parts.count >= 3, let key = Int(parts[2]) {
            pending[key] = parts[1] == "del" ? .absent : (parts.count == 4 ? Int64(parts[3]).map(State.value) ?? .unknown : .unknown)
        } else if parts.first == "put", parts.count == 3, let key = Int(parts[1]), let v = Int64(parts[2]) {
            acked[key] = .value(v)
            pending[key] = nil
        } else if parts.first == "del", parts.count == 2, let key = Int(parts[1]) {
            acked[key] = .absent
            pending[key] = nil
        }
    }
    let options = namespaceOptions(paths, fileSizeBytes: fileSizeBytes, blockSize: 128 << 10)
    let ns = try Namespace.open(options)
    #expect(!ns.startReport.priorShutdownClean)
    print("round \(round): \(acks.count) lines; cold start: \(ns.startReport.coldStart!)")
    var lost: [String] = []
    var resurrected: [String] = []
    for (key, expected) in acked {
        let got = try ns.get(crashDigest(key))
        let stored = got?.bins.first { $0.name == "v" }.map { Int64(bitPattern: $0.bytes.reduce(0) { $0 << 8 | UInt64($1) }) }
        let actual: State = stored.map(State.value) ?? .absent
        if actual == expected || (pending[key] != nil && actual == pending[key]) { continue }
        if expected == .absent {
            resurrected.append("key \(key): deleted (acknowledged), found \(actual)")
        } else {
            lost.append("key \(key): acknowledged \(expected), found \(actual), pending \(String(describing: pending[key]))")
        }
    }
    #expect(resurrected.isEmpty, "\(resurrected.count) acknowledged durable deletes came back: \(resurrected.prefix(5))")
    #expect(lost.isEmpty, "\(lost.count) acknowledged writes lost: \(lost.prefix(5))")
    try ns.close()
}
