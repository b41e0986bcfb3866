// The config parser on arbitrary text: every input is either a configuration or a ConfigError
// naming a line; never a crash or a hang.
import CairnConfig

func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeRawBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        let configuration = try CairnConfiguration.parse(text: text, fileName: "fuzz.conf")
        _ = configuration.rendered()
    } catch {
        _ = error.description
    }
    return 0
}
