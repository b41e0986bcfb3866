// Feeds arbitrary bytes to the msgpack decoder and the collection (CDT) executor: the bytes are
// read as a msgpack stream whose first value is a bin (a list or map, or nothing) and whose
// following values are operation payloads, run in order as reads and as writes, each write's
// new value becoming the next operation's bin. Any crash, over-read (ASan) or hang is a bug; a
// CDTError is the expected answer to garbage. Checked: the canonical encoding of anything that
// decodes decodes again, every new bin value re-decodes, and a list or map put whole by a client
// (CollectionFromClient) is stored in a form the same check takes back unchanged, and the
// in-place append (InPlaceCDT) and the map writes on stored bytes (InPlaceCDT.mapWrite), wherever
// they answer, give the general path's bytes and result.
import CairnParticle

func fuzzCDT(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let whole = try? Value.decode(bytes) {
        guard (try? Value.decode(whole.encoded)) != nil else { fatalError("canonical encoding does not decode") }
    }
    for isMap in [false, true] {
        if let stored = try? CollectionFromClient.rewrite(bytes, isMap: isMap) {
            guard (try? CollectionFromClient.rewrite(stored, isMap: isMap)) == stored else { fatalError("stored form is not canonical") }
        }
    }
    var reader = MsgPackReader(bytes)
    var bin: CDTBin = .missing
    if !reader.isAtEnd, let range = try? reader.skip() {
        switch try? Value.decode(Array(bytes[range])) {
        case .list(let i, let f)?: bin = .collection(.list(i, flags: f))
        case .map(let e, let f)?: bin = .collection(.map(e, flags: f))
        case nil: return 0
        default: bin = .otherType
        }
    }
    var ops = 0
    while !reader.isAtEnd && ops < 64 {
        guard let range = try? reader.skip() else { break }
        ops += 1
        let payload = Array(bytes[range])
        // The in-place append, where it answers, must give the general path's bytes and result.
        if case .collection(let stored) = bin, case .list = stored, let op = try? CDTOperation.decode(payload) {
            let storedBytes = stored.encoded
            let fast = Result { () throws(CDTError) -> (bytes: [UInt8], size: Int)? in try InPlaceCDT.append(op, storedList: storedBytes) }
            let slow = Result { () throws(CDTError) -> CDTOutcome in try CDTExecutor.execute(op, bin: bin, isWrite: true) }
            switch (fast, slow) {
            case (.success(let f?), .success(let s)):
                guard s.newValue?.encoded == f.bytes, s.result == .int(Int64(f.size)) else { fatalError("in-place append differs") }
            case (.failure, .success):
                fatalError("in-place append refused what the general path takes")
            case (.success(_?), .failure):
                fatalError("in-place append took what the general path refuses")
            default:
                break
            }
        }
        // The map writes on stored bytes, where they answer, must give the general path's bytes
        // and result, on a map in its stored form (canonical bytes; a key-ordered map's keys
        // strictly increasing), as the engine keeps every stored map.
        if case .collection(let stored) = bin, case .map = stored, let op = try? CDTOperation.decode(payload) {
            checkMapWrite(op, stored.encoded)
        }
        for isWrite in [false, true] {
            guard let outcome = try? CDTExecutor.execute(payload: payload, bin: bin, isWrite: isWrite) else { continue }
            if let newValue = outcome.newValue {
                guard (try? Value.decode(newValue.encoded)) != nil else { fatalError("new bin value does not decode") }
                bin = .collection(newValue)
            }
        }
    }
    return 0
}

func checkMapWrite(_ op: CDTOperation, _ storedBytes: [UInt8]) {
    guard let decoded = try? Value.decode(storedBytes), decoded.encoded == storedBytes,
          case .map(let entries, let flags) = decoded else { return }
    if flags & MapFlags.keyOrdered != 0 {
        for i in entries.indices.dropFirst() where Value.compare(entries[i - 1].key, entries[i].key) >= 0 { return }
    }
    guard let fast = InPlaceCDT.mapWrite(op, storedMap: storedBytes) else { return }
    do {
        let slow = try CDTExecutor.execute(op, bin: .collection(decoded), isWrite: true)
        guard slow.newValue?.encoded == fast.bytes, slow.result?.encoded == fast.result.encoded else { fatalError("in-place map write differs") }
    } catch {
        fatalError("in-place map write took what the general path refuses: \(error)")
    }
}
