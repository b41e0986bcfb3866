import CairnConfig
import Foundation
import Glibc

/// Before the pid file is claimed and any namespace opens (which can take a long cold start),
/// checks that the service address and port can be bound: a socket with SO_REUSEADDR (as the
/// server's own) is bound to it and closed again. A port another process listens on fails the
/// start at once with a message naming the address, the port and the config line to change.
enum PortCheck {
    struct Unavailable: Error, CustomStringConvertible {
        let address: String
        let port: UInt16
        let errno: Int32

        var description: String {
            let why = String(cString: strerror(errno))
            switch errno {
            case EADDRINUSE:
                return "service port \(port) on \(address) is already in use (another process listens on it, still after "
                    + "\(PortCheck.releaseGraceSeconds) s): stop that process or set 'network { service { port … } }' to a free port"
            case EACCES:
                return "service port \(port) on \(address) may not be bound by this user (\(why)): "
                    + "use a port ≥ 1024, or run with CAP_NET_BIND_SERVICE"
            case EADDRNOTAVAIL:
                return "service address \(address) is not an address of this machine (\(why)): "
                    + "set 'network { service { address … } }' to one of its addresses or 'any'"
            default:
                return "cannot bind service port \(port) on \(address): \(why) (errno \(errno))"
            }
        }
    }

    static func check(_ endpoint: NetworkEndpoint) throws {
        let fd = try listeningSocket(address: bindAddress(endpoint), port: endpoint.port)
        if fd >= 0 { close(fd) }
    }

    /// The address the server binds for `endpoint` (`any` is 0.0.0.0, as the daemon passes it).
    static func bindAddress(_ endpoint: NetworkEndpoint) -> String {
        endpoint.isAnyAddress ? "0.0.0.0" : endpoint.address
    }

    /// How long a port in use is tried again before the start fails. A daemon killed with
    /// SIGKILL can hold its listening socket for a moment after it is gone: the kernel tears its
    /// io_uring rings down afterwards, on a worker of its own, and the socket closes only then
    /// (a restart right after `kill -9` found the port taken).
    static let releaseGraceSeconds = 2

    /// A socket bound to `address`:`port` and listening (SO_REUSEADDR, close-on-exec), or -1 when
    /// the address is not a literal or no socket can be made (the server then reports it). A
    /// port in use is tried again every 20 ms for ``releaseGraceSeconds``.
    static func listeningSocket(address: String, port: UInt16) throws -> Int32 {
        let deadline = Date().addingTimeInterval(Double(releaseGraceSeconds))
        while true {
            do {
                return try listeningSocketOnce(address: address, port: port)
            } catch let unavailable as Unavailable where unavailable.errno == EADDRINUSE && Date() < deadline {
                usleep(20_000)
            }
        }
    }

    private static func listeningSocketOnce(address: String, port: UInt16) throws -> Int32 {
        var v4 = sockaddr_in()
        var v6 = sockaddr_in6()
        let family: Int32
        if inet_pton(AF_INET, address, &v4.sin_addr) == 1 {
            family = AF_INET
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
        } else if inet_pton(AF_INET6, address, &v6.sin6_addr) == 1 {
            family = AF_INET6
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = port.bigEndian
        } else {
            return -1  // not a literal: the server reports it
        }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return -1 }  // no socket at all: the server reports it
        var keep = false
        defer { if !keep { close(fd) } }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc: Int32
        if family == AF_INET {
            rc = withUnsafePointer(to: &v4) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        } else {
            rc = withUnsafePointer(to: &v6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        if rc != 0 { throw Unavailable(address: address, port: port, errno: errno) }
        // listen too: with SO_REUSEADDR, bind alone can succeed beside a socket that only binds.
        if listen(fd, 16) != 0 { throw Unavailable(address: address, port: port, errno: errno) }
        keep = true
        return fd
    }
}
