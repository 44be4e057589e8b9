import Foundation
@testable import ViTKit
@testable import ViTKitCore
@testable import ViTKitData
@testable import ViTKitIO
@testable import ViTKitImaging
@testable import ViTKitModels
@testable import ViTKitNN
@testable import ViTKitPictures
@testable import ViTKitTraining
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 file server on 127.0.0.1 for the download tests: GET with optional `Range: bytes=N-`,
/// one request per connection, and a switch that cuts the next response short (a dropped download).
final class LocalHTTPServer: @unchecked Sendable {
    private let fd: Int32
    let port: UInt16
    private let lock = NSLock()
    private var files: [String: [UInt8]] = [:]
    private var cutNextAfter: Int?
    private(set) var requests: [(path: String, range: Int?)] = []

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 8) == 0 else { throw ViTKitError("test server: cannot listen on 127.0.0.1") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        self.fd = fd
        port = UInt16(bigEndian: addr.sin_port)
        Thread.detachNewThread { [self] in serve() }
    }

    deinit { close(fd) }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)/\(path)" }
    func put(_ path: String, _ bytes: [UInt8]) { lock.lock(); files[path] = bytes; lock.unlock() }
    func cutNextResponse(after bytes: Int) { lock.lock(); cutNextAfter = bytes; lock.unlock() }

    private func serve() {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 { return }
            handle(c)
            close(c)
        }
    }

    private func handle(_ c: Int32) {
        var request = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 4096)
        while !String(decoding: request, as: UTF8.self).contains("\r\n\r\n") {
            let n = recv(c, &buf, buf.count, 0)
            if n <= 0 { return }
            request += buf[0..<n]
        }
        let lines = String(decoding: request, as: UTF8.self).components(separatedBy: "\r\n")
        let path = String(lines[0].split(separator: " ")[1].dropFirst())
        let range = lines.first { $0.lowercased().hasPrefix("range: bytes=") }
            .flatMap { Int($0.dropFirst("range: bytes=".count).prefix { $0.isNumber }) }
        lock.lock()
        requests.append((path, range))
        let body = files[path], cut = cutNextAfter
        cutNextAfter = nil
        lock.unlock()
        func send(_ bytes: [UInt8]) { var o = 0; while o < bytes.count { let n = bytes[o...].withUnsafeBytes { Glibc.send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }; if n <= 0 { return }; o += n } }
        guard let body else { send(Array("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)); return }
        let start = min(range ?? 0, body.count)
        let head = range == nil
            ? "HTTP/1.1 200 OK\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
            : "HTTP/1.1 206 Partial Content\r\nContent-Length: \(body.count - start)\r\nContent-Range: bytes \(start)-\(body.count - 1)/\(body.count)\r\nConnection: close\r\n\r\n"
        send(Array(head.utf8))
        let rest = Array(body[start...])
        send(cut.map { Array(rest.prefix($0)) } ?? rest)
    }
}
