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

/// A safetensors fixture of Tests/ViTKitTests/Fixtures, by file name without the extension.
func fixtureTensors(_ name: String) throws -> [String: SafeTensors.Tensor] {
    let url = try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures"))
    return try SafeTensors.read(path: url.path).tensors
}

/// Loads a fixture's `param.<name>` tensors into `model`, every one and no other (timm's state_dict, strict).
func loadFixtureParameters(_ model: any ImageClassifier, _ t: [String: SafeTensors.Tensor]) throws {
    let weights = Dictionary(uniqueKeysWithValues: t.filter { $0.key.hasPrefix("param.") }.map { (String($0.key.dropFirst(6)), $0.value) })
    try Checkpoint.load(model, tensors: weights, what: "fixture")
}

/// One training step of `model` on the fixture's `x` and `y` (label smoothing 0.1) against torch's: the loss
/// within 1e-5, the logits within 1e-4 and every gradient within 2e-4 of their scale.
func assertTrainingStepMatches(_ model: VisionTransformer, _ t: [String: SafeTensors.Tensor], batch: Int,
                               file: StaticString = #filePath, line: UInt = #line) {
    let labels = t["y"]!.values.map { Int32($0) }, classes = model.numClasses
    let loss = t["x"]!.values.withUnsafeBufferPointer { x in
        labels.withUnsafeBufferPointer { model.lossAndGradients(images: x.baseAddress!, labels: $0.baseAddress!, batch: batch, smoothing: 0.1) }
    }
    XCTAssertEqual(loss, t["loss"]!.values[0], accuracy: 1e-5, "loss", file: file, line: line)
    assertClose(Array(UnsafeBufferPointer(start: model.logits, count: batch * classes)), t["logits"]!.values, tol: 1e-4, "logits",
                file: file, line: line)
    for e in model.table.entries {
        assertClose(Array(model.gradient(e.name)!), t["grad.\(e.name)"]!.values, tol: 2e-4, "grad \(e.name)", file: file, line: line)
    }
}
