import Foundation
import XCTest
@testable import ViTKit
@testable import ViTKitCore
@testable import ViTKitData
@testable import ViTKitIO
@testable import ViTKitModels
@testable import ViTKitTraining

/// The Swift API a person writes against: `ViT` with vit-pytorch's shape, owned `Tensor`s, datasets from arrays,
/// timm files in and out.
final class SwiftAPITests: XCTestCase {
    func testAViTInTenLines() throws {
        let vit = try ViT(imageSize: 16, patchSize: 4, numClasses: 5, dim: 32, depth: 2, heads: 2, mlpDim: 64, threads: Pools.two)
        let c = vit.model.config
        XCTAssertEqual([c.embedDim, c.depth, c.numHeads, c.mlpHidden, c.numClasses], [32, 2, 2, 64, 5])
        XCTAssert(c.classToken && c.globalPool == .token && c.posEmbed == .learn, "vit-pytorch's defaults: cls pooling, learned positions")
        // comes initialised: timm's init, seeded
        // held in a local: a parameter view points into its model's buffer (AddressSanitizer caught a temporary
        // model freed before its view was copied)
        let twin = try ViT(imageSize: 16, patchSize: 4, numClasses: 5, dim: 32, depth: 2, heads: 2, mlpDim: 64)
        XCTAssertEqual(twin.model.parameter("head.weight").map(Array.init), vit.model.parameter("head.weight").map(Array.init))
        XCTAssertNotEqual(vit.model.parameter("blocks.0.attn.qkv.weight")!.map { $0 }.reduce(0) { $0 + abs($1) }, 0)
        var rng = RNG(seed: 3)
        let x = try Tensor(shape: [3, 3, 16, 16], values: (0..<(3 * 768)).map { _ in rng.normal() })
        let logits = try vit(x)
        XCTAssertEqual(logits.shape, [3, 5])
        // an owned value: a second call leaves the first result as it was
        let kept = logits.values
        let again = try vit(try Tensor(shape: [1, 3, 16, 16], values: Array(x.values.prefix(768))))
        assertClose(Array(again[row: 0]), Array(logits[row: 0]), tol: 1e-5, "one image alone, or first of three")
        XCTAssertEqual(logits.values, kept)
        vit.model.reserve(batch: 3)
        let direct = vit.model.forward(images: x.values, batch: 3)
        XCTAssertEqual(logits.values, Array(UnsafeBufferPointer(start: direct, count: 15)))
        XCTAssertEqual(logits.argmaxOfRows.count, 3)
        // saved with its config, read back the same
        let dir = try temporaryDirectory()
        try vit.save(to: dir + "/vit.safetensors")
        XCTAssertEqual(try ViT.load(dir + "/vit.safetensors")(x), logits)
        // errors name what is wrong
        XCTAssertThrowsError(try vit(try Tensor(shape: [1, 3, 8, 8], values: [Float](repeating: 0, count: 192)))) {
            XCTAssertEqual("\($0)", "images have shape [1, 3, 8, 8]; the model takes [N, 3, 16, 16]")
        }
        XCTAssertThrowsError(try Tensor(shape: [2, 3], values: [1])) { XCTAssert("\($0)".contains("needs 6 values, got 1")) }
        XCTAssertThrowsError(try ViT(imageSize: 16, patchSize: 4, numClasses: 5, dim: 30, depth: 1, heads: 4, mlpDim: 60))
    }

    /// A timm state_dict (stock VisionTransformer) read through the API gives timm's logits.
    func testATimmFileLoadsWithItsConfig() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "timm_vit_token", withExtension: "safetensors", subdirectory: "Fixtures"))
        XCTAssertThrowsError(try ViT.load(url.path)) { XCTAssert("\($0)".contains("records no ViTKit config"), "\($0)") }
        let vit = try ViT.load(url.path, config: ModelTests.config("vit_token_learn"))
        let x = TimmCheckpointTests.reference["x"]!
        assertClose(try vit(try Tensor(shape: x.shape, values: x.values)).values, TimmCheckpointTests.reference["token.logits"]!.values,
                    tol: 1e-5, "timm token model logits through ViT.load")
    }

    /// The paper's model through the API, trained a little by `Trainer(model:options:)` on data made from arrays.
    func testTrainingFromArrays() throws {
        let made = SyntheticDataset.make(count: 128, classes: 4, size: 16, seed: 1)
        let train = try ImageDataset.fromArrays(images: made.images, labels: made.labels.map { Int($0) }, size: 16, classes: 4)
        XCTAssertThrowsError(try ImageDataset.fromArrays(images: [0, 1], labels: [0], size: 16, classes: 4))
        XCTAssertThrowsError(try ImageDataset.fromArrays(images: made.images, labels: made.labels.map { Int($0) + 1 }, size: 16, classes: 4)) {
            XCTAssertEqual("\($0)", "label 4 is outside 0..<4")
        }
        let vit = try ViT(imageSize: 16, patchSize: 4, numClasses: 4, dim: 32, depth: 2, heads: 2, mlpDim: 128, pool: .mean,
                          positionEmbedding: .sincos, initialization: .mimetic(alpha: 0.7, beta: 0.7), threads: Pools.two)
        XCTAssert(!vit.model.config.classToken && vit.model.config.globalPool == .avg)
        var o = TrainOptions()
        o.epochs = 2; o.batchSize = 32; o.warmupEpochs = 1
        let trainer = Trainer(model: vit, options: o)
        trainer.log = { _ in }
        let history = try trainer.fit(train: train, test: train)
        XCTAssertEqual(history.count, 2)
        XCTAssert(history.allSatisfy { $0.trainLoss.isFinite })
    }
}
