import Glibc
import CairnWire

/// A blocking info-protocol client (PROTOCOL.md §2): one connection, one request frame of
/// `name\n` lines, one type-1 reply frame of `name\tvalue\n` lines.
///
/// Owns its socket; `close()` (or deinit) releases it. Not shared between threads.
final class InfoConnection {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Largest reply body accepted: info answers are text, never this large.
    static let replySizeBytesMax: UInt64 = 64 * 1024 * 1024

    private var fd: Int32
    let host: String
    let port: UInt16

    /// Connects to `host:port` (an IP literal or a name), giving up after `timeoutSeconds` for
    /// the connect and for each later send or receive.
    init(host: String, port: UInt16, timeoutSeconds: Double) throws {
        self.host = host
        self.port = port
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw Failure(description: "\(host):\(port): cannot resolve the address: \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        var connected: Int32 = -1
        while let info = candidate {
            candidate = info.pointee.ai_next
            let s = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            if s < 0 {
                lastError = Self.errnoText()
                continue
            }
            var tv = timeval(tv_sec: Int(timeoutSeconds), tv_usec: Int((timeoutSeconds - Double(Int(timeoutSeconds))) * 1e6))
            _ = setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            _ = setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            if connect(s, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 {
                connected = s
                break
            }
            lastError = Self.errnoText()
            _ = Glibc.close(s)
        }
        guard connected >= 0 else {
            throw Failure(description: "\(host):\(port): cannot connect: \(lastError)")
        }
        fd = connected
    }

    deinit { close() }

    func close() {
        if fd >= 0 {
            _ = Glibc.close(fd)
            fd = -1
        }
    }

    /// Sends `commands` and returns the answers as (line, value) pairs, in reply order.
    func request(_ commands: [String]) throws -> [(line: String, value: String)] {
        precondition(fd >= 0, "request on a closed InfoConnection")
        var writer = WireWriter()
        writer.appendInfoRequestFrame(commands)
        try sendAll(writer.bytes)
        let headerBytes = try receive(count: ProtoHeader.sizeBytes)
        let header = headerBytes.withUnsafeBytes { ProtoHeader.peek($0) }
        guard let header else { throw Failure(description: "\(host):\(port): short reply header") }
        guard header.version == ProtoHeader.currentVersion, header.type == .info else {
            throw Failure(description: "\(host):\(port): reply is not an info frame (version \(header.version), type \(header.typeRaw))")
        }
        guard header.bodySizeBytes <= Self.replySizeBytesMax else {
            throw Failure(description: "\(host):\(port): reply body of \(header.bodySizeBytes) bytes is larger than \(Self.replySizeBytesMax)")
        }
        let body = try receive(count: Int(header.bodySizeBytes))
        let text = String(decoding: body, as: UTF8.self)
        var answers: [(line: String, value: String)] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if let tab = line.firstIndex(of: "\t") {
                answers.append((String(line[..<tab]), String(line[line.index(after: tab)...])))
            } else {
                answers.append((String(line), ""))
            }
        }
        return answers
    }

    /// The value answered for one command, as `asinfo -v` prints it.
    func value(of command: String) throws -> String {
        let answers = try request([command])
        if let match = answers.first(where: { $0.line == command }) { return match.value }
        if answers.count == 1 { return answers[0].value }
        throw Failure(description: "\(host):\(port): no answer for '\(command)' in the reply")
    }

    private func sendAll(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "\(host):\(port): send failed: \(Self.errnoText())")
            }
            sent += n
        }
    }

    private func receive(count: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = buffer.withUnsafeMutableBytes { raw in
                recv(fd, raw.baseAddress! + got, raw.count - got, 0)
            }
            if n < 0 {
                if errno == EINTR { continue }
                let timedOut = errno == EAGAIN || errno == EWOULDBLOCK
                throw Failure(description: "\(host):\(port): \(timedOut ? "no reply in time" : "receive failed: \(Self.errnoText())")")
            }
            if n == 0 {
                throw Failure(description: "\(host):\(port): connection closed after \(got) of \(count) bytes")
            }
            got += n
        }
        return buffer
    }

    static func errnoText(_ code: Int32 = errno) -> String {
        "\(String(cString: strerror(code))) (errno \(code))"
    }
}
