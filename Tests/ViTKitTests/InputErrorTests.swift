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

/// Bad input: each gives one clear line naming the thing, the value and what was expected.
final class InputErrorTests: XCTestCase {
    var dir: String!

    override func setUp() {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("vitkit-bad-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "(no error)" } catch { return "\(error)" }
    }

    func testMissingCIFARFile() {
        let msg = message { _ = try CIFAR10.load(directory: dir, train: false) }
        XCTAssert(msg.contains("\(dir!)/test_batch.bin does not exist"), msg)
    }

    func testTruncatedCIFARFile() {
        _ = FileManager.default.createFile(atPath: dir + "/test_batch.bin", contents: Data(count: 3073 * 10))
        let msg = message { _ = try CIFAR10.load(directory: dir, train: false) }
        XCTAssert(msg.contains("test_batch.bin has 30730 bytes: expected 30730000"), msg)
        XCTAssert(msg.contains("truncated"), msg)
    }

    func testBadLabelInCIFARFile() {
        var data = Data(count: 3073 * 10000)
        data[3073 * 2] = 12
        _ = FileManager.default.createFile(atPath: dir + "/test_batch.bin", contents: data)
        let msg = message { _ = try CIFAR10.load(directory: dir, train: false) }
        XCTAssert(msg.contains("record 2 has label 12, expected 0...9"), msg)
    }

    func testCIFARLoadsLabelsAndPlanes() throws {
        var data = Data(count: 3073 * 10000)
        data[3073 * 5] = 7; data[3073 * 5 + 1 + 1024] = 200  // record 5: label 7, first green pixel 200
        _ = FileManager.default.createFile(atPath: dir + "/test_batch.bin", contents: data)
        let ds = try CIFAR10.load(directory: dir, train: false)
        XCTAssertEqual(ds.count, 10000)
        XCTAssertEqual(ds.labels[5], 7)
        XCTAssertEqual(ds.images[5 * 3072 + 1024], 200)
    }

    func testConfigErrors() throws {
        var c = try ViTConfig.named("small")
        c.numHeads = 5
        XCTAssertEqual(message { try c.validate() }, "embed dim 192 is not divisible by num heads 5")
        c = try ViTConfig.named("small"); c.patchSize = 5
        XCTAssertEqual(message { try c.validate() }, "img size 32 is not divisible by patch size 5")
        let unknown = message { _ = try ViTConfig.named("vit_huge") }
        XCTAssert(unknown.contains("unknown config 'vit_huge': expected one of deit_base_distilled_patch16_224,") && unknown.contains(" small, "), unknown)
        c = try ViTConfig.named("small"); c.globalPool = .token
        XCTAssert(message { try c.validate() }.contains("needs a class token"))
    }

    func testPerClassLargerThanTheData() {
        let ds = SyntheticDataset.make(count: 40, classes: 4, size: 8, seed: 1)
        XCTAssert(message { _ = try ds.perClassSubset(100, seed: 1) }.contains("--per-class 100 is more than the"))
    }

    func testPerClassSubsetIsSeededAndBalanced() throws {
        let ds = SyntheticDataset.make(count: 400, classes: 4, size: 8, seed: 1)
        let a = try ds.perClassSubset(20, seed: 42), b = try ds.perClassSubset(20, seed: 42)
        XCTAssertEqual(a.labels, b.labels); XCTAssertEqual(a.images, b.images)
        XCTAssertEqual((0..<4).map { c in a.labels.filter { $0 == c }.count }, [20, 20, 20, 20])
        XCTAssertNotEqual(try ds.perClassSubset(20, seed: 43).images, a.images)
    }

    /// Command-line parsing: non-numeric and out-of-range values, wrong configs.
    func testCommandLineErrors() {
        func parseError(_ args: [String]) -> String {
            do { _ = try VitkitCommand.parseAsRoot(args); return "(parsed)" } catch { return VitkitCommand.message(for: error) }
        }
        XCTAssert(parseError(["train", "--epochs", "ten"]).contains("'ten' is invalid for '--epochs"))
        XCTAssertEqual(parseError(["train", "--epochs", "0"]), "--epochs must be at least 1, got 0")
        XCTAssertEqual(parseError(["train", "--hflip", "1.5"]), "--hflip must be a probability in [0, 1], got 1.5")
        XCTAssertEqual(parseError(["train", "--threads", "0"]), "--threads must be between 1 and 256, got 0")
        XCTAssertEqual(parseError(["train", "--num-heads", "5"]), "embed dim 192 is not divisible by num heads 5")
        XCTAssertEqual(parseError(["train", "--patch-size", "3"]), "img size 32 is not divisible by patch size 3")
        XCTAssert(parseError(["train", "--config", "nope"]).contains("unknown config 'nope'"))
        XCTAssert(parseError(["bench", "--global-pool", "max"]).contains("'max' is invalid for '--global-pool"))
        XCTAssertEqual(parseError(["train", "--dataset", "cifar10"]),
                       "--dataset cifar10 needs --data-dir pointing at its files")
        XCTAssertEqual(parseError(["train", "--epochs", "3", "-b", "64"]), "(parsed)")
        XCTAssertEqual(parseError(["train", "--init", "impulseX"]), "init mode 'impulseX' needs a whole-number window size: "
            + "expected \(InitMode.validForms)")
        XCTAssertEqual(parseError(["train", "--init", "mimetic0.7_0.7"]), "(parsed)")
        // augmentation flags
        XCTAssertEqual(parseError(["train", "--aa", "rand-m9-x3"]), "--aa 'rand-m9-x3': unknown section 'x3'; expected "
            + "m<int>, n<int>, p<float>, mstd<float>, mmax<int> or inc<0|1>")
        XCTAssert(parseError(["train", "--aa", "augmix-m5-w4"]).hasPrefix("--aa 'augmix-m5-w4': only RandAugment is supported"))
        XCTAssertEqual(parseError(["bench", "--augment", "rand-mx"]), "--aa 'rand-mx': section 'mx' has no value; expected "
            + "m<int>, n<int>, p<float>, mstd<float>, mmax<int> or inc<0|1>")
        XCTAssertEqual(parseError(["train", "--aa", "none", "--color-jitter", "0.4", "0.4", "0.4", "0.1"]),
                       "--color-jitter: hue (a fourth value) is not supported")
        XCTAssertEqual(parseError(["train", "--scale", "0.08"]), "--scale takes two numbers 0 < min ≤ max ≤ 1, got [0.08]")
        XCTAssertEqual(parseError(["train", "--ratio", "1.5", "0.5"]), "--ratio takes two numbers 0 < min ≤ max, got [1.5, 0.5]")
        XCTAssertEqual(parseError(["train", "--train-interpolation", "nearest"]),
                       "--train-interpolation 'nearest': expected random, bilinear or bicubic")
        XCTAssertEqual(parseError(["train", "--aa", "none", "--scale", "0.08", "1", "--ratio", "0.75", "1.333", "-j", "2"]), "(parsed)")
    }

    /// The real binary: a clear one-line error on stderr and a non-zero exit code, no crash.
    func testBinaryExitsNonZeroWithOneLine() throws {
        let bin = try vitkitBinary()
        func run(_ args: [String]) throws -> (Int32, String) {
            let p = Process(), err = Pipe()
            p.executableURL = bin; p.arguments = args; p.standardError = err; p.standardOutput = Pipe()
            try p.run(); p.waitUntilExit()
            return (p.terminationStatus, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }
        let (code, stderr) = try run(["train", "--data-dir", dir, "--epochs", "1"])
        XCTAssertEqual(code, 1)
        XCTAssertEqual(stderr, "error: CIFAR-10 file \(dir!)/data_batch_1.bin does not exist: expected the binary version "
            + "(data_batch_1..5.bin, test_batch.bin) in \(dir!)\n")
        let (code2, stderr2) = try run(["bench", "--embed-dim", "100", "--num-heads", "3"])
        XCTAssertNotEqual(code2, 0)
        XCTAssert(stderr2.contains("embed dim 100 is not divisible by num heads 3"), stderr2)
    }
}
