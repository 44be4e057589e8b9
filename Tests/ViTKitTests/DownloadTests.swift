import Foundation
import XCTest
@testable import ViTKit
@testable import ViTKitCore
@testable import ViTKitData
@testable import ViTKitIO
@testable import ViTKitImaging
@testable import ViTKitModels
@testable import ViTKitNN
@testable import ViTKitPictures
@testable import ViTKitTraining

/// `--dataset-download` against a local HTTP server serving small files the test makes: MD5 checks, resuming a
/// dropped download, unpacking a .tar.gz, and the errors. Nothing here touches the network.
final class DownloadTests: XCTestCase {
    /// A ustar archive of (name, bytes) regular files.
    func tar(_ files: [(String, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        for (name, bytes) in files {
            var h = [UInt8](repeating: 0, count: 512)
            func put(_ s: String, _ at: Int) { for (i, b) in s.utf8.enumerated() { h[at + i] = b } }
            put(name, 0); put("0000644", 100); put("0000000", 108); put("0000000", 116)
            put(String(bytes.count, radix: 8).leftPad(11), 124); put("00000000000", 136)
            put("0", 156); put("ustar", 257); put("00", 263)
            put("        ", 148)
            let sum = h.reduce(0) { $0 + Int($1) }
            put(String(sum, radix: 8).leftPad(6) + "\0 ", 148)
            out += h + bytes + [UInt8](repeating: 0, count: (512 - bytes.count % 512) % 512)
        }
        return out + [UInt8](repeating: 0, count: 1024)
    }

    func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        // zlib's deflate stream wrapped as gzip by hand: header, raw deflate would need windowBits; use the gzip tool
        let dir = try temporaryDirectory()
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/a.tar"))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip"); p.arguments = ["-n", dir + "/a.tar"]
        try p.run(); p.waitUntilExit()
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/a.tar.gz")))
    }

    func testFetchChecksMD5AndResumesADroppedDownload() throws {
        let server = try LocalHTTPServer(), dir = try temporaryDirectory()
        var rng = RNG(seed: 2)
        let body = (0..<300_000).map { _ in UInt8(rng.int(below: 256)) }
        server.put("big.bin", body)
        let r = DatasetDownload.Resource(url: server.url("big.bin"), md5: MD5.hex(body), unpack: false)
        server.cutNextResponse(after: 100_000)
        XCTAssertThrowsError(try DatasetDownload.fetch(r, to: dir + "/big.bin")) {
            XCTAssert("\($0)".contains("run again to resume it"), "\($0)")
        }
        let partial = try FileManager.default.attributesOfItem(atPath: dir + "/big.bin.part")[.size] as! Int
        XCTAssertGreaterThan(partial, 0); XCTAssertLessThan(partial, body.count)
        try DatasetDownload.fetch(r, to: dir + "/big.bin")
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/big.bin"))), body)
        XCTAssertEqual(server.requests.last?.range, partial, "the second request asks only for the rest")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/big.bin.part"))

        // a wrong checksum: error naming both sums, and nothing left behind
        let bad = DatasetDownload.Resource(url: server.url("big.bin"), md5: String(repeating: "0", count: 32), unpack: false)
        XCTAssertThrowsError(try DatasetDownload.fetch(bad, to: dir + "/other.bin")) {
            XCTAssert("\($0)".contains("checksum mismatch for \(server.url("big.bin")): MD5 \(MD5.hex(body)), expected 000"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/other.bin"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/other.bin.part"))
        XCTAssertThrowsError(try DatasetDownload.fetch(.init(url: server.url("nope"), md5: "", unpack: false), to: dir + "/x")) {
            XCTAssert("\($0)".contains("HTTP status 404"), "\($0)")
        }
        // a download that fetched nothing leaves no empty part file to "resume" from
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x.part"))
    }

    func testEnsureUnpacksACIFARStyleArchive() throws {
        let server = try LocalHTTPServer(), dir = try temporaryDirectory() + "/cifar"
        let files = [("cifar-10-batches-bin/data_batch_1.bin", [UInt8](repeating: 7, count: 3073)),
                     ("cifar-10-batches-bin/test_batch.bin", [UInt8](repeating: 9, count: 1000))]
        let archive = try gzip(tar(files))
        server.put("cifar.tar.gz", archive)
        let r = DatasetDownload.Resource(url: server.url("cifar.tar.gz"), md5: MD5.hex(archive), unpack: true)
        try DatasetDownload.ensure([r], expected: ["data_batch_1.bin", "test_batch.bin"], in: dir)
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/data_batch_1.bin"))), files[0].1)
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/test_batch.bin"))), files[1].1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/cifar.tar.gz"), "the archive is removed once unpacked")
        let count = server.requests.count
        try DatasetDownload.ensure([r], expected: ["data_batch_1.bin", "test_batch.bin"], in: dir)
        XCTAssertEqual(server.requests.count, count, "files already there: nothing fetched")
        // an archive that tries to write outside the folder is refused
        let evil = try gzip(tar([("top/../../evil.txt", [1, 2, 3])]))
        server.put("evil.tar.gz", evil)
        XCTAssertThrowsError(try DatasetDownload.ensure([.init(url: server.url("evil.tar.gz"), md5: MD5.hex(evil), unpack: true)],
                                                        expected: ["x"], in: dir + "2")) {
            XCTAssert("\($0)".contains("points outside the target folder"), "\($0)")
        }
        XCTAssertEqual(MD5.hex(Array("abc".utf8)), "900150983cd24fb0d6963f7d28e17f72")
        XCTAssertEqual(try DatasetDownload.resources(for: "cifar10").files[0].md5, "c32a1d4ab5d03f1284b67883e8d87530")
    }
}

extension String {
    func leftPad(_ n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
