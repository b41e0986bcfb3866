// The info request parser and the per-command parameter parser (`name:k=v;k=v` and
// `name/arg` forms) on arbitrary bytes.
import CairnWire

func fuzzInfo(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    if let request = try? InfoRequest.parse(body: bytes) {
        for command in request.commands {
            for key in ["lut", "set", "namespace", "ns", "id", "context"] {
                _ = command.parameter(key)
            }
        }
    }
    let line = String(decoding: bytes, as: UTF8.self)
    let command = InfoCommand(line: line)
    _ = command.parameter("set")
    // An answer built from the bytes must either encode or be refused, never crash.
    _ = try? InfoReply.body([InfoAnswer(line: line, value: line)])
    return 0
}
