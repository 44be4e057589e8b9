import Foundation
import XCTest
@testable import ViTKit
@testable import ViTKitCLI
@testable import ViTKitTraining

/// `vitkit sweep`: the grid, its records and results, and that a sweep killed with SIGKILL and started again
/// repeats no finished run.
final class SweepTests: XCTestCase {
    static let recipe = ["--synthetic-train", "400", "--synthetic-test", "40", "--depth", "1", "--embed-dim", "48",
                         "-b", "16", "--threads", "1", "--warmup-epochs", "1"]

    func sweep(_ out: String, epochs: Int, onStart: ((Process) -> Void)? = nil) throws -> (code: Int32, out: String) {
        let p = Process(), pipe = Pipe()
        p.executableURL = try vitkitBinary()
        p.arguments = ["sweep", "--inits", "timm,post-impulse", "--seeds", "0,1", "--per-class", "4,8", "--output", out, "--"]
            + Self.recipe + ["--epochs", "\(epochs)"]
        p.standardOutput = pipe; p.standardError = FileHandle.nullDevice
        try p.run()
        onStart?(p)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testKilledAndStartedAgainItRepeatsNoFinishedRun() throws {
        let root = try temporaryDirectory(), out = root + "/sweep"
        let grid = Sweep(inits: ["timm", "post-impulse"], seeds: [0, 1], sizes: [4, 8], folder: out)
        XCTAssertEqual(grid.cells.count, 8)
        XCTAssertEqual(grid.cells.first?.name, "timm-seed0-n4")
        // kill it once the first two runs are recorded, in the middle of a later one
        let killed = try sweep(out, epochs: 12) { p in
            let second = grid.runFolder(grid.cells[1]) + "/run.json"
            let deadline = Date().addingTimeInterval(120)
            while !FileManager.default.fileExists(atPath: second) && Date() < deadline { usleep(20_000) }
            usleep(150_000)
            kill(p.processIdentifier, SIGKILL)
        }
        XCTAssertEqual(killed.code, SIGKILL, "killed: \(killed.out)")
        let done = try grid.cells.filter { if case .finished = try grid.status($0) { return true } else { return false } }
        XCTAssertGreaterThanOrEqual(done.count, 2)
        let before = try done.map { try Data(contentsOf: URL(fileURLWithPath: grid.runFolder($0) + "/run.json")) }
        let summaries = try done.map { try Data(contentsOf: URL(fileURLWithPath: grid.runFolder($0) + "/summary.csv")) }

        let again = try sweep(out, epochs: 12)
        XCTAssertEqual(again.code, 0, again.out)
        for c in done { XCTAssert(again.out.contains("init=\(c.initName) seed=\(c.seed) per_class=\(c.perClass): finished before"), again.out) }
        XCTAssertEqual(again.out.components(separatedBy: ": starting").count - 1 + again.out.components(separatedBy: ": resuming").count - 1,
                       8 - done.count, again.out)
        for (i, c) in done.enumerated() {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: grid.runFolder(c) + "/run.json")), before[i], "\(c.name) untouched")
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: grid.runFolder(c) + "/summary.csv")), summaries[i], "\(c.name) not rerun")
        }
        let records = try grid.records()
        XCTAssertEqual(records.count, 8)
        XCTAssert(records.allSatisfy { $0.epochs == 12 && $0.trainImages == 10 * $0.perClass }, "\(records)")
        let csv = try String(contentsOfFile: out + "/results.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.count, 9)
        XCTAssertEqual(csv[0], "init,seed,per_class,train_images,final_top1,best_top1,epochs,seconds,final_train_loss")
        let md = try String(contentsOfFile: out + "/results.md", encoding: .utf8)
        XCTAssert(md.contains("| `post-impulse` |") && md.contains("(2) |"), md)
        XCTAssert(FileManager.default.fileExists(atPath: out + "/results.png"))
        // a third start has nothing to do
        let third = try sweep(out, epochs: 12)
        XCTAssertEqual(third.out.components(separatedBy: "finished before").count - 1, 8, third.out)
    }

    func testMeanAndSampleStandardDeviation() {
        let (m, s) = Sweep.meanAndStd([40, 42, 44])
        XCTAssertEqual(m, 42); XCTAssertEqual(s, 2)
        XCTAssertEqual(Sweep.meanAndStd([7]).1, 0)
    }

    func testTheSweepSetsWhatEachRunVaries() throws {
        XCTAssertThrowsError(try VitkitCommand.parseAsRoot(["sweep", "--", "--seed", "3"])) {
            XCTAssert("\(VitkitCommand.message(for: $0))".contains("--seed is set by the sweep"), "\($0)")
        }
        XCTAssertThrowsError(try VitkitCommand.parseAsRoot(["sweep", "--inits", "timm,fancy"])) {
            XCTAssert("\(VitkitCommand.message(for: $0))".contains("'fancy' is not valid"), "\($0)")
        }
    }
}
