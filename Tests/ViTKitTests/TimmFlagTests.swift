import Foundation
import XCTest
@testable import ViTKit
@testable import ViTKitCLI

/// timm's spellings that `vitkit train` accepts so that timm command lines run with `python train.py` replaced.
final class TimmFlagTests: XCTestCase {
    func testGpIsGlobalPoolAndAmpIsAcceptedWithANote() throws {
        let cmd = try XCTUnwrap(try VitkitCommand.parseAsRoot(["train", "--gp", "token", "--class-token", "true", "--amp",
                                                                "--opt", "momentum", "--sched", "step", "--drop-path", "0.1"]) as? TrainCommand)
        XCTAssertEqual(try cmd.model.resolve(numClasses: 10).globalPool, .token)
        XCTAssertTrue(cmd.amp)
        XCTAssertEqual(cmd.options.opt, .momentum); XCTAssertEqual(cmd.options.sched, .step); XCTAssertEqual(cmd.options.dropPath, 0.1)
        let root = try temporaryDirectory()
        let p = Process(), out = Pipe()
        p.executableURL = try vitkitBinary()
        p.arguments = ["train", "--depth", "1", "--embed-dim", "48", "--synthetic-train", "64", "--synthetic-test", "16", "-b", "32",
                       "--epochs", "1", "--amp", "--output", root + "/amp"]
        p.standardOutput = out; p.standardError = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssert(text.contains("# --amp: ViTKit trains in float32 on the CPU; the flag changes nothing"), text)
    }
}

extension TimmFlagTests {
    /// The follow-up's command line: `--model-kwargs img_size=… weight_init=skip post_weight_init=impulse`.
    func testModelKwargsBecomeVitkitOptions() throws {
        let args = try ConfigFile.expand(["train", "--config", "vit_tiny_patch16_224", "--model-kwargs", "img_size=64",
                                          "weight_init=skip", "post_weight_init=impulse", "class_token=True", "-b", "8"])
        XCTAssertEqual(args, ["train", "--config", "vit_tiny_patch16_224", "--img-size", "64", "--class-token", "true",
                              "--init", "post-impulse", "-b", "8"])
        let cmd = try XCTUnwrap(try VitkitCommand.parseAsRoot(args) as? TrainCommand)
        XCTAssertEqual(try cmd.initArguments.mode(), .post(PostInit(.impulse)))
        XCTAssertEqual(try ConfigFile.expand(["train", "--model-kwargs", "weight_init=skip"]), ["train", "--init", "skip"])
        XCTAssertThrowsError(try ConfigFile.expand(["train", "--model-kwargs", "act_layer=relu"])) {
            XCTAssert("\($0)".contains("act_layer=…: not a model option vitkit has"), "\($0)")
        }
    }
}
