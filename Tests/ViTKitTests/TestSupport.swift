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

/// The PyTorch reference values written by scripts/make_fixtures.py.
enum Fixture {
    static let tensors: [String: SafeTensors.Tensor] = {
        let url = Bundle.module.url(forResource: "torch_reference", withExtension: "safetensors", subdirectory: "Fixtures")!
        return try! SafeTensors.read(path: url.path).tensors
    }()

    static func get(_ name: String, file: StaticString = #filePath, line: UInt = #line) -> [Float] {
        guard let t = tensors[name] else { XCTFail("fixture has no tensor \(name)", file: file, line: line); return [] }
        return t.values
    }

    static func shape(_ name: String) -> [Int] { tensors[name]!.shape }
}

/// Shared pools: threads live for the whole test run.
enum Pools {
    static let one = ThreadPool(threads: 1)
    static let two = ThreadPool(threads: 2)
}

/// Asserts max|a − b| ≤ tol · max(max|b|, floor): error relative to the tensor's scale.
func assertClose(_ actual: [Float], _ expected: [Float], tol: Float, floor: Float = 1e-6, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "\(what): element count", file: file, line: line)
    guard actual.count == expected.count, !expected.isEmpty else { return }
    var maxErr: Float = 0, scale: Float = floor, worst = 0
    for i in expected.indices {
        let e = abs(actual[i] - expected[i])
        if !(e <= maxErr) { maxErr = e; worst = i }
        scale = max(scale, abs(expected[i]))
    }
    XCTAssert(maxErr <= tol * scale,
              "\(what): max error \(maxErr) at \(worst) (got \(actual[worst]), expected \(expected[worst])) > \(tol) × scale \(scale)",
              file: file, line: line)
}

extension XCTestCase {
    /// The built `vitkit` binary: the test bundle sits in the build products folder next to it.
    func vitkitBinary(file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let products = Bundle(for: Self.self).bundleURL
        guard let bin = [products, products.deletingLastPathComponent()].map({ $0.appendingPathComponent("vitkit") })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            XCTFail("vitkit binary not built next to \(products.path)", file: file, line: line)
            throw ViTKitError("no vitkit binary")
        }
        return bin
    }

    /// A fresh folder under the system's temporary directory, removed when the test ends.
    func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "vitkit-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }
}
