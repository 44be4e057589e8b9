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
@testable import ViTKitCLI

/// The training loop on small generated data: it learns, it is deterministic, it stops on a NaN loss.
final class TrainingTests: XCTestCase {
    static func tinyConfig() -> ViTConfig {
        var c = ViTConfig(name: "tiny", imgSize: 16, patchSize: 4, numClasses: 4, embedDim: 32, depth: 2, numHeads: 2)
        c.posEmbed = .sincos
        return c
    }

    static func data() -> (ImageDataset, ImageDataset) {
        (SyntheticDataset.make(count: 256, classes: 4, size: 16, seed: 1),
         SyntheticDataset.make(count: 128, classes: 4, size: 16, seed: 2))
    }

    static func options(epochs: Int = 3, output: String? = nil) -> TrainOptions {
        var o = TrainOptions()
        o.epochs = epochs; o.batchSize = 32; o.warmupEpochs = 1; o.lr = 2e-3; o.outputDir = output
        return o
    }

    func train(threads: Int, seed: UInt64 = 42, _ configure: (inout TrainOptions) -> Void = { _ in }) throws -> Trainer {
        let model = try VisionTransformer(config: Self.tinyConfig(), pool: threads == 1 ? Pools.one : Pools.two)
        var rng = RNG(seed: seed)
        try model.initialize(.timm, rng: &rng)
        var o = Self.options()
        configure(&o)
        let trainer = Trainer(model: model, options: o)
        trainer.log = { _ in }
        let (train, test) = Self.data()
        try trainer.fit(train: train, test: test)
        return trainer
    }

    func testSameSeedAndThreadsGiveIdenticalLossCurves() throws {
        for threads in [1, 2] {
            let a = try train(threads: threads), b = try train(threads: threads)
            XCTAssertEqual(a.stepLosses.count, 3 * 8)
            XCTAssertEqual(a.stepLosses, b.stepLosses, "\(threads) threads: loss curves differ")
            XCTAssertEqual(a.history.map(\.testLoss), b.history.map(\.testLoss))
        }
        let c = try train(threads: 2, seed: 7)
        XCTAssertNotEqual(try train(threads: 2).stepLosses, c.stepLosses, "a different seed should change the run")
        // the loader's thread count does not change the run (RandAugment on by default; a random crop too)
        let crop: (inout TrainOptions) -> Void = { $0.scale = (0.3, 1); $0.ratio = (0.75, 4.0 / 3) }
        for configure in [{ _ in }, crop] {
            let w0 = try train(threads: 2) { configure(&$0); $0.workers = 0 }
            let w2 = try train(threads: 2) { configure(&$0); $0.workers = 2 }
            XCTAssertEqual(w0.stepLosses, w2.stepLosses, "0 and 2 loader threads: loss curves differ")
        }
        // and the augmentation is in force: turning it off changes the run
        XCTAssertNotEqual(try train(threads: 2) { $0.autoAugment = nil; $0.colorJitter = (0, 0, 0) }.stepLosses,
                          try train(threads: 2).stepLosses)
    }

    func testLearnsTheSyntheticTask() throws {
        let model = try VisionTransformer(config: Self.tinyConfig(), pool: Pools.two)
        var rng = RNG(seed: 1)
        try model.initialize(.timm, rng: &rng)
        var o = Self.options(epochs: 15)
        o.warmupEpochs = 2
        let trainer = Trainer(model: model, options: o)
        trainer.log = { _ in }
        let train = SyntheticDataset.make(count: 1024, classes: 4, size: 16, seed: 1)
        let test = SyntheticDataset.make(count: 256, classes: 4, size: 16, seed: 2)
        try trainer.fit(train: train, test: test)
        let first = trainer.history.first!, last = trainer.history.last!
        XCTAssertLessThan(last.trainLoss, first.trainLoss - 0.2, "training loss should fall")
        XCTAssertGreaterThan(last.testTop1!, 40, "4-class synthetic task: well above 25% chance")
    }

    /// `vitkit train` records its init with the model and in args.yaml, and the same command (same seed) gives
    /// the same weights: the run is reproducible from what it wrote.
    func testTrainRunRecordsItsInitAndReproducesFromItsSeed() throws {
        let root = NSTemporaryDirectory() + "vitkit-args-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        func train(_ out: String) throws -> (tensors: [String: SafeTensors.Tensor], metadata: [String: String]) {
            var cmd = try XCTUnwrap(try VitkitCommand.parseAsRoot([
                "train", "--depth", "1", "--embed-dim", "48", "--synthetic-train", "128", "--synthetic-test", "32",
                "-b", "32", "--epochs", "1", "--threads", "2", "--init", "impulse3", "--impulse-iterations", "20",
                "--impulse-input2", "U", "--seed", "5", "--output", out,
            ]) as? TrainCommand)
            try cmd.run()
            return try SafeTensors.read(path: out + "/last.safetensors")
        }
        let a = try train(root + "/a"), b = try train(root + "/b")
        XCTAssertEqual(a.tensors.keys.sorted(), b.tensors.keys.sorted())
        for (name, t) in a.tensors { XCTAssertEqual(t.values, b.tensors[name]!.values, name) }
        let recorded = try XCTUnwrap(RunConfiguration(metadata: a.metadata), "the checkpoint records the run")
        for (key, value) in ["init": "impulse3", "seed": "5", "impulse_iterations": "20", "impulse_input": "P",
                             "impulse_input2": "U", "impulse_per_layer": "false", "scale": "[1.0, 1.0]", "threads": "2"] {
            XCTAssertEqual(recorded.arguments[key], value, key)
        }
        // one serialisation: args.yaml, the checkpoint's metadata and the training state say the same
        let yaml = try String(contentsOfFile: root + "/a/args.yaml", encoding: .utf8)
        XCTAssertEqual(yaml, recorded.yaml)
        let state = try SafeTensors.read(path: root + "/a/train_state.safetensors").metadata
        XCTAssertEqual(RunConfiguration(metadata: state), recorded)
        let args = yaml.split(separator: "\n").map(String.init)
        for line in ["init: impulse3", "impulse_iterations: 20", "impulse_input2: U", "seed: 5", "model: small",
                     "embed_dim: 48", "depth: 1", "pos_embed: sincos", "epochs: 1", "batch_size: 32", "dataset: synthetic"] {
            XCTAssert(args.contains(line), "args.yaml lacks '\(line)': \(args)")
        }
    }

    func testDataOfAnotherSizeThanTheModelIsRefused() throws {
        var c = Self.tinyConfig(); c.imgSize = 8
        let trainer = Trainer(model: try VisionTransformer(config: c, pool: Pools.one), options: Self.options())
        let (train, test) = Self.data()
        XCTAssertThrowsError(try trainer.fit(train: train, test: test)) {
            XCTAssertEqual("\($0)", "the training data synthetic has 3×16×16 pictures; model tiny expects 3×8×8")
        }
    }

    /// Pictures held at another size than the model's are brought to it as timm's transforms bring CIFAR to 224:
    /// training through the loader's crop (whole picture resized with scale and ratio 1), evaluation by the eval
    /// transform once; a model at 32 then trains on the 16×16 synthetic pictures.
    func testPicturesOfAnotherSizeAreResizedToTheModel() throws {
        let (train, test) = Self.data()
        let up = train.delivering(size: 32), upTest = test.evalResized(size: 32, cropPct: 1, filter: .bicubic)
        XCTAssertEqual([up.size, up.storedSize, up.imageBytes, up.storedBytes], [32, 16, 3 * 32 * 32, 3 * 16 * 16])
        XCTAssertEqual([upTest.size, upTest.storedSize, upTest.images.count], [32, 32, 128 * 3 * 32 * 32])
        // the loader's default crop resizes the whole picture (bilinear or bicubic at random, timm's "random"), the eval
        // transform too (bicubic): the same pictures up to the filter
        let loader = PrefetchLoader(dataset: test.delivering(size: 32), batchSize: 4, transform: TrainTransform(hflip: 0), seed: 1, workers: 1)
        loader.start(epoch: 0, order: Array(0..<128))
        let batch = try loader.next()
        let evalLoader = BatchLoader(dataset: upTest, capacity: 4)
        evalLoader.load(Pools.one, indices: [0, 1, 2, 3], flipRng: nil)
        let a = Array(UnsafeBufferPointer(start: batch.images, count: 4 * 3 * 32 * 32)), b = Array(evalLoader.images.array.prefix(4 * 3 * 32 * 32))
        let meanDifference = zip(a, b).map { Double(abs($0 - $1)) }.reduce(0, +) / Double(a.count)
        let meanValue = a.map { Double(abs($0)) }.reduce(0, +) / Double(a.count)
        XCTAssertLessThan(meanDifference, 0.1 * meanValue, "the loader's resize (\(meanDifference)) and the eval transform's of the same pictures")
        loader.release(); loader.stop()
        var c = Self.tinyConfig(); c.imgSize = 32; c.patchSize = 8
        let m = try VisionTransformer(config: c, pool: Pools.one)
        var rng = RNG(seed: 2)
        try m.initialize(.timm, rng: &rng)
        let history = try Trainer(model: m, options: Self.options(epochs: 1)).fit(train: up.subset(Array(0..<64)), test: upTest)
        XCTAssertNotNil(history.last?.testTop1)
    }

    func testNaNLossStopsTrainingAndKeepsTheLastGoodCheckpoint() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vitkit-nan-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = try VisionTransformer(config: Self.tinyConfig(), pool: Pools.two)
        var rng = RNG(seed: 3)
        try model.initialize(.timm, rng: &rng)
        let (train, test) = Self.data()
        let good = Trainer(model: model, options: Self.options(epochs: 1, output: dir))
        good.log = { _ in }
        try good.fit(train: train, test: test)
        let ckpt = dir + "/last.safetensors"
        XCTAssert(try String(contentsOfFile: dir + "/summary.csv", encoding: .utf8)
            .hasPrefix("epoch,train_loss,eval_loss,eval_top1,eval_top5,lr\n0,"))
        let saved = try SafeTensors.read(path: ckpt).tensors["head.weight"]!.values
        model.parameter("head.weight")![0] = .nan
        let bad = Trainer(model: model, options: Self.options(epochs: 1, output: dir))
        bad.log = { _ in }
        XCTAssertThrowsError(try bad.fit(train: train, test: test)) { error in
            let msg = "\(error)"
            XCTAssert(msg.contains("loss is nan at epoch 1, step 1"), msg)
            XCTAssert(msg.contains(ckpt), msg)
        }
        XCTAssertEqual(try SafeTensors.read(path: ckpt).tensors["head.weight"]!.values, saved, "checkpoint must survive")
    }

    func testCheckpointRoundTripKeepsTimmNamesAndShapes() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vitkit-ckpt-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var config = Self.tinyConfig(); config.classToken = true; config.regTokens = 1; config.posEmbed = .learn
        let a = try VisionTransformer(config: config, pool: Pools.one)
        var rng = RNG(seed: 5)
        try a.initialize(.timm, rng: &rng)
        try Checkpoint.save(a, to: path)
        XCTAssertEqual(try Checkpoint.config(at: path), config)
        let b = try VisionTransformer(config: try Checkpoint.config(at: path), pool: Pools.one)
        try Checkpoint.load(b, from: path)
        XCTAssertEqual(a.params.array, b.params.array)
        let t = try SafeTensors.read(path: path).tensors
        XCTAssertEqual(t["pos_embed"]?.shape, [1, 16, 32])
        XCTAssertEqual(t["blocks.1.attn.qkv.weight"]?.shape, [96, 32])
        XCTAssertEqual(t["patch_embed.proj.weight"]?.shape, [32, 3, 4, 4])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".tmp-\(getpid())"))
    }

    func testTimmInitStatistics() throws {
        var c = Self.tinyConfig(); c.embedDim = 192; c.numHeads = 3; c.classToken = true; c.regTokens = 2; c.posEmbed = .learn
        let m = try VisionTransformer(config: c, pool: Pools.one)
        var rng = RNG(seed: 11)
        try m.initialize(.timm, rng: &rng)
        func std(_ v: [Float]) -> Double {
            let mean = v.reduce(0.0) { $0 + Double($1) } / Double(v.count)
            return (v.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(v.count)).squareRoot()
        }
        XCTAssertEqual(std(Array(m.parameter("blocks.0.attn.qkv.weight")!)), 0.02, accuracy: 0.0005)
        XCTAssertEqual(std(Array(m.parameter("pos_embed")!)), 0.02, accuracy: 0.001)
        XCTAssert(m.parameter("blocks.0.mlp.fc1.bias")!.allSatisfy { $0 == 0 })
        XCTAssert(m.parameter("blocks.0.norm1.weight")!.allSatisfy { $0 == 1 })
        // patch conv keeps PyTorch's default: U(±1/√fan_in), fan_in = 3·4·4
        let pw = Array(m.parameter("patch_embed.proj.weight")!), bound = 1 / Float(48).squareRoot()
        XCTAssert(pw.allSatisfy { abs($0) <= bound }); XCTAssertGreaterThan(pw.map(abs).max()!, 0.9 * bound)
        // register tokens are drawn separately (timm PR #2229), tiny
        let reg = Array(m.parameter("reg_token")!)
        XCTAssertNotEqual(Array(reg[0..<192]), Array(reg[192..<384]))
        XCTAssertLessThan(reg.map(abs).max()!, 1e-5)
    }
}

final class BatchLoaderTests: XCTestCase {
    /// Normalisation is (x/255 − mean)/std per channel, and flips mirror rows with the asked probability.
    func testNormalisationAndFlipProbability() {
        var images = [UInt8](repeating: 0, count: 2 * 3 * 4 * 4)
        for i in images.indices { images[i] = UInt8(i % 256) }
        let ds = ImageDataset(name: "t", images: images, labels: [0, 1], channels: 3, size: 4, numClasses: 2,
                              mean: [0.1, 0.2, 0.3], std: [0.5, 0.25, 0.2])
        let loader = BatchLoader(dataset: ds, capacity: 2)
        loader.load(Pools.two, indices: [1, 0][...], flipRng: nil)
        XCTAssertEqual(loader.labels, [1, 0])
        XCTAssertEqual(loader.images[0], (Float(48) / 255 - 0.1) / 0.5, accuracy: 1e-6)       // image 1, R, (0,0)
        XCTAssertEqual(loader.images[16 + 5], (Float(48 + 21) / 255 - 0.2) / 0.25, accuracy: 1e-6)  // G, (1,1)
        var flipped = 0
        var rng = RNG(seed: 9)
        for _ in 0..<2000 {
            loader.load(Pools.one, indices: [0][...], flipRng: &rng, flipProbability: 0.3)
            if loader.images[0] != (0 / 255 - 0.1) / 0.5 { flipped += 1 }  // pixel (0,0) came from (0,3)
        }
        XCTAssertEqual(Double(flipped) / 2000, 0.3, accuracy: 0.04)
    }
}
