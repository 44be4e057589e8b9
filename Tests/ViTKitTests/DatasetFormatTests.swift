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

/// CIFAR-100 and SVHN (MATLAB v5) files the tests write, a .mat made by scipy, and clear errors for bad files.
final class DatasetFormatTests: XCTestCase {
    func testCIFAR100RecordsWithCoarseAndFineLabels() throws {
        let dir = try temporaryDirectory()
        var bytes: [UInt8] = []
        for r in 0..<5 { bytes += [UInt8(r % 20), UInt8(99 - r)] + (0..<3072).map { UInt8(($0 + r) % 256) } }
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/train.bin"))
        for (coarse, labels) in [(false, [99, 98, 97, 96, 95]), (true, [0, 1, 2, 3, 4])] {
            let (images, got) = try CIFARBinary.read(dataset: "CIFAR-100", directory: dir, files: ["train.bin"], records: 5,
                                                     labelBytes: 2, labelIndex: coarse ? 0 : 1,
                                                     numClasses: coarse ? 20 : 100, expected: "train.bin")
            XCTAssertEqual(got, labels.map(Int32.init))
            XCTAssertEqual(images.count, 5 * 3072)
            XCTAssertEqual(images[3 * 3072 + 10], 13)
        }
        XCTAssertEqual(CIFAR100.fineNames.count, 100); XCTAssertEqual(CIFAR100.coarseNames.count, 20)
        XCTAssertEqual(Set(CIFAR100.fineNames).count, 100)
        // the real loader wants 50 000 records: this 5-record file is reported as truncated
        XCTAssertThrowsError(try CIFAR100.load(directory: dir, train: true)) {
            XCTAssert("\($0)".contains("CIFAR-100 file \(dir)/train.bin has \(5 * 3074) bytes: expected \(50000 * 3074)"), "\($0)")
        }
        XCTAssertThrowsError(try CIFAR100.load(directory: dir, train: false)) {
            XCTAssert("\($0)".contains("\(dir)/test.bin does not exist") && "\($0)".contains("train.bin, test.bin"), "\($0)")
        }
        bytes[1] = 100  // fine label out of range
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/train.bin"))
        XCTAssertThrowsError(try CIFARBinary.read(dataset: "CIFAR-100", directory: dir, files: ["train.bin"], records: 5,
                                                  labelBytes: 2, labelIndex: 1, numClasses: 100, expected: "")) {
            XCTAssert("\($0)".contains("record 0 has label 100, expected 0...99"), "\($0)")
        }
    }

    /// A MATLAB level-5 file: header, then one matrix element per variable, each zlib-compressed or not.
    func matFile(_ variables: [(name: String, dims: [Int], classID: Int, type: Int, data: [UInt8])],
                 compressed: Bool) -> [UInt8] {
        func le32(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian, Array.init) }
        func element(_ type: Int, _ payload: [UInt8]) -> [UInt8] {
            le32(type) + le32(payload.count) + payload + [UInt8](repeating: 0, count: (8 - payload.count % 8) % 8)
        }
        var header = Array("MATLAB 5.0 MAT-file, written by ViTKit's tests".utf8)
        header += [UInt8](repeating: 0x20, count: 116 - header.count) + [UInt8](repeating: 0, count: 8) + [0x00, 0x01]
        header += Array("IM".utf8)
        var out = header
        for v in variables {
            let matrix = element(6, le32(v.classID) + le32(0)) + element(5, v.dims.flatMap(le32))
                + element(1, Array(v.name.utf8)) + element(v.type, v.data)
            let full = element(14, matrix)
            out += compressed ? le32(15) + le32(Zlib.deflate(full).count) + Zlib.deflate(full) : full
        }
        return out
    }

    /// X[r, c, ch, i] = (7r + 3c + 50ch + 11i) mod 256, column-major, as in scripts/make_mat_fixture.py.
    static func svhnPixels(_ n: Int) -> [UInt8] {
        var x = [UInt8](repeating: 0, count: 3072 * n)
        for i in 0..<n { for ch in 0..<3 { for c in 0..<32 { for r in 0..<32 {
            x[r + 32 * c + 1024 * ch + 3072 * i] = UInt8((7 * r + 3 * c + 50 * ch + 11 * i) % 256)
        } } } }
        return x
    }

    func checkSVHN(_ d: ImageDataset, labels: [Int32], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(d.labels, labels, file: file, line: line)
        XCTAssertEqual(d.numClasses, 10, file: file, line: line)
        // ours is [image][channel][row][col]
        for (i, ch, r, c) in [(0, 0, 0, 0), (1, 2, 5, 17), (3, 1, 31, 2)] {
            XCTAssertEqual(d.images[i * 3072 + ch * 1024 + r * 32 + c], UInt8((7 * r + 3 * c + 50 * ch + 11 * i) % 256),
                           "image \(i) channel \(ch) row \(r) col \(c)", file: file, line: line)
        }
    }

    func testSVHNFromMATv5CompressedAndPlain() throws {
        let dir = try temporaryDirectory()
        let y: [Double] = [1, 10, 3, 5]
        for compressed in [true, false] {
            let file = matFile([("X", [32, 32, 3, 4], 9, 2, Self.svhnPixels(4)),
                                ("y", [4, 1], 6, 9, y.flatMap { withUnsafeBytes(of: $0, Array.init) })], compressed: compressed)
            try Data(file).write(to: URL(fileURLWithPath: dir + "/test_32x32.mat"))
            checkSVHN(try SVHN.load(directory: dir, train: false), labels: [1, 0, 3, 5])
        }
        // y stored narrower than its class (uint8 data for a double array), as MATLAB does to save space
        let file = matFile([("X", [32, 32, 3, 4], 9, 2, Self.svhnPixels(4)), ("y", [4, 1], 6, 2, [1, 10, 3, 5])],
                           compressed: true)
        try Data(file).write(to: URL(fileURLWithPath: dir + "/train_32x32.mat"))
        checkSVHN(try SVHN.load(directory: dir, train: true), labels: [1, 0, 3, 5])
    }

    func testSVHNFromAFileScipyWrote() throws {
        let dir = try temporaryDirectory()
        let fixture = Bundle.module.url(forResource: "svhn_scipy", withExtension: "mat", subdirectory: "Fixtures")!
        try FileManager.default.copyItem(atPath: fixture.path, toPath: dir + "/test_32x32.mat")
        checkSVHN(try SVHN.load(directory: dir, train: false), labels: [1, 0, 3, 5])
    }

    func testBadMATFilesGiveClearErrors() throws {
        let dir = try temporaryDirectory(), path = dir + "/train_32x32.mat"
        func write(_ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }
        func expect(_ text: String, line: UInt = #line) {
            XCTAssertThrowsError(try SVHN.load(directory: dir, train: true), line: line) {
                XCTAssert("\($0)".contains(path) && "\($0)".contains(text), "\($0)", line: line)
            }
        }
        let x = ("X", [32, 32, 3, 2], 9, 2, Self.svhnPixels(2)), y = ("y", [2, 1], 6, 2, [UInt8]([1, 2]))
        try write(matFile([x], compressed: true))
        expect("has no variable 'y' (it has: X): expected X (32×32×3×N uint8) and y (N labels)")
        try write(matFile([("X", [32, 32, 2], 9, 2, [UInt8](repeating: 0, count: 2048)), y], compressed: false))
        expect("X has shape 32×32×2 (storage type 2): expected 32×32×3×N uint8")
        try write(matFile([x, ("y", [3, 1], 6, 2, [UInt8]([1, 2, 3]))], compressed: false))
        expect("y has 3 labels for 2 images in X")
        try write(matFile([x, ("y", [2, 1], 6, 2, [UInt8]([1, 11]))], compressed: false))
        expect("label 1 is 11.0, expected 1…10")
        let good = matFile([x, y], compressed: false)
        try write(Array(good.prefix(good.count - 100)))
        expect("truncated")
        let goodCompressed = matFile([x, y], compressed: true)
        var corrupt = goodCompressed
        for i in 150..<170 { corrupt[i] ^= 0x5A }
        try write(corrupt)
        expect("corrupt compressed data")
        var v73 = Array("MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: HDF5 schema 1.00 .".utf8)
        v73 += [UInt8](repeating: 0, count: 600 - v73.count)
        v73.replaceSubrange(512..<520, with: [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A])
        try write(v73)
        expect("is a MATLAB v7.3 (HDF5) .mat file, which is not supported")
        try write(Array("hello, this is not a mat file".utf8) + [UInt8](repeating: 0, count: 200))
        expect("is not a MATLAB .mat file")
        try FileManager.default.removeItem(atPath: path)
        expect("does not exist: expected train_32x32.mat and test_32x32.mat")
    }
}
