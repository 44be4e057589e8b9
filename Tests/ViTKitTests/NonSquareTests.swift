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
        try loadFixtureParameters(m, t)
        assertTrainingStepMatches(m, t, batch: 3)
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
        // data of another shape is refused with both shapes; so are the inits that need a square grid
        let (train, _) = TrainingTests.data()
        XCTAssertThrowsError(try train.checkFits(.vit(c), role: "training")) {
            XCTAssert("\($0)".contains("has 3×16×16 pictures; model small expects 3×64×32"), "\($0)")
        }
        let m = try VisionTransformer(config: c, pool: Pools.one)
        var rng = RNG(seed: 1)
        XCTAssertThrowsError(try m.initialize(try InitMode(parsing: "impulse3"), rng: &rng)) {
            XCTAssert("\($0)".contains("square patch grid; the model's is 8×4"), "\($0)")
        }
        XCTAssertNoThrow(try m.initialize(try InitMode(parsing: "mimetic0.7_0.7"), rng: &rng))
    }
}

extension NonSquareTests {
    /// timm's eval transform for input size (16, 24) at crop 0.875 (ResizeKeepRatio then CenterCrop), to the pixel.
    func testRectangularEvalTransformIsTimms() throws {
        let t = Self.fixture, p = t["eval_picture"]!.values  // [21 × 33 × 3]
        var picture = RGBImage(width: 33, height: 21)
        for i in 0..<p.count { picture.pixels[i] = UInt8(p[i]) }
        let out = picture.evalTransform(height: 16, width: 24, cropPct: 0.875, filter: .bicubic)
        XCTAssertEqual([out.width, out.height], [24, 16])
        assertClose(out.normalized(mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5]), t["eval_out"]!.values, tol: 1e-6, "eval transform")
    }

    /// A 16×24 model trains and evaluates on pictures brought to 16×24: training by the loader's crop, evaluation
    /// by the eval transform; cutmix boxes keep the picture's proportions.
    func testTrainingOnRectangles() throws {
        var c = TrainingTests.tinyConfig(); c.imgWidth = 24
        let (train, test) = TrainingTests.data()
        let rectTrain = train.delivering(size: 16, width: 24), rectTest = test.evalResized(size: 16, width: 24, cropPct: 1, filter: .bicubic)
        XCTAssertEqual([rectTrain.imageBytes, rectTest.storedBytes, rectTest.images.count], [3 * 16 * 24, 3 * 16 * 24, 128 * 3 * 16 * 24])
        let m = try VisionTransformer(config: c, pool: Pools.one)
        var rng = RNG(seed: 3)
        try m.initialize(.timm, rng: &rng)
        var o = TrainingTests.options(epochs: 1)
        o.mixup = Mixup(mixupAlpha: 0.8, cutmixAlpha: 1.0); o.erasing.prob = 0.25
        let history = try Trainer(model: m, options: o).fit(train: rectTrain, test: rectTest)
        XCTAssertNotNil(history.last?.testTop1)
        var draws = RNG(seed: 4)
        for _ in 0..<200 {
            let d = Mixup(cutmixAlpha: 1).draw(height: 16, width: 24, rng: &draws)
            guard let b = d.box else { continue }
            XCTAssertEqual(d.lam, 1 - Double((b.bottom - b.top) * (b.right - b.left)) / Double(16 * 24), accuracy: 1e-12)
            XCTAssert(b.bottom <= 16 && b.right <= 24)
        }
    }
}

/// One-channel models (`--in-chans 1`): pictures read in grey as Pillow's `convert("L")` (timm's
/// `input_img_mode='L'`), and timm's eval transform on the grey picture, to the pixel (`scripts/make_nonsquare_fixtures.py`).
final class GreyscaleTests: XCTestCase {
    func testGreyIsPillowsAndTheGreyEvalTransformTimms() throws {
        let t = NonSquareTests.fixture, p = t["eval_picture"]!.values
        var picture = RGBImage(width: 33, height: 21)
        for i in 0..<p.count { picture.pixels[i] = UInt8(p[i]) }
        let grey = picture.greyRGB()
        XCTAssertEqual((0..<(33 * 21)).map { Float(grey.pixels[3 * $0]) }, t["grey"]!.values)
        var planes = [UInt8](repeating: 0, count: 3 * 33 * 21), out = [UInt8](repeating: 0, count: 33 * 21)
        for i in 0..<(33 * 21) { for c in 0..<3 { planes[c * 33 * 21 + i] = picture.pixels[3 * i + c] } }
        planes.withUnsafeMutableBufferPointer { src in
            out.withUnsafeMutableBufferPointer { PlanarImage(src.baseAddress!, width: 33, height: 21, channels: 3).greyscale(into: $0.baseAddress!) }
        }
        XCTAssertEqual(out.map(Float.init), t["grey"]!.values, "the planar conversion")
        let e = grey.evalTransform(size: 16, cropPct: 0.875, filter: .bicubic)
        assertClose((0..<256).map { (Float(e.pixels[3 * $0]) / 255 - 0.5) / 0.5 }, t["grey_eval_out"]!.values, tol: 1e-6, "grey eval")
    }

    /// A one-channel model trains on an image folder read in grey and on CIFAR-like data converted once.
    func testAOneChannelModelTrainsOnGreyPictures() throws {
        let (train, test) = TrainingTests.data()
        let g = train.greyscale(), gt = test.greyscale()
        XCTAssertEqual([g.channels, g.imageBytes, g.images.count, g.mean.count], [1, 16 * 16, 256 * 16 * 16, 1])
        var c = TrainingTests.tinyConfig(); c.inChans = 1
        let m = try VisionTransformer(config: c, pool: Pools.one)
        var rng = RNG(seed: 2)
        try m.initialize(.timm, rng: &rng)
        var o = TrainingTests.options(epochs: 1)
        o.autoAugment = "rand-m9-mstd0.5-inc1"
        XCTAssertNotNil(try Trainer(model: m, options: o).fit(train: g, test: gt).last?.testTop1)
        XCTAssertThrowsError(try Trainer(model: m, options: o).fit(train: train, test: test)) {
            XCTAssert("\($0)".contains("has 3×16×16 pictures; model tiny expects 1×16×16"), "\($0)")
        }
    }
}
