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

/// A Google-layout `.npz` (scripts/make_npz_fixture.py) loads as timm's `_load_weights` loads it.
final class GoogleViTWeightsTests: XCTestCase {
    static let reference: [String: SafeTensors.Tensor] = {
        let url = Bundle.module.url(forResource: "google_vit_reference", withExtension: "safetensors", subdirectory: "Fixtures")!
        return try! SafeTensors.read(path: url.path).tensors
    }()
    static var npz: String { Bundle.module.url(forResource: "google_vit", withExtension: "npz", subdirectory: "Fixtures")!.path }

    /// timm's stock ViT with the fixture's sizes at `imgSize`.
    func model(imgSize: Int, classes: Int = 10) throws -> VisionTransformer {
        var c = ModelTests.config("vit_token_learn")
        c.imgSize = imgSize; c.numClasses = classes
        return try VisionTransformer(config: c, pool: Pools.two)
    }

    func logits(_ m: VisionTransformer, _ x: String) -> [Float] {
        let x = Self.reference[x]!
        let out = m.forward(images: x.values, batch: x.shape[0])
        return Array(UnsafeBufferPointer(start: out, count: x.shape[0] * m.config.numClasses))
    }

    func testSameGridGivesTimmsLogits() throws {
        let m = try model(imgSize: 16)
        let report = try GoogleViTWeights.load(m, from: Self.npz)
        XCTAssertEqual(Set(report.loaded), Set(m.table.entries.map(\.name)), "every parameter comes from the file")
        assertClose(logits(m, "x16"), Self.reference["logits16"]!.values, tol: 1e-5, "logits after _load_weights")
    }

    /// A 24×24 model: the 4×4 position grid is resampled to 6×6 (class token row kept), as timm does.
    func testPositionEmbeddingResampledToANewGrid() throws {
        let m = try model(imgSize: 24)
        try GoogleViTWeights.load(m, from: Self.npz)
        assertClose(Array(m.parameter("pos_embed")!), Self.reference["param24.pos_embed"]!.values, tol: 1e-6, "resampled pos_embed")
        assertClose(logits(m, "x24"), Self.reference["logits24"]!.values, tol: 1e-5, "logits on the 6×6 grid")
    }

    /// Another class count: the head keeps its init (fine-tuning), everything else is loaded.
    func testHeadKeptForAnotherClassCount() throws {
        let m = try model(imgSize: 24, classes: 5)
        var rng = RNG(seed: 3)
        try m.initialize(.timm, rng: &rng)
        let head = Array(m.parameter("head.weight")!)
        let report = try GoogleViTWeights.load(m, from: Self.npz)
        XCTAssertEqual(Array(m.parameter("head.weight")!), head)
        XCTAssertEqual(report.kept["head"], "the checkpoint's head has 10 classes, the model 5")
        for e in m.table.entries where !e.name.hasPrefix("head") {  // copied exactly; pos_embed resampled (rounding)
            let got = Array(m.parameter(e.name)!), want = Self.reference["param24.\(e.name)"]!.values
            if e.name == "pos_embed" { assertClose(got, want, tol: 1e-6, e.name) } else { XCTAssertEqual(got, want, e.name) }
        }
    }

    func testNotAGoogleCheckpoint() throws {
        let root = try temporaryDirectory()
        let ours = try VisionTransformer(config: ModelTests.config("vit_avg_sincos"), pool: Pools.one)
        let report = try GoogleViTWeights.load(ours, from: Self.npz)
        XCTAssertEqual(report.kept["pos_embed"], "the model's position embedding is the fixed sin-cos table")
        XCTAssertEqual(report.kept["fc_norm"], "timm loads encoder_norm only into norm")
        try FileManager.default.copyItem(atPath: Bundle.module.url(forResource: "timm_vit_token", withExtension: "safetensors",
                                                                   subdirectory: "Fixtures")!.path, toPath: root + "/x.npz")
        XCTAssertThrowsError(try GoogleViTWeights.load(ours, from: root + "/x.npz")) {
            XCTAssert("\($0)".contains("cannot be opened as a zip archive"), "\($0)")
        }
    }
}
