// CDT operation speed, the way the engine runs an operation on a stored bin: decode the bin's
// msgpack, run the operation, encode the new bin. Built by hack/bench-cdt with swiftc -O over
// Sources/CairnParticle (one module, no package build).
import Foundation

func measure(_ name: String, iterations: Int, _ body: () throws -> Void) rethrows {
    for _ in 0..<200 { try body() }
    var best = Double.infinity
    for _ in 0..<5 {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations { try body() }
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / Double(iterations))
    }
    let padded = name.padding(toLength: 58, withPad: " ", startingAt: 0)
    print(padded + String(format: " %9.0f ns/op", best))
}

// Map increment of one key of a 100-entry key-ordered map (string keys, integer values).
let entries = (0..<100).map { MapEntry(.string("key-\($0)"), .int(Int64($0))) }
var mapBytes = Value.map(entries, flags: 1).encoded
let increment = Value.list([.int(73), .string("key-50"), .int(1), .int(1)]).encoded
try measure("map increment, 100-entry key-ordered map", iterations: 20_000) {
    let out = try CDTExecutor.execute(payload: increment, bin: .collection(try Value.decode(mapBytes)), isWrite: true)
    mapBytes = out.newValue!.encoded
}

// List append to a 1,000-entry list (each append is undone by a pop so the size stays 1,000;
// the figure is per operation, append and pop alike).
var listBytes = Value.list((0..<1000).map { Value.int(Int64($0)) }).encoded
let append = Value.list([.int(1), .int(7)]).encoded
let pop = Value.list([.int(5), .int(-1)]).encoded
try measure("list append (and pop), 1,000-entry list, per operation", iterations: 2_000) {
    for payload in [append, pop] {
        let out = try CDTExecutor.execute(payload: payload, bin: .collection(try Value.decode(listBytes)), isWrite: true)
        listBytes = out.newValue!.encoded
    }
}
print("(the last figure counts two operations per iteration: divide by 2)")

// The same append the way the engine now runs it on a stored unordered list: on the bytes
// (InPlaceCDT), without decoding the list. The new bytes are built and dropped, so the list
// stays at 1,000 entries.
func measureInPlaceAppend(payload: [UInt8], list: [UInt8]) {
    let op: CDTOperation
    do { op = try CDTOperation.decode(payload) } catch { fatalError("\(error)") }
    measure("list append in place, 1,000-entry list", iterations: 20_000) {
        let size: Int
        do { size = try InPlaceCDT.append(op, storedList: list)?.size ?? 0 } catch { fatalError("\(error)") }
        precondition(size == 1001, "the in-place append declined")
    }
}
measureInPlaceAppend(payload: append, list: listBytes)

// The same map increment the way the engine now runs it on a stored map: on the bytes
// (InPlaceCDT.mapWrite), without decoding the map. The payload is decoded each time, as the
// engine decodes it (and as the general path's figure above includes). Each increment's bytes
// are the next one's map.
func measureInPlaceMapIncrement(payload: [UInt8], map: [UInt8]) {
    var bytes = map
    measure("map increment in place, 100-entry key-ordered map", iterations: 200_000) {
        let op: CDTOperation
        do { op = try CDTOperation.decode(payload) } catch { fatalError("\(error)") }
        guard let written = InPlaceCDT.mapWrite(op, storedMap: bytes) else { fatalError("the in-place increment declined") }
        bytes = written.bytes
    }
}
measureInPlaceMapIncrement(payload: increment, map: mapBytes)
