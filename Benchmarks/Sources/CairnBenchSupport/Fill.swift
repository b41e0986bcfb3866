// What the engine benchmarks that fill a namespace share: their records' digests and the fill.
@_spi(EngineInternals) import CairnEngine
import CairnIndex
import CairnStorage
import Foundation

/// The digest of benchmark record `n`: 20 bytes from a linear congruential generator seeded
/// by `n`, so a later run (a start, a spot check) finds the records a fill wrote.
public func benchDigest(_ n: Int) -> Digest {
    var x = UInt64(n) &+ 0x1234_5678
    var bytes = [UInt8](repeating: 0, count: 20)
    for k in 0..<20 {
        x = x &* 6364136223846793005 &+ 1442695040888963407
        bytes[k] = UInt8(truncatingIfNeeded: x >> 33)
    }
    return Digest(bytes: bytes)!
}

/// Puts records `0..<records` into `ns` from `threads` threads (thread `t` takes every
/// `threads`-th record from `t`), each in set `bench` with two bins: `id`, the record's number
/// as a big-endian integer, and `payload`, `payloadBytes` bytes. Returns when every put has;
/// a failed put ends the process through `fail`.
public func fillBench(_ ns: Namespace, records: Int, threads: Int, payloadBytes: Int,
                      fail: @escaping @Sendable (String) -> Never) {
    precondition(threads > 0 && records >= 0 && payloadBytes >= 0, "fillBench: \(records) records, \(threads) threads")
    let group = DispatchGroup()
    let payload = [UInt8](repeating: 0x5C, count: payloadBytes)
    for t in 0..<threads {
        group.enter()
        Thread {
            do {
                for n in stride(from: t, to: records, by: threads) {
                    try ns.put(benchDigest(n), setName: "bench", bins: [
                        StoredBin(name: "id", particleType: .integer, bytes: (0..<8).map { UInt8(truncatingIfNeeded: n >> (56 - 8 * $0)) }),
                        StoredBin(name: "payload", particleType: .blob, bytes: payload),
                    ])
                }
            } catch {
                fail("fill: \(error)")
            }
            group.leave()
        }.start()
    }
    group.wait()
}
