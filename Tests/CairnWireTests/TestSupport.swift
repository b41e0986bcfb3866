import CairnWire

/// Parses hex text, ignoring spaces, newlines and `|` separators (Appendix A notation).
func hexBytes(_ text: String) -> [UInt8] {
    let digits = text.unicodeScalars.filter { !" \n\t|".unicodeScalars.contains($0) }.map { Character($0) }
    precondition(digits.count % 2 == 0, "odd number of hex digits")
    var bytes: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let pair = String(digits[index...digits.index(after: index)])
        guard let byte = UInt8(pair, radix: 16) else { preconditionFailure("bad hex \(pair)") }
        bytes.append(byte)
        index = digits.index(index, offsetBy: 2)
    }
    return bytes
}

/// Lower-case hex of bytes, for readable failure messages.
func hexString<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
    bytes.map { byte in
        let text = String(byte, radix: 16)
        return text.count == 1 ? "0" + text : text
    }.joined(separator: " ")
}

/// SplitMix64: tiny, seedable, replayable.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

/// The body of the single frame in `frame` (asserting the frame is whole).
func frameBody(_ frame: [UInt8]) -> [UInt8] {
    precondition(frame.count >= 8, "not a frame")
    return Array(frame[8...])
}

/// The digest of ('test', 'demo', 'key1') from PROTOCOL.md §4.3.
let key1Digest = Digest(hex: "ec91192d4b7f8ce35d5d78d34bca65cbaaaac960")!

let key1 = RecordKey(namespace: "test", setName: "demo", digest: key1Digest)

/// A writer's bytes after running `build`.
func encode(_ build: (inout WireWriter) -> Void) -> [UInt8] {
    var writer = WireWriter()
    build(&writer)
    precondition(writer.isIdle, "frame or message left open")
    return writer.bytes
}

/// Runs `body` over the raw bytes of `bytes` (explicitly throwing, so `#expect(try …)` works
/// inside).
func withRaw<Value>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> Value) throws -> Value {
    try bytes.withUnsafeBytes { raw in try body(raw) }
}
