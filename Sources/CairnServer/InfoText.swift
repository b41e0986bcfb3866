/// Text helpers for info answers (PROTOCOL.md §2.2, §2.5).
enum InfoText {
    /// Whether `text` may appear in an info value: no TAB, no LF.
    static func isSafeValue(_ text: String) -> Bool {
        !text.utf8.contains { $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\n") }
    }

    /// `text` with every TAB and LF replaced by a space, for names that came from clients (set
    /// names) and so could break the reply's line structure.
    static func safe(_ text: String) -> String {
        guard !isSafeValue(text) else { return text }
        return String(text.map { $0 == "\t" || $0 == "\n" ? " " : $0 })
    }

    /// `key=value` pairs joined with `separator` (`;` for namespace and statistics answers, `:`
    /// inside one `sets` entry).
    static func pairs(_ items: KeyValuePairs<String, String>, separator: String = ";") -> String {
        items.map { "\($0.key)=\($0.value)" }.joined(separator: separator)
    }

    /// `key=value` pairs from an array, joined with `separator`.
    static func pairs(_ items: [(String, String)], separator: String = ";") -> String {
        items.map { "\($0.0)=\($0.1)" }.joined(separator: separator)
    }

    /// Standard base64 (`A–Z a–z 0–9 + /`, `=` padding), as the `replicas` bitmaps use.
    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let remaining = bytes.count - index
            let byte0 = UInt32(bytes[index])
            let byte1 = remaining > 1 ? UInt32(bytes[index + 1]) : 0
            let byte2 = remaining > 2 ? UInt32(bytes[index + 2]) : 0
            let group = byte0 << 16 | byte1 << 8 | byte2
            output.append(alphabet[Int(group >> 18 & 0x3F)])
            output.append(alphabet[Int(group >> 12 & 0x3F)])
            output.append(remaining > 1 ? alphabet[Int(group >> 6 & 0x3F)] : UInt8(ascii: "="))
            output.append(remaining > 2 ? alphabet[Int(group & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }
}
