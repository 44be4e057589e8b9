import Foundation
import XCTest
import ZIPFoundation
@testable import ViTKit
@testable import ViTKitCore
@testable import ViTKitData
@testable import ViTKitIO
@testable import ViTKitImaging
@testable import ViTKitModels
@testable import ViTKitNN
@testable import ViTKitPictures
@testable import ViTKitTraining

/// `.npy` and `.npz` files the tests write: dtypes, Fortran order, versions, zip entries stored and deflated, and
/// bad input (truncated files, unknown dtypes), plus a mutation fuzz of the `.npy` parser.
final class NumPyTests: XCTestCase {
    /// A version-1 `.npy` file as NumPy writes it (header padded with spaces to a multiple of 64, ending in \n).
    static func npy(descr: String, shape: [Int], fortran: Bool = false, data: [UInt8], version: UInt8 = 1) -> Data {
        let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': (\(dims)), }"
        let lengthBytes = version == 1 ? 2 : 4
        while (10 + lengthBytes - 2 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var d = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0])
        let n = header.utf8.count
        for i in 0..<lengthBytes { d.append(UInt8(truncatingIfNeeded: n >> (8 * i))) }
        d.append(contentsOf: Array(header.utf8)); d.append(contentsOf: data)
        return d
    }

    static func f32(_ v: [Float]) -> [UInt8] { v.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) } }

    func testDtypesOrderAndVersions() throws {
        let a = try NumPy.parseNPY(Self.npy(descr: "<f4", shape: [2, 3], data: Self.f32([0, 1, 2, 3, 4, 5])), what: "a")
        XCTAssertEqual(a.shape, [2, 3]); XCTAssertEqual(a.values, [0, 1, 2, 3, 4, 5])
        // Fortran order: column-major bytes, read back in C order
        let f = try NumPy.parseNPY(Self.npy(descr: "<f4", shape: [2, 3], fortran: true, data: Self.f32([0, 3, 1, 4, 2, 5])), what: "f")
        XCTAssertEqual(f.values, [0, 1, 2, 3, 4, 5])
        let d = try NumPy.parseNPY(Self.npy(descr: "<f8", shape: [2], data: [1.5, -0.25].flatMap { (x: Double) in
            withUnsafeBytes(of: x.bitPattern.littleEndian, Array.init) }, version: 2), what: "d")
        XCTAssertEqual(d.values, [1.5, -0.25])
        let h = try NumPy.parseNPY(Self.npy(descr: "<f2", shape: [], data: [0x00, 0x3E]), what: "h")
        XCTAssertEqual(h.shape, []); XCTAssertEqual(h.values, [1.5])
        let u = try NumPy.parseNPY(Self.npy(descr: "|u1", shape: [3], data: [0, 7, 255], version: 3), what: "u")
        XCTAssertEqual(u.values, [0, 7, 255])
    }

    func testBadNPYAreClearErrors() {
        func error(_ d: Data) -> String { do { _ = try NumPy.parseNPY(d, what: "x.npy"); return "(parsed)" } catch { return "\(error)" } }
        XCTAssertEqual(error(Data("PK\u{3}\u{4}....".utf8)), "x.npy is not a .npy array (it does not start with \\x93NUMPY)")
        XCTAssertEqual(error(Self.npy(descr: "<f4", shape: [2, 3], data: Self.f32([1, 2, 3]))),
                       "x.npy: shape [2, 3] of <f4 needs 24 bytes but 12 follow the header; the file is truncated")
        XCTAssertEqual(error(Self.npy(descr: ">f4", shape: [1], data: [0, 0, 0, 0])),
                       "x.npy: dtype >f4 is not one ViTKit reads (little-endian float32, float64, float16 or bytes)")
        XCTAssertEqual(error(Self.npy(descr: "<f4", shape: [1], data: []).prefix(20)),
                       "x.npy: the .npy header says 118 bytes but 10 follow; the file is truncated")
    }

    func testNPZStoredAndDeflatedAndTruncated() throws {
        let root = try temporaryDirectory(), path = root + "/w.npz"
        let archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .create)
        let entries: [(String, Data, CompressionMethod)] = [
            ("embedding/kernel.npy", Self.npy(descr: "<f4", shape: [2, 2], data: Self.f32([1, 2, 3, 4])), .none),
            ("head/bias.npy", Self.npy(descr: "<f4", shape: [3], data: Self.f32([5, 6, 7])), .deflate),
        ]
        for (name, data, method) in entries {
            try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count), compressionMethod: method) { pos, size in
                data.subdata(in: Int(pos)..<Int(pos) + size)
            }
        }
        let w = try NumPy.readNPZ(path: path)
        XCTAssertEqual(w.keys.sorted(), ["embedding/kernel", "head/bias"])
        XCTAssertEqual(w["embedding/kernel"]?.values, [1, 2, 3, 4]); XCTAssertEqual(w["head/bias"]?.values, [5, 6, 7])
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        try whole.prefix(whole.count - 30).write(to: URL(fileURLWithPath: root + "/cut.npz"))
        XCTAssertThrowsError(try NumPy.readNPZ(path: root + "/cut.npz")) {
            XCTAssert("\($0)".contains(".npz file \(root)/cut.npz") && "\($0)".contains("truncated"), "\($0)")
        }
    }

    /// Seeded mutations of a valid `.npy` (header bytes, truncations, header-length rewrites): each parses or throws.
    func testNPYParserSurvivesMutatedInput() {
        let valid = [UInt8](Self.npy(descr: "<f4", shape: [2, 3], fortran: true, data: Self.f32([0, 1, 2, 3, 4, 5])))
        var rng = RNG(seed: 12)
        var parsed = 0, refused = 0
        let runs = 20_000
        for _ in 0..<runs {
            var d = valid
            switch rng.int(below: 3) {
            case 0: for _ in 0..<(1 + rng.int(below: 4)) { d[rng.int(below: min(d.count, 80))] = UInt8(truncatingIfNeeded: rng.next()) }
            case 1: d = Array(d.prefix(rng.int(below: d.count)))
            default:
                let tokens = ["(", ")", ",", "'", "-1", "99999999999999999999", "True", "'<f8'", "}", "1e9"]
                d.insert(contentsOf: Array(tokens[rng.int(below: tokens.count)].utf8), at: 10 + rng.int(below: 60))
            }
            do { _ = try NumPy.parseNPY(Data(d), what: "fuzz"); parsed += 1 } catch { refused += 1 }
        }
        XCTAssertEqual(parsed + refused, runs)
        XCTAssertGreaterThan(refused, runs / 2)
        print(".npy fuzz: \(runs) mutated inputs, \(parsed) parsed, \(refused) refused with an error, 0 crashes")
    }
}
