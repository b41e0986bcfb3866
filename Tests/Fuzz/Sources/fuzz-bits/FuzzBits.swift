// Feeds arbitrary bytes to the bit and HLL operation executors: the bytes are read as a msgpack
// stream whose first value is the bin (a blob, nil for a missing bin, anything else a bin of
// another type) and whose following values are operation payloads, run in order as reads and as
// writes by both executors (each keeps its own bin), each write's new bytes becoming the next
// operation's bin. Any crash, over-read (ASan) or hang is a bug; a CDTError is the expected
// answer to garbage. Checked: a read never changes the bin, a bit range modify keeps the blob's
// size, and every HLL an operation writes is a valid HLL. Resizes and inserts that would grow
// the blob past 64 KiB are skipped (they are legal, only slow).
import CairnParticle

func fuzzBits(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var reader = MsgPackReader(bytes)
    var bin: BlobBin = .missing
    if !reader.isAtEnd, let range = try? reader.skip() {
        switch try? Value.decode(Array(bytes[range])) {
        case .blob(_, let b)?: bin = .bytes(Array(b))
        case .null?: bin = .missing
        case nil: return 0
        default: bin = .otherType
        }
    }
    var hll = bin
    var ops = 0
    while !reader.isAtEnd && ops < 64 {
        guard let range = try? reader.skip() else { break }
        ops += 1
        let payload = Array(bytes[range])
        for isWrite in [false, true] {
            if let op = try? BitOperation.decode(payload, isWrite: isWrite),
                (op.command == .resize && op.size > 8 * 65536) || (op.command == .insert && op.offset > 8 * 65536)
            {
                continue
            }
            guard let outcome = try? BitExecutor.execute(payload: payload, bin: bin, isWrite: isWrite) else { continue }
            if !isWrite, outcome.newValue != nil { fatalError("a bit read changed the bin") }
            if let newValue = outcome.newValue {
                if case .bytes(let old) = bin, let op = try? BitOperation.decode(payload, isWrite: true),
                    ![.resize, .insert, .remove].contains(op.command), old.count != newValue.count
                {
                    fatalError("a range modify changed the blob's size")
                }
                bin = .bytes(newValue)
            }
            guard let outcome = try? HLLExecutor.execute(payload: payload, bin: hll, isWrite: isWrite) else { continue }
            if !isWrite, outcome.newValue != nil { fatalError("an HLL read changed the bin") }
            if let newValue = outcome.newValue {
                guard HLLSketch(validating: newValue) != nil else { fatalError("an HLL op wrote an invalid HLL") }
                hll = .bytes(newValue)
            }
        }
    }
    return 0
}
