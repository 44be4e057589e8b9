import Foundation
import XCTest
@testable import ViTKit
@testable import ViTKitCore
@testable import ViTKitIO
@testable import ViTKitModels
@testable import ViTKitTraining
@testable import ViTKitCLI

/// Non-square inputs against timm (`scripts/make_nonsquare_fixtures.py`): a 16×24 ViT (4×6 patch grid) gives
/// timm's logits, loss and every gradient; the sin-cos table of a rectangular grid is timm's
/// `build_sincos2d_pos_embed`; what needs a square grid or square data says so.
final class NonSquareTests: XCTestCase {
    static let fixture: [String: SafeTensors.Tensor] = {
        let url = Bundle.module.url(forResource: "timm_nonsquare", withExtension: "safetensors", subdirectory: "Fixtures")!
        return try! SafeTensors.read(path: url.path).tensors
    }()

    static func config() -> ViTConfig {
        var c = ViTConfig(name: "rect", imgSize: 16, patchSize: 4, numClasses: 5, embedDim: 32, depth: 2, numHeads: 2)
        c.imgWidth = 24; c.classToken = true; c.globalPool = .token; c.posEmbed = .learn; c.noEmbedClass = false
        return c
    }

    func testForwardAndEveryGradientMatchTimm() throws {
        let t = Self.fixture, c = Self.config()
        XCTAssertEqual([c.gridHeight, c.gridWidth, c.numPatches, c.numTokens], [4, 6, 24, 25])
        let m = try VisionTransformer(config: c, pool: Pools.two)
        let weights = Dictionary(uniqueKeysWithValues: t.filter { $0.key.hasPrefix("param.") }.map { (String($0.key.dropFirst(6)), $0.value) })
        try Checkpoint.load(m, tensors: weights, what: "fixture")
        let labels = t["y"]!.values.map { Int32($0) }
        let loss = t["x"]!.values.withUnsafeBufferPointer { x in
            labels.withUnsafeBufferPointer { m.lossAndGradients(images: x.baseAddress!, labels: $0.baseAddress!, batch: 3, smoothing: 0.1) }
        }
        XCTAssertEqual(loss, t["loss"]!.values[0], accuracy: 1e-5)
        assertClose(Array(UnsafeBufferPointer(start: m.logits, count: 15)), t["logits"]!.values, tol: 1e-4, "logits")
        for e in m.table.entries {
            assertClose(Array(m.gradient(e.name)!), t["grad.\(e.name)"]!.values, tol: 2e-4, "grad \(e.name)")
        }
        XCTAssertEqual(m.inputWidth, 24)
    }

    func testRectangularSinCosTableIsTimms() {
        assertClose(sincos2DPositionEmbedding(gridHeight: 4, gridWidth: 6, dim: 32), Self.fixture["sincos_4x6"]!.values, tol: 1e-6, "4×6")
        assertClose(sincos2DPositionEmbedding(gridHeight: 6, gridWidth: 4, dim: 32), Self.fixture["sincos_6x4"]!.values, tol: 1e-6, "6×4")
    }

    /// The Swift API takes vit-pytorch's (H, W); the CLI `--img-size H W` and timm's `--input-size 3 H W`.
    func testTheApiAndTheCommandLineTakeRectangles() throws {
        let vit = try ViT(imageSize: 16, imageWidth: 24, patchSize: 8, numClasses: 3, dim: 16, depth: 1, heads: 2, mlpDim: 32)
        let out = try vit(Tensor(shape: [2, 3, 16, 24], values: [Float](repeating: 0.1, count: 2 * 3 * 16 * 24)))
        XCTAssertEqual(out.shape, [2, 3])
        XCTAssertThrowsError(try vit(Tensor(shape: [2, 3, 16, 16], values: [Float](repeating: 0, count: 2 * 3 * 16 * 16))))
        let args = try ConfigFile.expand(["train", "--input-size", "3", "64", "32"])
        XCTAssertEqual(args, ["train", "--img-size", "64", "32"])
        let cmd = try XCTUnwrap(try VitkitCommand.parseAsRoot(args + ["--patch-size", "8"]) as? TrainCommand)
        let c = try cmd.model.resolve(numClasses: 10)
        XCTAssertEqual([c.imgSize, c.width, c.gridHeight, c.gridWidth], [64, 32, 8, 4])
        // square training data is refused with what is missing; so are the inits that need a square grid
        let (train, _) = TrainingTests.data()
        XCTAssertThrowsError(try train.checkFits(.vit(c), role: "training")) {
            XCTAssert("\($0)".contains("model small expects 3×64×32 (non-square training data is not implemented yet)"), "\($0)")
        }
        let m = try VisionTransformer(config: c, pool: Pools.one)
        var rng = RNG(seed: 1)
        XCTAssertThrowsError(try m.initialize(try InitMode(parsing: "impulse3"), rng: &rng)) {
            XCTAssert("\($0)".contains("square patch grid; the model's is 8×4"), "\($0)")
        }
        XCTAssertNoThrow(try m.initialize(try InitMode(parsing: "mimetic0.7_0.7"), rng: &rng))
    }
}
