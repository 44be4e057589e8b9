import Foundation
import XCTest
@testable import ViTKit
@testable import ViTKitCore
@testable import ViTKitData
@testable import ViTKitDistributed
@testable import ViTKitIO
@testable import ViTKitModels
@testable import ViTKitNN
@testable import ViTKitTraining

/// Data-parallel training (timm's DDP semantics) and gradient accumulation. The multi-process tests run the real
/// binary under Open MPI's `mpirun` (CI installs openmpi-bin; without it they are skipped outside CI).
///
/// Tolerance: two processes (or two micro-batches) sum the gradient of a 64-image batch in another order than
/// one process does, so float rounding differs (about 1e-7 relative per step); AdamW's update is lr·m/(√v + eps)
/// and its first steps move each weight by about lr, so after 3 steps at lr 1e-3 the weights agree to 2e-5
/// absolute where they move by about 3e-3.
final class DataParallelTests: XCTestCase {
    static let tolerance: Float = 2e-5

    // MARK: in one process

    func options(batch: Int, accumulation: Int = 1, output: String? = nil) -> TrainOptions {
        var o = TrainOptions()
        o.epochs = 1; o.batchSize = batch; o.gradAccumSteps = accumulation; o.warmupEpochs = 0; o.lr = 1e-3
        o.erasing = RandomErasing(prob: 0.5); o.seed = 3; o.outputDir = output; o.workers = 0
        return o
    }

    func model(_ pool: ThreadPool) throws -> VisionTransformer {
        let m = try VisionTransformer(config: TrainingTests.tinyConfig(), pool: pool)
        var rng = RNG(seed: 1)
        try m.initialize(.timm, rng: &rng)
        return m
    }

    /// Two micro-batches of 32 average to the gradient of one batch of 64 (the same 64 augmented images).
    func testAccumulatingTwoBatchesOf32EqualsOneBatchOf64() throws {
        let (train, _) = TrainingTests.data()
        let whole = Trainer(model: try model(Pools.one), options: options(batch: 64))
        let accumulated = Trainer(model: try model(Pools.one), options: options(batch: 32, accumulation: 2))
        try whole.fit(train: train, test: nil)
        try accumulated.fit(train: train, test: nil)
        XCTAssertEqual(whole.stepLosses.count, train.count / 64)
        XCTAssertEqual(accumulated.stepLosses.count, whole.stepLosses.count, "one loss per optimiser step")
        XCTAssertEqual(accumulated.optimizer.step, whole.optimizer.step)
        for (a, b) in zip(accumulated.stepLosses, whole.stepLosses) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        let diff = maxDifference(accumulated.model.params, whole.model.params)
        XCTAssertLessThan(diff, Self.tolerance)
        XCTAssertGreaterThan(maxDifference(whole.model.params, try model(Pools.one).params), 1e-4, "the weights moved")
    }

    /// timm's --lr-base: the peak rate scales with the global batch (batch × processes × accumulation).
    func testLRBaseScalesWithTheGlobalBatch() {
        var o = TrainOptions()
        o.lr = 0.5
        XCTAssertEqual(o.peakLR(globalBatch: 1024), 0.5, "no --lr-base: --lr")
        o.lrBase = 1e-3; o.lrBaseSize = 256
        XCTAssertEqual(o.peakLR(globalBatch: 1024), 2e-3, accuracy: 1e-15, "AdamW: sqrt by default")
        o.lrBaseScale = "linear"
        XCTAssertEqual(o.peakLR(globalBatch: 1024), 4e-3, accuracy: 1e-15)
        o.batchSize = 64; o.gradAccumSteps = 2
        XCTAssertEqual(o.scheduler.baseLR, 0.5e-3, accuracy: 1e-15, "one process: 64 × 2 images per step")
        XCTAssertEqual(Trainer(model: try! model(Pools.one), options: o).globalBatch, 128)
    }

    /// The all-reduce of a single process is the identity, and the evaluation a plain one.
    func testOneProcessReducesToItself() throws {
        let parallel = DataParallel(communicator: .single)
        let g = AlignedBuffer(count: 5)
        for i in 0..<5 { g.pointer[i] = Float(i) }
        XCTAssertEqual(parallel.reduce(gradients: g, loss: 2.5), 2.5)
        XCTAssertEqual(g.array, [0, 1, 2, 3, 4])
        let (_, test) = TrainingTests.data()
        let m = try model(Pools.one)
        XCTAssertEqual(try parallel.evaluate(m, on: test, batchSize: 16), try m.evaluate(on: test, batchSize: 16))
    }

    func maxDifference(_ a: AlignedBuffer, _ b: AlignedBuffer) -> Float {
        (0..<a.count).reduce(0) { max($0, abs(a.pointer[$1] - b.pointer[$1])) }
    }

    // MARK: under mpirun

    var mpirun: String? {
        ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    func requireMPI() throws -> String {
        if let mpirun { return mpirun }
        if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail("CI needs Open MPI's mpirun (apt-get install openmpi-bin)") }
        throw XCTSkip("Open MPI's mpirun is not installed (apt-get install -y openmpi-bin)")
    }

    struct Run { var code: Int32; var out: String; var err: String; var seconds: Double }

    /// Runs `vitkit` with `args`, under `mpirun -np processes` when `processes` is not nil.
    /// `extra` follows the command under mpirun (a `:` and a second program, for MPMD).
    func vitkit(_ args: [String], processes: Int? = nil, mpiArgs: [String] = [], onStart: ((Process) throws -> Void)? = nil,
                extra: [String] = []) throws -> Run {
        let bin = try vitkitBinary().path
        let p = Process(), out = Pipe(), err = Pipe()
        if let processes {
            p.executableURL = URL(fileURLWithPath: try requireMPI())
            p.arguments = ["--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", "\(processes)"] + mpiArgs + [bin] + args + extra
        } else {
            p.executableURL = URL(fileURLWithPath: bin); p.arguments = args
        }
        p.standardOutput = out; p.standardError = err
        final class Box: @unchecked Sendable { var data = Data() }
        let errBox = Box()
        let reader = Thread { errBox.data = err.fileHandleForReading.readDataToEndOfFile() }
        let t0 = Date()
        try p.run()
        reader.start()
        try onStart?(p)
        let o = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while !reader.isFinished { usleep(1000) }
        return Run(code: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: errBox.data, as: UTF8.self),
                   seconds: Date().timeIntervalSince(t0))
    }

    static let tinyViT = ["train", "--depth", "1", "--embed-dim", "48", "--synthetic-train", "192", "--synthetic-test", "40",
                          "--epochs", "1", "--warmup-epochs", "0", "--threads", "1", "--reprob", "0.5", "--seed", "3"]
    static let tinyConvMixer = ["train", "--config", "convmixer", "--embed-dim", "32", "--depth", "2", "--synthetic-train", "192",
                                "--synthetic-test", "40", "--epochs", "1", "--warmup-epochs", "0", "--threads", "1", "--seed", "3"]

    /// `args` with `option`'s value set to `value` (appended when absent).
    static func setting(_ args: [String], _ option: String, _ value: String) -> [String] {
        var a = args
        if let i = a.firstIndex(of: option) { a[i + 1] = value } else { a += [option, value] }
        return a
    }

    func weights(_ dir: String) throws -> [String: SafeTensors.Tensor] { try SafeTensors.read(path: dir + "/last.safetensors").tensors }

    func assertClose(_ a: [String: SafeTensors.Tensor], _ b: [String: SafeTensors.Tensor], _ tol: Float, _ what: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.keys.sorted(), b.keys.sorted(), what, file: file, line: line)
        var worst: Float = 0, name = ""
        for (k, t) in a {
            guard let u = b[k] else { continue }
            for (x, y) in zip(t.values, u.values) where abs(x - y) > worst { worst = abs(x - y); name = k }
        }
        XCTAssertLessThanOrEqual(worst, tol, "\(what): largest difference \(worst) in \(name)", file: file, line: line)
    }

    /// 2 processes × batch 32 end 3 steps with the weights of 1 process × batch 64 (RandAugment, flips and random
    /// erasing on: every image keeps its augmentation), and so do 2 × 16 with 2 accumulation steps; only rank 0
    /// writes; the sharded evaluation adds up to the whole one.
    func testTwoProcessesEqualOneProcessWithTheGlobalBatch() throws {
        let root = try temporaryDirectory()
        let one = try vitkit(Self.tinyViT + ["-b", "64", "--output", root + "/one"])
        XCTAssertEqual(one.code, 0, one.err)
        let two = try vitkit(Self.tinyViT + ["-b", "32", "--output", root + "/two"], processes: 2)
        XCTAssertEqual(two.code, 0, two.err)
        let accumulated = try vitkit(Self.tinyViT + ["-b", "16", "--grad-accum-steps", "2", "--output", root + "/acc"], processes: 2)
        XCTAssertEqual(accumulated.code, 0, accumulated.err)
        assertClose(try weights(root + "/two"), try weights(root + "/one"), Self.tolerance, "2 × 32 against 1 × 64")
        assertClose(try weights(root + "/acc"), try weights(root + "/one"), Self.tolerance, "2 × 16 × 2 steps against 1 × 64")
        XCTAssertEqual(two.out.components(separatedBy: "epoch=1 ").count, 2, "one epoch line, from rank 0 alone: \(two.out)")
        func csvRow(_ dir: String) throws -> [Double] {
            let lines = try String(contentsOfFile: dir + "/summary.csv", encoding: .utf8).split(separator: "\n")
            return lines[1].split(separator: ",").map { Double($0)! }
        }
        let a = try csvRow(root + "/one"), b = try csvRow(root + "/two")
        XCTAssertEqual(a.count, b.count)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-4, "summary.csv: \(a) against \(b)") }
        let args = try String(contentsOfFile: root + "/two/args.yaml", encoding: .utf8)
        XCTAssert(args.contains("world_size: 2\n") && args.contains("batch_size: 32\n"), args)
    }

    /// A ConvMixer with --sync-bn: BatchNorm over the global batch, so 2 × 32 equal 1 × 64, running statistics too.
    func testSyncBatchNormTwoProcessesEqualOne() throws {
        let root = try temporaryDirectory()
        let one = try vitkit(Self.tinyConvMixer + ["-b", "64", "--output", root + "/one"])
        XCTAssertEqual(one.code, 0, one.err)
        let two = try vitkit(Self.tinyConvMixer + ["-b", "32", "--sync-bn", "--output", root + "/two"], processes: 2)
        XCTAssertEqual(two.code, 0, two.err)
        let a = try weights(root + "/one"), b = try weights(root + "/two")
        assertClose(b, a, Self.tolerance, "sync-bn 2 × 32 against 1 × 64")
        XCTAssertEqual(b["stem.2.num_batches_tracked"]?.values, [3])
        // without it each process normalises its own 32 images: another result
        let local = try vitkit(Self.tinyConvMixer + ["-b", "32", "--output", root + "/local"], processes: 2)
        XCTAssertEqual(local.code, 0, local.err)
        let c = try weights(root + "/local")
        let moved = c["stem.0.weight"]!.values.indices.map { abs(c["stem.0.weight"]!.values[$0] - a["stem.0.weight"]!.values[$0]) }.max()!
        XCTAssertGreaterThan(moved, 10 * Self.tolerance, "per-process BatchNorm differs from the global batch's")
        // --dist-bn: the running statistics rank 0 saves are the ranks' mean (reduce, the default), rank 0's own
        // (broadcast, the same as none); the weights do not depend on it
        var saved: [String: [String: SafeTensors.Tensor]] = ["reduce": c]
        for mode in ["broadcast", "none"] {
            let r = try vitkit(Self.tinyConvMixer + ["-b", "32", "--dist-bn", mode, "--output", root + "/" + mode], processes: 2)
            XCTAssertEqual(r.code, 0, r.err)
            saved[mode] = try weights(root + "/" + mode)
        }
        let stat = "blocks.1.3.running_var"
        XCTAssertEqual(saved["broadcast"]![stat]!.values, saved["none"]![stat]!.values)
        XCTAssertNotEqual(saved["reduce"]![stat]!.values, saved["none"]![stat]!.values)
        XCTAssertEqual(saved["reduce"]!["head.weight"]!.values, saved["none"]!["head.weight"]!.values)
    }

    /// A 2-process run stopped after epoch 1 and resumed ends as the unbroken one: exactly with 2 processes again,
    /// and within the tolerance when resumed by 1 process with the same global batch.
    func testResumedTwoProcessRunEqualsAnUnbrokenOne() throws {
        let root = try temporaryDirectory()
        // both epochs inside the warmup, so the first epoch's rate does not depend on --epochs
        let base = Self.setting(Self.tinyViT, "--warmup-epochs", "5")
        func args(_ epochs: Int, _ out: String, batch: Int = 32) -> [String] {
            Self.setting(base, "--epochs", "\(epochs)") + ["-b", "\(batch)", "--output", out]
        }
        let whole = try vitkit(args(2, root + "/whole"), processes: 2)
        XCTAssertEqual(whole.code, 0, whole.err)
        let first = try vitkit(args(1, root + "/part"), processes: 2)
        XCTAssertEqual(first.code, 0, first.err)
        try FileManager.default.copyItem(atPath: root + "/part", toPath: root + "/part1")
        let rest = try vitkit(args(2, root + "/part") + ["--resume", root + "/part"], processes: 2)
        XCTAssertEqual(rest.code, 0, rest.err)
        XCTAssert(rest.out.contains("# resumed from"), rest.out)
        let w = try weights(root + "/whole"), r = try weights(root + "/part")
        for (k, t) in w { XCTAssertEqual(r[k]?.values, t.values, "resumed with 2 processes: \(k)") }
        let single = try vitkit(args(2, root + "/part1", batch: 64) + ["--resume", root + "/part1"])
        XCTAssertEqual(single.code, 0, single.err)
        XCTAssert(single.out.contains("# resume: world_size was 2, now 1"), single.out)
        assertClose(try weights(root + "/part1"), w, Self.tolerance, "resumed by 1 process × 64")
    }

    /// Ranks started with other options are refused at the start, naming the rank.
    func testRanksStartedDifferentlyAreRefused() throws {
        let bin = try vitkitBinary().path, root = try temporaryDirectory()
        let a = Self.tinyViT + ["-b", "32", "--output", root + "/x"]
        let r = try vitkit(a, processes: 1, extra: [":", "-np", "1", bin] + Self.setting(a, "--seed", "4"))
        XCTAssertNotEqual(r.code, 0)
        XCTAssert(r.err.contains("rank 1 was not started as rank 0 was: its options and initial weights (code) differ"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/x/last.safetensors"), "nothing trained")
    }

    /// A loss that stops being finite stops every rank, with the NaN guard's message.
    func testANonFiniteLossStopsEveryRank() throws {
        let root = try temporaryDirectory()
        let r = try vitkit(Self.setting(Self.tinyViT, "--epochs", "3") + ["-b", "32", "--lr", "1e12", "--clip-grad", "0",
                                                                           "--output", root + "/nan"], processes: 2)
        XCTAssertNotEqual(r.code, 0)
        XCTAssert(r.err.contains("training stopped: the loss is"), r.err)
    }

    /// A rank killed with SIGKILL mid-epoch ends the job within 30 s, mpirun naming the lost rank; the last
    /// checkpoint is whole and --resume continues from it.
    func testAKilledRankEndsTheJobAndTheCheckpointResumes() throws {
        let root = try temporaryDirectory(), out = root + "/killed"
        let long = Self.setting(Self.setting(Self.tinyViT, "--synthetic-train", "1536"), "--epochs", "30") + ["-b", "32", "--output", out]
        var killedAt = Date()
        let r = try vitkit(long, processes: 2, onStart: { _ in
            // after the first checkpoint, in the middle of a later epoch
            let deadline = Date().addingTimeInterval(120)
            while !FileManager.default.fileExists(atPath: out + "/train_state.safetensors") && Date() < deadline { usleep(100_000) }
            usleep(300_000)
            guard let pid = Self.rankProcess(1, marker: out) else { XCTFail("rank 1 not found"); return }
            killedAt = Date()
            kill(pid, SIGKILL)
        })
        let waited = Date().timeIntervalSince(killedAt)
        XCTAssertNotEqual(r.code, 0)
        XCTAssertLessThan(waited, 30, "the job ended \(waited) s after the kill")
        XCTAssert(r.err.contains("rank 1"), "mpirun names the lost rank: \(r.err)")
        let state = try SafeTensors.read(path: out + "/train_state.safetensors")
        XCTAssertNotNil(state.metadata["train_state"], "the checkpoint is whole")
        let resumed = try vitkit(Self.setting(long, "--epochs", "\(Self.epochsDone(out) + 1)") + ["--resume", out], processes: 2)
        XCTAssertEqual(resumed.code, 0, resumed.err)
        XCTAssert(resumed.out.contains("# resumed from"), resumed.out)
    }

    static func epochsDone(_ dir: String) -> Int {
        ((try? String(contentsOfFile: dir + "/summary.csv", encoding: .utf8))?.split(separator: "\n").count ?? 1) - 1
    }

    /// The PID of the `vitkit` process of rank `rank` whose command line holds `marker`.
    static func rankProcess(_ rank: Int, marker: String) -> pid_t? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for e in entries {
            guard let pid = pid_t(e),
                  let cmd = FileManager.default.contents(atPath: "/proc/\(e)/cmdline"),
                  String(decoding: cmd, as: UTF8.self).contains(marker),
                  let env = FileManager.default.contents(atPath: "/proc/\(e)/environ") else { continue }
            let vars = env.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if vars.contains("OMPI_COMM_WORLD_RANK=\(rank)") { return pid }
        }
        return nil
    }
}
