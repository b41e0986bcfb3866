import NIOCore
import NIOHTTP1

/// Answers `GET /metrics` (and `HEAD`) over HTTP/1.1 with the Prometheus exposition; anything
/// else gets 404 (another path) or 405 (another method). One handler per connection, on its
/// event loop; rendering reads atomics and the namespaces' statistics, and never blocks on a
/// device.
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private let exposition: MetricsExposition
    private var head: HTTPRequestHead?

    init(exposition: MetricsExposition) {
        self.exposition = exposition
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            head = request
        case .body:
            break
        case .end:
            guard let request = head else { return }
            head = nil
            respond(to: request, context: context)
        }
    }

    private func respond(to request: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
        let status: HTTPResponseStatus
        var body: [UInt8]
        if path != "/metrics" {
            status = .notFound
            body = Array("only /metrics is served here\n".utf8)
        } else if request.method != .GET && request.method != .HEAD {
            status = .methodNotAllowed
            body = Array("GET /metrics\n".utf8)
        } else {
            status = .ok
            body = exposition.render()
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: status == .ok ? Self.contentType : "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: "\(body.count)")
        if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
        if request.method == .HEAD { body = [] }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
        if !body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let keepAlive = request.isKeepAlive
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            if !keepAlive { context.close(promise: nil) }
        }
    }
}
