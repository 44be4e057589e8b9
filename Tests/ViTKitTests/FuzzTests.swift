import Foundation
import XCTest
@testable import ViTKitFuzz
import ViTKitModels

/// The fuzz targets (`scripts/fuzz.sh`, README "Fuzzing") on the committed inputs: every seed of `Fuzz/corpus`
/// parses (those named `bad_*` are refused with a message), and every input that once crashed a parser
/// (`Fuzz/regressions/<target>/<what it broke>`) is now refused with the message its fix gives.
final class FuzzTests: XCTestCase {
    static let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz").path

    func inputs(_ folder: String) throws -> [(name: String, data: Data)] {
        let path = Self.fuzz + "/" + folder
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: path).sorted().map { ($0, try Data(contentsOf: URL(fileURLWithPath: path + "/" + $0))) }
    }

    func testEverySeedParsesAndEveryBadSeedIsRefused() throws {
        for target in FuzzTarget.allCases {
            let seeds = try inputs("corpus/\(target.rawValue)")
            XCTAssertGreaterThanOrEqual(seeds.count, 2, "\(target): seed corpus")
            for (name, data) in seeds {
                let outcome = data.withUnsafeBytes { target.run($0) }
                if name.hasPrefix("bad_") {
                    guard case .refused(let why) = outcome else { XCTFail("\(target)/\(name) parsed"); continue }
                    XCTAssertFalse(why.isEmpty)
                } else {
                    XCTAssertEqual(outcome, .parsed, "\(target)/\(name)")
                }
            }
        }
    }

    func testACheckpointWhoseConfigIsInvalidIsNamed() throws {
        let bad = try XCTUnwrap(try inputs("corpus/checkpoint").first { $0.name == "bad_config" }).data
        XCTAssertEqual(bad.withUnsafeBytes { FuzzTarget.checkpoint.run($0) },
                       .refused("checkpoint fuzz input: metadata 'vitkit_config' describes no valid ViT: embed dim 32 is not divisible by num heads 3"))
    }

    func testInputsThatCrashedAParserAreRefusedClearly() throws {
        // each fix's message, by the file that found it (nil: the input now parses)
        let expected: [String: String?] = [
            "tar/negative-size": "bad tar header at byte 512 (size field '-10')",
            "mat/dims-overflow": "of shape [1392508929, 1852404340] has 4 data bytes, expected more than Int.max",
            "randaugment/millions-of-ops": "n must be in 0...100",
            "yaml/non-scalar-key": "is not a YAML mapping of option names to values",
            "npz/zip-offset-past-end": "has no .npy entries",
            "initmode/huge-whole-number": nil,
        ]
        var seen: [String] = []
        for target in FuzzTarget.allCases {
            for (name, data) in try inputs("regressions/\(target.rawValue)") {
                let key = "\(target.rawValue)/\(name)", outcome = data.withUnsafeBytes { target.run($0) }
                seen.append(key)
                guard let fragment = expected[key] else { XCTFail("\(key) has no expected outcome here"); continue }
                if let fragment {
                    guard case .refused(let why) = outcome else { XCTFail("\(key): \(outcome)"); continue }
                    XCTAssert(why.contains(fragment), "\(key): \(why)")
                } else {
                    XCTAssertEqual(outcome, .parsed, key)
                }
            }
        }
        XCTAssertEqual(seen.sorted(), expected.keys.sorted())
        // initmode/huge-whole-number parsed, and its description overflowed Int; it now reads back as itself
        let mode = try InitMode(parsing: "mimetic0.6_0.71e308")
        XCTAssertEqual(mode.description, "mimetic0.6_7.1e+307")
        XCTAssertEqual(try InitMode(parsing: mode.description), mode)
    }
}
