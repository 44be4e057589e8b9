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

/// Checkpoints and resume: an interrupted-and-resumed run ends bit for bit where an uninterrupted one does, a
/// `kill -9` never leaves an unreadable checkpoint, and bad safetensors input is a clear error, never a crash.
final class CheckpointTests: XCTestCase {
    func model(seed: UInt64) throws -> VisionTransformer {
        let m = try VisionTransformer(config: TrainingTests.tinyConfig(), pool: Pools.two)
        var rng = RNG(seed: seed)
        try m.initialize(.timm, rng: &rng)
        return m
    }

    /// Three epochs with every random part of the recipe on: RandAugment, flips, random crops, erasing, mixup/cutmix.
    func options(_ dir: String, epochs: Int = 3) -> TrainOptions {
        var o = TrainingTests.options(epochs: epochs, output: dir)
        o.scale = (0.5, 1); o.erasing = RandomErasing(prob: 0.25)
        o.mixup = Mixup(mixupAlpha: 0.8, cutmixAlpha: 1.0, prob: 1, switchProb: 0.5)
        return o
    }

    func values(_ b: AlignedBuffer) -> [Float] { Array(UnsafeBufferPointer(start: b.pointer, count: b.count)) }

    func trainer(_ m: VisionTransformer, _ o: TrainOptions) -> Trainer {
        let t = Trainer(model: m, options: o)
        t.log = { _ in }
        return t
    }

    func testResumeEndsWithTheWeightsOfAnUninterruptedRun() throws {
        let root = try temporaryDirectory()
        let (train, test) = TrainingTests.data()
        let whole = trainer(try model(seed: 1), options(root + "/a"))
        try whole.fit(train: train, test: test)

        let first = trainer(try model(seed: 1), options(root + "/b"))
        try first.fit(train: train, test: test, stopAfter: 1)
        XCTAssertEqual(first.history.count, 1)
        try FileManager.default.copyItem(atPath: root + "/b/train_state.safetensors", toPath: root + "/epoch1.safetensors")
        // as a new process: other weights in memory, so everything must come from the file
        let rest = trainer(try model(seed: 77), options(root + "/b"))
        XCTAssert(try rest.resume(from: root + "/b/train_state.safetensors").isEmpty, "same settings")
        XCTAssertEqual(rest.startEpoch, 1)
        try rest.fit(train: train, test: test)

        XCTAssertEqual(values(rest.model.params), values(whole.model.params), "weights after epoch 3")
        XCTAssertEqual(values(rest.optimizer.m), values(whole.optimizer.m))
        XCTAssertEqual(values(rest.optimizer.v), values(whole.optimizer.v))
        XCTAssertEqual(rest.optimizer.step, whole.optimizer.step)
        XCTAssertEqual(rest.stepLosses, Array(whole.stepLosses.suffix(rest.stepLosses.count)))
        XCTAssertEqual(rest.history.map { [$0.trainLoss, $0.testLoss!, $0.testTop1!, $0.lr] },
                       whole.history.map { [$0.trainLoss, $0.testLoss!, $0.testTop1!, $0.lr] })
        for file in ["summary.csv", "last.safetensors", "model_best.safetensors"] {
            XCTAssertEqual(FileManager.default.contents(atPath: root + "/b/" + file),
                           FileManager.default.contents(atPath: root + "/a/" + file), file)
        }

        // --no-resume-opt: the weights and the epoch count, but AdamW starts afresh, so the run ends elsewhere
        let fresh = trainer(try model(seed: 77), options(root + "/c"))
        try fresh.resume(from: root + "/epoch1.safetensors", optimizerState: false)
        XCTAssertEqual(fresh.startEpoch, 1); XCTAssertEqual(fresh.optimizer.step, 0)
        try fresh.fit(train: train, test: test)
        XCTAssertEqual(fresh.history.count, 3)
        XCTAssertNotEqual(values(fresh.model.params), values(whole.model.params))

        // changed settings are reported; another model is refused
        let longer = trainer(try model(seed: 77), options(root + "/d", epochs: 4))
        let changed = try longer.resume(from: root + "/epoch1.safetensors")
        XCTAssertEqual(changed.mapValues { "\($0.0) → \($0.1)" }, ["epochs": "3 → 4"])
        var other = TrainingTests.tinyConfig(); other.depth = 1
        let wrong = trainer(try VisionTransformer(config: other, pool: Pools.one), options(root + "/e"))
        XCTAssertThrowsError(try wrong.resume(from: root + "/epoch1.safetensors")) {
            XCTAssert("\($0)".contains("was written for model tiny"), "\($0)")
        }
    }

    func testTrainCommandResumes() throws {
        let root = try temporaryDirectory()
        func train(_ extra: [String]) throws {
            var cmd = try XCTUnwrap(try VitkitCommand.parseAsRoot([
                "train", "--depth", "1", "--embed-dim", "48", "--synthetic-train", "64", "--synthetic-test", "32",
                "-b", "32", "--threads", "2", "--output", root, "--warmup-epochs", "1"] + extra) as? TrainCommand)
            try cmd.run()
        }
        try train(["--epochs", "2"])
        try train(["--epochs", "3", "--resume", root])
        let rows = try String(contentsOfFile: root + "/summary.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 4, "header and epochs 0, 1, 2: \(rows)")
        XCTAssertEqual(rows.dropFirst().map { $0.prefix(2) }, ["0,", "1,", "2,"])
        let panels = CurvePlot.panels([], panelWidth: 320, height: 200).map(\.image.width)
        XCTAssertEqual(try RGBImage.readPNG(root + "/curves.png").width, 8 + panels[0] + 8 + panels[1] + 8, "the curves, redrawn each epoch")
        let m = try VisionTransformer(config: try Checkpoint.config(at: root + "/last.safetensors"), pool: Pools.one)
        XCTAssertEqual(try Checkpoint.loadTrainingState(m, optimizer: nil, from: root + "/train_state.safetensors").epoch, 3)
        XCTAssertThrowsError(try VitkitCommand.parseAsRoot(["train", "--no-resume-opt"]))
    }

    /// `kill -9` in the middle of checkpoint writes: the files that are there always load (a write goes to a
    /// temporary file that is flushed and renamed over the old one). The first rounds pause each write halfway
    /// (a test-only environment variable) and kill the process while a temporary file is there; the others kill
    /// it at random moments.
    func testKillDuringCheckpointWritesLeavesReadableCheckpoints() throws {
        let bin = try vitkitBinary(), root = try temporaryDirectory()
        var rng = RNG(seed: 4)
        var caughtWriting = 0
        for round in 0..<8 {
            let out = "\(root)/r\(round)", p = Process(), midWrite = round < 4
            p.executableURL = bin
            p.arguments = ["train", "--depth", "2", "--embed-dim", "96", "--synthetic-train", "32", "--synthetic-test", "32",
                           "-b", "32", "--epochs", "100000", "--threads", "1", "--aa", "none", "--output", out]
            if midWrite { p.environment = ["VITKIT_TEST_WRITE_PAUSE_US": "200000"] }
            p.standardOutput = FileHandle.nullDevice; p.standardError = FileHandle.nullDevice
            try p.run()
            let deadline = Date().addingTimeInterval(60)
            func files() -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? [] }
            // wait for a first complete set of checkpoints, then (mid-write rounds) for a write in progress
            while !files().contains("model_best.safetensors") && Date() < deadline { usleep(2_000) }
            if midWrite {
                while !files().contains(where: { $0.contains(".tmp-") }) && Date() < deadline { usleep(1_000) }
            } else {
                usleep(UInt32(20_000 + rng.int(below: 200_000)))
            }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            if files().contains(where: { $0.contains(".tmp-") }) { caughtWriting += 1 }
            let m = try VisionTransformer(config: try Checkpoint.config(at: out + "/last.safetensors"), pool: Pools.one)
            try Checkpoint.load(m, from: out + "/last.safetensors")
            try Checkpoint.load(m, from: out + "/model_best.safetensors")
            let s = try Checkpoint.loadTrainingState(m, optimizer: AdamW(table: m.table), from: out + "/train_state.safetensors")
            XCTAssertGreaterThanOrEqual(s.epoch, 1)
        }
        XCTAssertGreaterThanOrEqual(caughtWriting, 4, "the paused rounds are killed while a temporary file is there")
        print("kill -9 test: 8 kills, \(caughtWriting) of them in the middle of a write (a temporary file left behind)")
    }

    // MARK: safetensors input

    func bytes(header: String, data: [UInt8]) -> Data {
        var d = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { d.append(contentsOf: $0) }
        d.append(contentsOf: Array(header.utf8)); d.append(contentsOf: data)
        return d
    }

    func parseError(_ d: Data) -> String {
        do { _ = try SafeTensors.parse(d, what: "f"); return "(parsed)" } catch { return "\(error)" }
    }

    func testBadSafetensorsAreClearErrors() throws {
        var long = bytes(header: "{}", data: [])
        long.replaceSubrange(0..<8, with: [0xFF, 0xFF, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(parseError(long), "f: the header length is 65535 bytes but the file has only 2 after it; the file is truncated or not safetensors")
        XCTAssertEqual(parseError(Data([1, 2, 3])), "f has 3 bytes: too short for the 8-byte header length")
        XCTAssertEqual(parseError(bytes(header: "[1, 2]", data: [])),
                       "f: the header is JSON but not an object (expected {\"name\": {\"dtype\", \"shape\", \"data_offsets\"}, …})")
        XCTAssertEqual(parseError(bytes(header: "{\"a\": ", data: [])), "f: the 6-byte header is not valid JSON")
        let a = #""a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}"#
        XCTAssertEqual(parseError(bytes(header: "{\(a), \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}",
                                        data: Array(repeating: 0, count: 12))),
                       "f: tensors 'a' 0..<8 and 'b' 4..<12 overlap")
        XCTAssertEqual(parseError(bytes(header: "{\(a)}", data: Array(repeating: 0, count: 6))),
                       "f: tensor 'a' has byte range [0, 8], outside the 6 data bytes; the file is truncated or corrupt")
        XCTAssertEqual(parseError(bytes(header: #"{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}"#, data: Array(repeating: 0, count: 8))),
                       "f: tensor 'a' has byte range [0, 8] (8 bytes), but shape [3] of F32 needs 12")
        XCTAssertEqual(parseError(bytes(header: #"{"a": {"dtype": "I32", "shape": [1], "data_offsets": [0, 4]}}"#, data: Array(repeating: 0, count: 4))),
                       "f: tensor 'a' is I32; ViTKit reads F32, F16, BF16 and I64")
        // I64 (BatchNorm's num_batches_tracked in files torch writes) is read as a float count
        let count = try SafeTensors.parse(bytes(header: #"{"n": {"dtype": "I64", "shape": [], "data_offsets": [0, 8]}}"#,
                                                     data: [7, 1, 0, 0, 0, 0, 0, 0]), what: "f").tensors["n"]!
        XCTAssertEqual(count.shape, []); XCTAssertEqual(count.values, [263])
        XCTAssertEqual(parseError(bytes(header: #"{"a": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 0]}}"#, data: [])),
                       "f: tensor 'a' has an impossible shape [4611686018427387904, 4]")
        // F16 and BF16 are read (timm checkpoints are often half precision): 1.5 and −2 in each
        let half = bytes(header: #"{"h": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}, "b": {"dtype": "BF16", "shape": [2], "data_offsets": [4, 8]}}"#,
                         data: [0x00, 0x3E, 0x00, 0xC0, 0xC0, 0x3F, 0x00, 0xC0])
        let t = try SafeTensors.parse(half, what: "f").tensors
        XCTAssertEqual(t["h"]?.values, [1.5, -2]); XCTAssertEqual(t["b"]?.values, [1.5, -2])
    }

    func testCheckpointThatDoesNotFitTheModelNamesEveryProblem() throws {
        let root = try temporaryDirectory(), m = try model(seed: 1)
        var tensors = Checkpoint.weights(m).filter { $0.0 != "head.bias" }
        tensors.append(("extra.weight", SafeTensors.Tensor(shape: [1], values: [0])))
        let i = try XCTUnwrap(tensors.firstIndex { $0.0 == "blocks.0.norm1.weight" })
        tensors[i].1 = SafeTensors.Tensor(shape: [2], values: [1, 1])
        try SafeTensors.write(path: root + "/bad.safetensors", tensors: tensors)
        XCTAssertThrowsError(try Checkpoint.load(m, from: root + "/bad.safetensors")) {
            XCTAssertEqual("\($0)", "checkpoint \(root)/bad.safetensors does not fit model tiny: missing head.bias; "
                + "unexpected extra.weight; 'blocks.0.norm1.weight' has shape [2], the model expects [32]")
        }
        // timm keeps the fixed sin-cos embedding in its state_dict: allowed
        var timmLike = Checkpoint.weights(m)
        timmLike.append(("pos_embed", SafeTensors.Tensor(shape: [1, 16, 32], values: Array(repeating: 0, count: 512))))
        try SafeTensors.write(path: root + "/timm.safetensors", tensors: timmLike)
        XCTAssertNoThrow(try Checkpoint.load(m, from: root + "/timm.safetensors"))
    }

    /// Seeded mutation fuzzing of the safetensors parser: byte flips, truncations and splices of a valid file, in
    /// the header and the data. Every input parses or throws; none crashes.
    func testSafetensorsParserSurvivesMutatedInput() throws {
        let valid = try SafeTensors.encode(tensors: [("a.weight", SafeTensors.Tensor(shape: [2, 3], values: (0..<6).map(Float.init))),
                                                     ("b", SafeTensors.Tensor(shape: [4], values: [1, 2, 3, 4]))],
                                           metadata: ["format": "pt"])
        var rng = RNG(seed: 11)
        var parsed = 0, refused = 0
        let runs = 20_000
        for _ in 0..<runs {
            var d = [UInt8](valid)
            switch rng.int(below: 4) {
            case 0:  // flip a few bytes, mostly in the header
                for _ in 0..<(1 + rng.int(below: 4)) {
                    let at = rng.uniformDouble() < 0.8 ? rng.int(below: min(d.count, 8 + 200)) : rng.int(below: d.count)
                    d[at] = UInt8(truncatingIfNeeded: rng.next())
                }
            case 1: d = Array(d.prefix(rng.int(below: d.count)))  // truncate
            case 2:  // splice a digit or a JSON character into the header
                let tokens: [String] = ["-", "9", "99999999999999999999", "[", "]", "{", "}", ",", "\"", "0", "1e308", "null"]
                d.insert(contentsOf: Array(tokens[rng.int(below: tokens.count)].utf8), at: 8 + rng.int(below: 150))
            default:  // rewrite the header length
                let n = UInt64(rng.int(below: d.count + 16))
                withUnsafeBytes(of: n.littleEndian) { d.replaceSubrange(0..<8, with: $0) }
            }
            do { _ = try SafeTensors.parse(Data(d), what: "fuzz"); parsed += 1 } catch { refused += 1 }
        }
        XCTAssertEqual(parsed + refused, runs)
        XCTAssertGreaterThan(refused, runs / 2, "most mutants are malformed")
        print("safetensors fuzz: \(runs) mutated inputs, \(parsed) parsed, \(refused) refused with an error, 0 crashes")
    }
}

/// timm-written checkpoints (scripts/make_checkpoint_fixtures.py) load and give timm's logits.
final class TimmCheckpointTests: XCTestCase {
    static let reference: [String: SafeTensors.Tensor] = {
        let url = Bundle.module.url(forResource: "timm_checkpoints", withExtension: "safetensors", subdirectory: "Fixtures")!
        return try! SafeTensors.read(path: url.path).tensors
    }()

    func logits(_ fixture: String, config: ViTConfig) throws -> [Float] {
        let url = try XCTUnwrap(Bundle.module.url(forResource: fixture, withExtension: "safetensors", subdirectory: "Fixtures"))
        let m = try VisionTransformer(config: config, pool: Pools.two)
        try Checkpoint.load(m, from: url.path)
        m.reserve(batch: 3)
        let out = m.forward(images: Self.reference["x"]!.values, batch: 3)
        return Array(UnsafeBufferPointer(start: out, count: 30))
    }

    /// Stock timm (class token, learned pos_embed, token pooling), F32: every key of timm's state_dict is used.
    func testTimmStateDictLoadsAndGivesTimmsLogits() throws {
        assertClose(try logits("timm_vit_token", config: ModelTests.config("vit_token_learn")),
                    Self.reference["token.logits"]!.values, tol: 1e-5, "timm token model logits")
    }

    /// The paper's layout saved in BF16 (pos_embed, the fixed sin-cos table, is not in the file, as in the
    /// reference code): read as Float, the same logits as timm on the BF16 weights.
    func testBF16StateDictOfThePapersLayout() throws {
        assertClose(try logits("timm_vit_avg_bf16", config: ModelTests.config("vit_avg_sincos")),
                    Self.reference["avg.logits"]!.values, tol: 1e-5, "timm avg/sincos model logits (BF16 weights)")
    }
}

/// `vitkit predict` and `vitkit export`: the commands the timm check script (scripts/check_checkpoint_in_timm.py)
/// drives.
final class PredictExportTests: XCTestCase {
    func testPredictGivesTimmsLogitsAndExportKeepsTheWeights() throws {
        let root = try temporaryDirectory()
        let fixtures = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil)).path
        // a timm state_dict has no config: the model options say which model it is
        var predict = try XCTUnwrap(try VitkitCommand.parseAsRoot([
            "predict", "--checkpoint", fixtures + "/timm_vit_token.safetensors", "--input", fixtures + "/timm_checkpoints.safetensors",
            "--output", root + "/logits.safetensors", "--img-size", "16", "--patch-size", "4", "--embed-dim", "32", "--depth", "2",
            "--num-heads", "2", "--class-token", "true", "--global-pool", "token", "--pos-embed", "learn", "--no-embed-class", "false",
        ]) as? PredictCommand)
        try predict.run()
        assertClose(try SafeTensors.read(path: root + "/logits.safetensors").tensors["logits"]!.values,
                    TimmCheckpointTests.reference["token.logits"]!.values, tol: 1e-5, "vitkit predict on timm's checkpoint")
        // export a train_state file: the weights alone, equal to last.safetensors
        var train = try XCTUnwrap(try VitkitCommand.parseAsRoot([
            "train", "--depth", "1", "--embed-dim", "48", "--synthetic-train", "64", "--synthetic-test", "32", "-b", "32",
            "--epochs", "1", "--threads", "2", "--output", root + "/run"]) as? TrainCommand)
        try train.run()
        var export = try XCTUnwrap(try VitkitCommand.parseAsRoot([
            "export", "--checkpoint", root + "/run/train_state.safetensors", "--output", root + "/weights.safetensors"]) as? ExportCommand)
        try export.run()
        let exported = try SafeTensors.read(path: root + "/weights.safetensors"), last = try SafeTensors.read(path: root + "/run/last.safetensors")
        XCTAssertEqual(exported.tensors.keys.sorted(), last.tensors.keys.sorted())
        XCTAssertFalse(exported.tensors.keys.contains { $0.hasPrefix("optimizer.") })
        for (k, t) in last.tensors { XCTAssertEqual(exported.tensors[k]?.values, t.values, k) }
        XCTAssertEqual(exported.metadata["vitkit_config"], last.metadata["vitkit_config"])
    }
}

/// timm's `resample_abs_pos_embed` (bicubic, antialias) when pretrained weights come from another grid
/// (`scripts/make_pos_embed_fixtures.py`): up and down, with and without a prefix token, within 1e-5.
final class PositionEmbeddingResampleTests: XCTestCase {
    func testResampleMatchesTimm() throws {
        let url = Bundle.module.url(forResource: "timm_pos_embed_resample", withExtension: "safetensors", subdirectory: "Fixtures")!
        let t = try SafeTensors.read(path: url.path).tensors
        for prefix in [0, 1] {
            for grid in [12, 5] {
                let got = try Checkpoint.resampledPositionEmbedding(t["prefix\(prefix).in"]!, grid: grid, prefixTokens: prefix, dim: 16, what: "fixture")
                XCTAssertEqual(got.shape, [1, prefix + grid * grid, 16])
                assertClose(got.values, t["prefix\(prefix).to\(grid)"]!.values, tol: 1e-5, "prefix \(prefix), grid \(grid)")
            }
        }
    }

    /// A learned-embedding checkpoint at 16×16 loads into the same model at 32×32 with its pos_embed resampled.
    func testPretrainedOfAnotherGridLoads() throws {
        var c = ViTConfig(name: "pe", imgSize: 16, patchSize: 4, numClasses: 3, embedDim: 16, depth: 1, numHeads: 2)
        c.posEmbed = .learn; c.classToken = true; c.globalPool = .token; c.noEmbedClass = false
        let small = try VisionTransformer(config: c, pool: Pools.one)
        var rng = RNG(seed: 5)
        try small.initialize(.timm, rng: &rng)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pe-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Checkpoint.save(small, to: path)
        c.imgSize = 32
        let big = try VisionTransformer(config: c, pool: Pools.one)
        let note = try Checkpoint.loadPretrained(big, from: path)
        XCTAssertEqual(note, "pos_embed resampled from [1, 17, 16] to [1, 65, 16] (bicubic, as timm)")
        XCTAssertEqual(Array(big.parameter("cls_token")!), Array(small.parameter("cls_token")!))
        XCTAssertEqual(Array(big.parameter("pos_embed")!.prefix(16)), Array(small.parameter("pos_embed")!.prefix(16)), "the class token's row kept")
        XCTAssertThrowsError(try Checkpoint.load(big, from: path), "a plain load stays strict")
    }
}
