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

/// `vitkit train -c FILE`: a YAML file of options; the args.yaml a run writes reproduces the run.
final class ConfigFileTests: XCTestCase {
    func parse(_ args: [String]) throws -> TrainCommand {
        try XCTUnwrap(try VitkitCommand.parseAsRoot(try ConfigFile.expand(args)) as? TrainCommand)
    }

    func testArgsYamlReproducesTheRunAndTheCommandLineWins() throws {
        let root = try temporaryDirectory()
        var a = try parse(["train", "--depth", "1", "--embed-dim", "48", "--class-token", "true", "--global-pool", "token",
                           "--synthetic-train", "64", "--synthetic-test", "32", "-b", "32", "--epochs", "1", "--threads", "2",
                           "--scale", "0.5", "1", "--init", "mimetic0.7_0.7", "--seed", "9", "--output", root + "/a"])
        try a.run()
        var b = try parse(["train", "-c", root + "/a/args.yaml", "--output", root + "/b"])
        XCTAssertEqual(b.options.arguments, a.options.arguments)
        XCTAssertEqual(try b.model.resolve(numClasses: 10), try a.model.resolve(numClasses: 10))
        XCTAssertEqual(b.initArguments.metadata, a.initArguments.metadata)
        try b.run()
        let wa = try SafeTensors.read(path: root + "/a/last.safetensors").tensors, wb = try SafeTensors.read(path: root + "/b/last.safetensors").tensors
        XCTAssertEqual(wa.keys.sorted(), wb.keys.sorted())
        for (k, t) in wa { XCTAssertEqual(wb[k]?.values, t.values, k) }
        // options on the command line override the file, lists included
        let c = try parse(["-c", root + "/a/args.yaml", "--epochs", "3", "-b", "16", "--scale", "0.2", "0.9"])
        XCTAssertEqual(c.epochs, 3); XCTAssertEqual(c.batchSize, 16); XCTAssertEqual(c.scale, [0.2, 0.9])
        XCTAssertEqual(c.seed, 9)
    }

    func testBadConfigFiles() throws {
        let root = try temporaryDirectory()
        func error(_ text: String?) -> String {
            let path = root + "/c.yaml"
            if let text { try? text.write(toFile: path, atomically: true, encoding: .utf8) } else { try? FileManager.default.removeItem(atPath: path) }
            do { _ = try ConfigFile.expand(["train", "-c", path]); return "(expanded)" } catch { return "\(error)" }
        }
        XCTAssertEqual(error(nil), "config file \(root)/c.yaml does not exist or cannot be read")
        XCTAssertEqual(error("- 1\n- 2\n"), "config file \(root)/c.yaml is not a YAML mapping of option names to values")
        XCTAssert(error("epochs: [1, 2\n").hasPrefix("config file \(root)/c.yaml is not valid YAML"))
        XCTAssertThrowsError(try ConfigFile.expand(["train", "--config-file"])) { XCTAssertEqual("\($0)", "--config-file needs a YAML file") }
        // read node by node: a key that is not a name, and values that are not options, are refused (Yams' own
        // `load` trapped on the first; scripts/fuzz.sh found it), and a merge key gives what the mapping lacks
        XCTAssertEqual(error("? [a, b]\n: 1\n"), "config file \(root)/c.yaml: a key is a list, expected an option name")
        XCTAssertEqual(error("scale: {lo: 1}\n"), "config file \(root)/c.yaml: 'scale' is a mapping, expected a value or a list of values")
        XCTAssertEqual(error("scale: [[1, 2]]\n"), "config file \(root)/c.yaml: 'scale' lists a list, expected plain values")
        XCTAssertEqual(error("<<: 3\n"), "config file \(root)/c.yaml: '<<' merges a scalar, expected a mapping")
        XCTAssertEqual(error("<<: {epochs: 2, lr: 0.5}\nepochs: 4\nscale: [0.5, 1]\n"),
                       "(expanded)")
        XCTAssertEqual(try ConfigFile.expand(["train", "-c", root + "/c.yaml"]),
                       ["train", "--epochs", "4", "--lr", "0.5", "--scale", "0.5", "1"])
        _ = error("unknown_option: 1\n")
        XCTAssertThrowsError(try VitkitCommand.parseAsRoot(try ConfigFile.expand(["-c", root + "/c.yaml"])), "an unknown key is an unknown option")
    }
}
