import ArgumentParser
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

/// What a new user ran into on their own image folders: data that does not fit the model, commands that crashed
/// on a bad checkpoint, normalisation that did not follow the model, and messages that did not say enough. Most
/// tests run the real binary with two threads, as a user does.
final class NewUserTests: XCTestCase {
    func run(_ args: [String], environment: [String: String] = [:]) throws -> (code: Int32, out: String, err: String) {
        let p = Process(), out = Pipe(), err = Pipe()
        p.executableURL = try vitkitBinary(); p.arguments = args; p.standardOutput = out; p.standardError = err
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// On a CPU without AVX2 or FMA (stood for by the test hook) vitkit exits 1 with one line naming the feature,
    /// before any of its AVX2 code runs; on this one it runs.
    func testACPUWithoutAVX2GetsOneLineNotSIGILL() throws {
        for feature in ["AVX2", "FMA"] {
            let r = try run(["--help"], environment: ["VITKIT_PRETEND_MISSING_CPU_FEATURE": feature])
            XCTAssertEqual(r.code, 1)
            XCTAssertEqual(r.out, "", "nothing ran")
            XCTAssert(r.err.hasPrefix("vitkit: this CPU lacks \(feature), which this x86-64 build needs"), r.err)
            XCTAssertEqual(r.err.split(separator: "\n").count, 1)
        }
        XCTAssertEqual(try run(["--help"]).code, 0)
    }

    /// A write that fails (here: over the file-size limit, ulimit -f, so EFBIG instead of SIGXFSZ) stops training
    /// with exit code 1 and one line naming the file and the system's reason; the files of the last good epoch
    /// stay whole and unchanged, no temporary file is left, and the run resumes from them once there is room.
    func testAFailedCheckpointWriteStopsTrainingAndKeepsThePreviousFiles() throws {
        let dir = try temporaryDirectory(), bin = try vitkitBinary().path
        let args = ["train", "--embed-dim", "32", "--depth", "1", "--num-heads", "2", "--synthetic-train", "256",
                    "--synthetic-test", "64", "-b", "64", "--threads", "1", "--output", dir]
        XCTAssertEqual(try run(args + ["--epochs", "1"]).code, 0)
        // summary.csv is written before the checkpoints: it may gain the failed epoch's row, which the resumed
        // run then rewrites
        let names = ["train_state.safetensors", "last.safetensors", "model_best.safetensors"]
        func contents() throws -> [Data] { try names.map { try Data(contentsOf: URL(fileURLWithPath: dir + "/" + $0)) } }
        let before = try contents()
        let p = Process(), err = Pipe()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "ulimit -f 100; exec \"$0\" \"$@\"", bin] + args + ["--epochs", "3", "--resume", dir]
        p.standardOutput = FileHandle.nullDevice; p.standardError = err
        try p.run()
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .exit, "not killed by SIGXFSZ")
        XCTAssertEqual(p.terminationStatus, 1, e)
        XCTAssert(e.hasPrefix("error: cannot write \(dir)/train_state.safetensors") && e.contains("File too large"), e)
        XCTAssertEqual(try contents(), before, "the last good epoch's files, unchanged")
        let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }
        XCTAssertEqual(left, [], "no temporary file left")
        let resumed = try run(args + ["--epochs", "2", "--resume", dir])
        XCTAssertEqual(resumed.code, 0, resumed.err)
        XCTAssert(resumed.out.contains("epoch=2 "), resumed.out)
        let summary = try String(contentsOfFile: dir + "/summary.csv", encoding: .utf8)
        XCTAssertEqual(summary.split(separator: "\n").map { $0.prefix(2) }, ["ep", "0,", "1,"], "one row per epoch")
    }

    /// The same when the folder stops being writable mid-run (permission denied, made here by chmod 0555 once the
    /// second epoch's line is out, the first epoch's files written; as root, whom permissions do not stop, the run is started as `nobody`): exit 1, one line
    /// naming the file and the reason, and the last good epoch's checkpoints whole.
    func testAFolderThatBecomesReadOnlyStopsTrainingWithTheFileAndTheReason() throws {
        let root = try temporaryDirectory(), dir = root + "/run", log = root + "/run.log", bin = try vitkitBinary().path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let asRoot = getuid() == 0
        if asRoot {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { throw XCTSkip("as root this needs setpriv") }
            XCTAssertEqual(chmod(root, 0o755), 0); XCTAssertEqual(chown(dir, 65534, 65534), 0)
        }
        let args = ["train", "--embed-dim", "32", "--depth", "1", "--num-heads", "2", "--synthetic-train", "256",
                    "--synthetic-test", "64", "-b", "64", "--threads", "1", "--epochs", "400", "--output", dir]
        FileManager.default.createFile(atPath: log, contents: nil)
        let p = Process(), err = Pipe()
        p.executableURL = URL(fileURLWithPath: asRoot ? "/usr/bin/setpriv" : bin)
        p.arguments = (asRoot ? ["--reuid=65534", "--regid=65534", "--clear-groups", bin] : []) + args
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log)); p.standardError = err
        try p.run()
        let deadline = Date().addingTimeInterval(120)
        while !((try? String(contentsOfFile: log, encoding: .utf8))?.contains("epoch=2 ") ?? false) && Date() < deadline { usleep(2_000) }
        XCTAssertEqual(chmod(dir, 0o555), 0)
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(chmod(dir, 0o755), 0)
        XCTAssertEqual(p.terminationStatus, 1, e)
        XCTAssert(e.hasPrefix("error: cannot write \(dir)/") && e.contains("Permission denied"), e)
        let state = try Checkpoint.loadTrainingState(try VisionTransformer(config: try Checkpoint.config(at: dir + "/last.safetensors"), pool: Pools.one),
                                                     optimizer: nil, from: dir + "/train_state.safetensors")
        XCTAssertGreaterThanOrEqual(state.epoch, 1)
        XCTAssertNoThrow(try SafeTensors.read(path: dir + "/model_best.safetensors"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }, [], "no temporary file left")
        print("read-only folder after epoch 2's line: \(e.split(separator: "\n").first ?? "") (last saved epoch \(state.epoch))")
    }

    /// Issue 20, item 4: a Ctrl-C inside an epoch finishes the update, saves the position in the epoch and exits 130;
    /// `--resume` goes on from that update and ends with the weights and summary of an unbroken run, bit for bit
    /// (mixup, drop path and random erasing draws included). A second Ctrl-C exits at once, leaving the last epoch's
    /// state. SIGTERM sent from outside, wherever it lands, exits 143 and resumes the same way.
    func testCtrlCAndSIGTERMMidEpochResumeToTheUnbrokenRun() throws {
        let root = try temporaryDirectory()
        let args = ["train", "--embed-dim", "32", "--depth", "1", "--num-heads", "2", "--synthetic-test", "64",
                    "-b", "32", "--threads", "1", "-j", "1", "--mixup", "0.8", "--drop-path", "0.1", "--reprob", "0.25",
                    "--epochs", "3"]
        func weights(_ dir: String) throws -> [String: [Float]] {
            try SafeTensors.read(path: dir + "/last.safetensors").tensors.mapValues(\.values)
        }
        func summary(_ dir: String) throws -> String { try String(contentsOfFile: dir + "/summary.csv", encoding: .utf8) }
        func state(_ dir: String) throws -> TrainingState {
            let m = try VisionTransformer(config: try Checkpoint.config(at: dir + "/last.safetensors"), pool: Pools.one)
            return try Checkpoint.loadTrainingState(m, optimizer: nil, from: dir + "/train_state.safetensors")
        }
        let small = args + ["--synthetic-train", "256"]
        XCTAssertEqual(try run(small + ["--output", root + "/unbroken"]).code, 0)

        let cut = root + "/cut"
        let r = try run(small + ["--output", cut], environment: ["VITKIT_TEST_SIGNAL_AT": "2:3"])
        XCTAssertEqual(r.code, 130, r.err)
        XCTAssert(r.err.contains("training stopped by SIGINT at epoch 2 after update 3 of 8: the state is saved in \(cut)/train_state.safetensors"), r.err)
        let saved = try state(cut)
        XCTAssertEqual(saved.epoch, 1)
        XCTAssertEqual(saved.position?.step, 3)
        XCTAssertEqual(saved.position?.steps, 8)
        let resumed = try run(small + ["--output", cut, "--resume", cut])
        XCTAssertEqual(resumed.code, 0, resumed.err)
        XCTAssert(resumed.out.contains("at epoch 2 after update 3 of 8"), resumed.out)
        XCTAssert(try weights(cut) == weights(root + "/unbroken"), "the resumed run ends with the unbroken run's weights")
        XCTAssertEqual(try summary(cut), try summary(root + "/unbroken"))
        XCTAssertNil(try state(cut).position)

        let twice = root + "/twice"
        let t = try run(small + ["--output", twice], environment: ["VITKIT_TEST_SIGNAL_AT": "2:3:2"])
        XCTAssertEqual(t.code, 130, t.err)
        XCTAssertFalse(t.err.contains("training stopped by"), "the second signal exits before anything is saved: \(t.err)")
        XCTAssertEqual(try state(twice).epoch, 1)
        XCTAssertNil(try state(twice).position, "the last finished epoch's state")

        // from outside: 128 updates an epoch, SIGTERM a moment after the first epoch's line is out
        let large = args + ["--synthetic-train", "4096"]
        XCTAssertEqual(try run(large + ["--output", root + "/unbroken-large"]).code, 0)
        let term = root + "/term", log = root + "/term.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let p = Process(), err = Pipe()
        p.executableURL = try vitkitBinary(); p.arguments = large + ["--output", term]
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log)); p.standardError = err
        try p.run()
        let deadline = Date().addingTimeInterval(120)
        while !((try? String(contentsOfFile: log, encoding: .utf8))?.contains("epoch=1 ") ?? false) && Date() < deadline { usleep(2_000) }
        usleep(150_000)  // most often inside epoch 2 (an epoch takes about 0.4 s), wherever the machine's load puts it
        kill(p.processIdentifier, SIGTERM)
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .exit)
        XCTAssertEqual(p.terminationStatus, 143, e)
        XCTAssert(e.contains("training stopped by SIGTERM"), e)
        let where_ = try state(term)
        let again = try run(large + ["--output", term, "--resume", term])
        XCTAssertEqual(again.code, 0, again.err)
        XCTAssert(try weights(term) == weights(root + "/unbroken-large"), "SIGTERM's resumed run ends with the unbroken run's weights")
        XCTAssertEqual(try summary(term), try summary(root + "/unbroken-large"))
        print("SIGTERM from outside landed after epoch \(where_.epoch), update \(where_.position?.step ?? 0) of 128")
    }

    /// Asserts exit code 1 and exactly one line on stderr, `error: …` containing `text`.
    func assertFails(_ args: [String], _ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try run(args)
        XCTAssertEqual(r.code, 1, "\(args): \(r.err)", file: file, line: line)
        XCTAssert(r.err.hasPrefix("error: ") && r.err.contains(text), "\(args): \(r.err)", file: file, line: line)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, "one line: \(r.err)", file: file, line: line)
    }

    /// A ViT checkpoint (timm init, untrained) of `imgSize` pixels and `classes` outputs.
    func checkpoint(_ path: String, imgSize: Int, classes: Int) throws -> VisionTransformer {
        var c = try ViTConfig.named("small")
        c.imgSize = imgSize; c.patchSize = 16; c.depth = 1; c.embedDim = 32; c.numHeads = 2; c.numClasses = classes
        let m = try VisionTransformer(config: c, pool: Pools.one)
        var rng = RNG(seed: 3)
        try m.initialize(.timm, rng: &rng)
        try Checkpoint.save(m, to: path)
        return m
    }

    /// Item 1: a 64-pixel model evaluated on 32-pixel data read past the pictures (a different top-1 on each run,
    /// `test_acc=100.00` at -b 1, a segmentation fault at -b 1000), and a 4-class model gave an accuracy on 10
    /// classes. Every command that feeds data to a model now refuses, before computing, with train's message.
    func testEveryCommandRefusesDataThatDoesNotFitTheModel() throws {
        let dir = try temporaryDirectory()
        let big = try checkpoint(dir + "/big.safetensors", imgSize: 64, classes: 10)
        _ = try checkpoint(dir + "/four.safetensors", imgSize: 32, classes: 4)
        // the command line brings the pictures to the model's size, as timm's eval transform does, so the same
        // numbers come at any batch size; the library refuses pictures of another size (below)
        var results: [String] = []
        for b in ["1", "1000"] {
            let r = try run(["eval", "--checkpoint", dir + "/big.safetensors", "-b", b, "--synthetic-test", "50", "--threads", "2"])
            XCTAssertEqual(r.code, 0, r.err)
            results.append(String(r.out.split(separator: " ").filter { $0.hasPrefix("test_") }.joined(separator: " ")))
        }
        XCTAssertEqual(results[0], results[1])
        // and evaluates a checkpoint at another size than it was trained at (timm's dynamic_img_size): --img-size
        let other = try run(["eval", "--checkpoint", dir + "/big.safetensors", "--img-size", "32", "--synthetic-test", "50"])
        XCTAssertEqual(other.code, 0, other.err)
        XCTAssert(other.out.contains("# evaluating at 32×32 (trained at 64×64)"), other.out)
        let classes = "the evaluation data synthetic-test has 10 classes; model small has 4 outputs"
        try assertFails(["eval", "--checkpoint", dir + "/four.safetensors", "--synthetic-test", "50"], classes)
        try assertFails(["attention", "--checkpoint", dir + "/four.safetensors", "--index", "0", "--synthetic-test", "50",
                         "--output", dir + "/att"], classes)
        // pretrained weights of another size start a run at the data's size, as a timm fine-tune at another
        // resolution does (this model's fixed sin-cos table needs no resampling)
        let train = ["train", "--synthetic-train", "64", "--synthetic-test", "32", "-b", "32", "--epochs", "1", "--output", dir + "/run"]
        let tuned = try run(train + ["--pretrained", dir + "/big.safetensors", "--patch-size", "16", "--depth", "1", "--embed-dim", "32", "--num-heads", "2"])
        XCTAssertEqual(tuned.code, 0, tuned.err)
        XCTAssert(tuned.out.contains("# pretrained \(dir)/big.safetensors: all"), tuned.out)
        try FileSystem.createFolder(dir + "/state")
        try Checkpoint.saveTrainingState(big, optimizer: AdamW(table: big.table), state: TrainingState(
            epoch: 1, optimizerStep: 2, bestTop1: nil, history: [], settings: [:]), to: dir + "/state/train_state.safetensors")
        try assertFails(train + ["--resume", dir + "/state"], "the training data synthetic-train has 3×32×32 pictures; model small expects 3×64×64")
        try assertFails(["predict", "--checkpoint", dir + "/big.safetensors", "--input", dir + "/x.safetensors", "--output", dir + "/y"],
                        "does not exist")
        // the library call itself refuses too
        let (_, test) = TrainingTests.data()
        XCTAssertThrowsError(try big.evaluate(on: test, batchSize: 8)) {
            XCTAssertEqual("\($0)", "the evaluation data synthetic has 3×16×16 pictures; model small expects 3×64×64")
        }
    }

    /// Item 2: with two threads, a checkpoint that failed to load aborted the process ("Attempted to read an
    /// unowned reference but object … was already destroyed", exit 134) after printing the right error.
    func testEveryCommandFailsCleanlyOnABadCheckpointWithTwoThreads() throws {
        let dir = try temporaryDirectory()
        let missing = dir + "/missing.safetensors", garbage = dir + "/garbage.safetensors"
        try Data("not safetensors at all".utf8).write(to: URL(fileURLWithPath: garbage))
        for bad in [missing, garbage] {
            let why = bad == missing ? "does not exist or cannot be read" : "the header length is"
            let t = ["--threads", "2"]
            try assertFails(["eval", "--checkpoint", bad] + t, why)
            try assertFails(["predict", "--checkpoint", bad, "--input", bad, "--output", dir + "/y.safetensors"] + t, why)
            try assertFails(["attention", "--checkpoint", bad, "--index", "0", "--output", dir + "/att"] + t, why)
            try assertFails(["export", "--checkpoint", bad, "--output", dir + "/e.safetensors"], why)
            let train = ["train", "--synthetic-train", "64", "--synthetic-test", "32", "-b", "32", "--epochs", "1", "--output", dir + "/r"] + t
            try assertFails(train + ["--pretrained", bad], why)
            try assertFails(train + ["--resume", bad], why)
        }
    }

    /// A two-class folder of 16×16 PNGs, train/ and val/.
    /// Issue 20 item 5: a training picture that stops decoding while the run goes on (overwritten here after the
    /// first epoch) stops training at the batch that needs it, naming the file, the epoch and the step, with a
    /// non-zero exit; the last finished epoch's checkpoint and train_state stay whole and resume.
    func testAPictureThatBreaksMidTrainingStopsWithItsNameAndKeepsTheLastEpoch() throws {
        let dir = try temporaryDirectory()
        try folder(dir + "/data")
        let out = dir + "/run", log = dir + "/run.log"
        let args = ["train", "--dataset", "folder", "--data-dir", dir + "/data", "--img-size", "16", "--patch-size", "4",
                    "--depth", "1", "--embed-dim", "32", "--num-heads", "2", "-b", "4", "--epochs", "400", "--warmup-epochs", "0",
                    "--threads", "2", "--workers", "1", "--output", out]
        FileManager.default.createFile(atPath: log, contents: nil)
        let p = Process(), err = Pipe()
        p.executableURL = try vitkitBinary(); p.arguments = args
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log)); p.standardError = err
        try p.run()
        let deadline = Date().addingTimeInterval(120)
        while !((try? String(contentsOfFile: log, encoding: .utf8))?.contains("epoch=2 ") ?? false) && Date() < deadline { usleep(2_000) }
        let broken = dir + "/data/train/bee/3.png"
        try Data("<html>moved</html>".utf8).write(to: URL(fileURLWithPath: broken + ".tmp"))
        XCTAssertEqual(rename(broken + ".tmp", broken), 0)
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 1, e)
        let line = try XCTUnwrap(e.split(separator: "\n").first { $0.contains("training stopped at epoch") }, e)
        XCTAssert(line.contains("cannot decode image \(broken): it is a text file (HTML or XML"), String(line))
        let epoch = try XCTUnwrap(Int(line.split(separator: "epoch ")[1].prefix { $0.isNumber }))
        XCTAssertGreaterThanOrEqual(epoch, 2); XCTAssertLessThan(epoch, 400)
        let model = try VisionTransformer(config: try Checkpoint.config(at: out + "/last.safetensors"), pool: Pools.one)
        let state = try Checkpoint.loadTrainingState(model, optimizer: nil, from: out + "/train_state.safetensors")
        XCTAssertEqual(state.epoch, epoch - 1, "the last finished epoch's state")
        XCTAssertNoThrow(try SafeTensors.read(path: out + "/last.safetensors"))
        let rows = try String(contentsOfFile: out + "/summary.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, epoch, "a header and one row per finished epoch")
        // with the picture back the run resumes from there
        try folder(dir + "/data")
        let resumed = try run(args.map { $0 == "400" ? "\(epoch + 1)" : $0 } + ["--resume", out])
        XCTAssertEqual(resumed.code, 0, resumed.err)
        print("a picture broken after epoch 2's line stopped training at: \(line)")
        // one that disappears says so, by the same path
        XCTAssertThrowsError(try ImageDecoder().decode(path: dir + "/data/train/bee/gone.png")) {
            XCTAssertEqual("\($0)", "cannot read image \(dir)/data/train/bee/gone.png: No such file or directory")
        }
    }

    func folder(_ root: String) throws {
        var rng = RNG(seed: 9)
        for split in ["train", "val"] {
            for (k, name) in ["ant", "bee"].enumerated() {
                let d = "\(root)/\(split)/\(name)"
                try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
                for i in 0..<8 {
                    var img = RGBImage(width: 16, height: 16)
                    for j in img.pixels.indices { img.pixels[j] = UInt8(k * 120 + rng.int(below: 100)) }
                    try img.writePNG(to: "\(d)/\(i).png")
                }
            }
        }
    }

    /// Item 5: `--mean 0.485 0.456 0.406` as timm spells it; checkpoints record timm's pretrained config, and eval,
    /// predict and attention normalise as training did (attention once used CIFAR-10's statistics for any model).
    func testTheCheckpointSaysHowItsInputIsMade() throws {
        let dir = try temporaryDirectory()
        try folder(dir + "/data")
        let parsed = try XCTUnwrap(try VitkitCommand.parseAsRoot(["train", "--mean", "0.485", "0.456", "0.406",
                                                                   "--std", "0.229", "--std", "0.224", "--std", "0.225"]) as? TrainCommand)
        XCTAssertEqual(parsed.data.mean, [0.485, 0.456, 0.406]); XCTAssertEqual(parsed.data.std, [0.229, 0.224, 0.225])
        let mean = ["0.3", "0.4", "0.6"], std = ["0.2", "0.25", "0.3"]
        let r = try run(["train", "--dataset", "folder", "--data-dir", dir + "/data", "--img-size", "16", "--patch-size", "4",
                         "--depth", "1", "--embed-dim", "32", "--num-heads", "2", "-b", "8", "--epochs", "1", "--warmup-epochs", "0",
                         "--crop-pct", "0.875", "--interpolation", "bilinear", "--mean"] + mean + ["--std"] + std + ["--output", dir + "/run"])
        XCTAssertEqual(r.code, 0, r.err)
        // the run's args.yaml records the three values as a list, which -c turns back into `--mean a b c`
        let again = try XCTUnwrap(try VitkitCommand.parseAsRoot(try ConfigFile.expand(["train", "-c", dir + "/run/args.yaml"])) as? TrainCommand)
        XCTAssertEqual(again.data.mean, [0.3, 0.4, 0.6]); XCTAssertEqual(again.data.std, [0.2, 0.25, 0.3])
        let ckpt = dir + "/run/last.safetensors"
        let cfg = try XCTUnwrap(try PretrainedConfig.recorded(at: ckpt))
        XCTAssertEqual(cfg, PretrainedConfig(inputSize: [3, 16, 16], mean: [0.3, 0.4, 0.6], std: [0.2, 0.25, 0.3],
                                             interpolation: "bilinear", cropPct: 0.875, labelNames: ["ant", "bee"]))
        XCTAssertEqual(try PretrainedConfig.recorded(at: dir + "/run/train_state.safetensors"), cfg)
        XCTAssertEqual(try PretrainedConfig.recorded(at: dir + "/run/model_best.safetensors"), cfg)
        let exported = try run(["export", "--checkpoint", dir + "/run/train_state.safetensors", "--output", dir + "/e.safetensors"])
        XCTAssertEqual(exported.code, 0, exported.err)
        XCTAssertEqual(try PretrainedConfig.recorded(at: dir + "/e.safetensors"), cfg, "export keeps it")

        // eval: the model's normalisation and eval transform unless told otherwise
        func evalLine(_ extra: [String]) throws -> String {
            let e = try run(["eval", "--checkpoint", ckpt, "--dataset", "folder", "--data-dir", dir + "/data"] + extra)
            XCTAssertEqual(e.code, 0, e.err)
            return String(e.out.split(separator: " ").filter { $0.hasPrefix("test_loss=") }.first ?? "none")
        }
        let recorded = try evalLine([])
        XCTAssertEqual(recorded, try evalLine(["--mean"] + mean + ["--std"] + std + ["--crop-pct", "0.875", "--interpolation", "bilinear"]))
        XCTAssertNotEqual(recorded, try evalLine(["--mean", "0.5", "0.5", "0.5"]), "an explicit --mean wins")
        let m = try Checkpoint.model(from: ckpt, pool: Pools.one) { _ in throw ViTKitError("recorded") }

        // predict --image: the eval transform and normalisation of the checkpoint, a line naming the class
        let image = dir + "/data/val/bee/3.png"
        let p = try run(["predict", "--checkpoint", ckpt, "--image", image, "--output", dir + "/p.safetensors"])
        XCTAssertEqual(p.code, 0, p.err)
        let input = try ImageFolder.decode(image).evalTransform(size: 16, cropPct: 0.875, filter: .bilinear)
            .normalized(mean: cfg.mean, std: cfg.std)
        let expected = try m.predict(images: input, count: 1)
        XCTAssertEqual(try SafeTensors.read(path: dir + "/p.safetensors").tensors["logits"]?.values, expected)
        let top = expected[1] > expected[0] ? "1 name=bee" : "0 name=ant"
        XCTAssert(p.out.contains("image=\(image) class=\(top) probability="), p.out)

        // attention --image: distances from the recorded normalisation, not CIFAR-10's
        func distances(_ extra: [String]) throws -> String {
            let a = try run(["attention", "--checkpoint", ckpt, "--image", image, "--output", dir + "/att"] + extra)
            XCTAssertEqual(a.code, 0, a.err)
            return try String(contentsOfFile: dir + "/att/distance.csv", encoding: .utf8)
        }
        let byRecord = try distances([])
        XCTAssertEqual(byRecord, try distances(["--mean"] + mean + ["--std"] + std))
        XCTAssertNotEqual(byRecord, try distances(["--mean", "0.4914", "0.4822", "0.4465", "--std", "0.2471", "0.2435", "0.2616"]))
    }

    /// Item 6: messages that say what is wrong and what was expected.
    func testMessagesSayWhatIsWrong() throws {
        let dir = try temporaryDirectory()
        try folder(dir + "/data")
        let tiny = ["--synthetic-train", "64", "--synthetic-test", "32", "-b", "32", "--epochs", "1", "--depth", "1"]
        // an image folder without --dataset is read as one, timm's default, and says so
        let asFolder = try run(["train", "--data-dir", dir + "/data", "-b", "8", "--epochs", "1", "--depth", "1", "--output", dir + "/folder-run"])
        XCTAssertEqual(asFolder.code, 0, asFolder.err)
        XCTAssert(asFolder.out.contains("holds an image folder (train/<class>/<image>): reading it as --dataset folder"), asFolder.out)
        _ = FileManager.default.createFile(atPath: dir + "/file", contents: Data("x".utf8))
        try assertFails(["train", "--output", dir + "/file"] + tiny, "cannot create folder \(dir)/file: a file of that name is there")
        try assertFails(["train", "--output", dir + "/file/run"] + tiny, "cannot create folder \(dir)/file/run: Not a directory")
        try assertFails(["attention", "--checkpoint", "/nonexistent.safetensors", "--index", "0", "--output", dir + "/file"],
                        "does not exist")
        // one default in --threads' help, not "(default: all cores) (default: 2)"
        let help = VitkitCommand.helpMessage(for: TrainCommand.self, columns: 400)
        let threads = try XCTUnwrap(help.split(separator: "\n").first { $0.contains("--threads") })
        XCTAssertEqual(threads.components(separatedBy: "default").count - 1, 1, String(threads))
        XCTAssert(threads.contains("all cores, \(ThreadOptions.defaultThreads) here"), String(threads))
    }

    /// Item 8: the epoch line says how long evaluation took, apart from training.
    func testTheEpochLineTimesEvaluation() throws {
        let stats = EpochStats(epoch: 2, lr: 0.001, trainLoss: 1, testLoss: 2, testTop1: 30, testTop5: 60, seconds: 12.34, evalSeconds: 5.6)
        XCTAssertEqual(Trainer.line(stats), "epoch=2 lr=0.001 train_loss=1.0000 test_loss=2.0000 test_acc=30.00 seconds=12.3 eval_seconds=5.6")
        var unevaluated = stats; unevaluated.testLoss = nil; unevaluated.testTop1 = nil; unevaluated.evalSeconds = nil
        XCTAssertEqual(Trainer.line(unevaluated), "epoch=2 lr=0.001 train_loss=1.0000 seconds=12.3")
        let (train, test) = TrainingTests.data()
        let m = try VisionTransformer(config: TrainingTests.tinyConfig(), pool: Pools.two)
        var rng = RNG(seed: 1)
        try m.initialize(.timm, rng: &rng)
        var lines: [String] = []
        let t = Trainer(model: m, options: TrainingTests.options(epochs: 1))
        t.log = { lines.append($0) }
        try t.fit(train: train, test: test)
        XCTAssertEqual(lines.count, 1)
        XCTAssertNotNil(lines[0].range(of: #" seconds=[0-9.]+ eval_seconds=[0-9.]+$"#, options: .regularExpression), lines[0])
        XCTAssertNotNil(t.history[0].evalSeconds)
    }
}
