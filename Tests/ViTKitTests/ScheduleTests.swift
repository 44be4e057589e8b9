import Foundation
import XCTest
@testable import ViTKit
@testable import ViTKitCore
@testable import ViTKitModels
@testable import ViTKitTraining

/// Learning-rate schedules against timm's scheduler factory driven as train.py drives it, and jeonsworld/
/// ViT-pytorch's per-step schedules (`scripts/make_schedule_fixtures.py`): the rate at every update of whole runs
/// within 1e-9, and the number of epochs the factory says to train; `plateau` fed a fixed sequence of evaluations.
final class ScheduleTests: XCTestCase {
    struct Fixture: Decodable {
        struct Run: Decodable { let case_: [String: Value]; let num_epochs: Int; let lrs: [Double]
            enum CodingKeys: String, CodingKey { case case_ = "case", num_epochs, lrs } }
        enum Value: Decodable {
            case number(Double), flag(Bool), text(String), list([Int]), metrics([Double?])
            init(from d: Decoder) throws {
                let c = try d.singleValueContainer()
                if let b = try? c.decode(Bool.self) { self = .flag(b) } else if let n = try? c.decode(Double.self) { self = .number(n) }
                else if let l = try? c.decode([Int].self) { self = .list(l) } else if let m = try? c.decode([Double?].self) { self = .metrics(m) }
                else { self = .text(try c.decode(String.self)) }
            }
        }
        let runs: [Run]
    }

    func testEveryUpdatesRateMatchesTimmAndJeonsworld() throws {
        let url = Bundle.module.url(forResource: "timm_schedules", withExtension: "json", subdirectory: "Fixtures")!
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        XCTAssertEqual(fixture.runs.count, 17)
        for run in fixture.runs {
            var o = TrainOptions(), updates = 0
            func number(_ k: String) -> Double? { if case .number(let v)? = run.case_[k] { return v }; return nil }
            func flag(_ k: String) -> Bool { if case .flag(let v)? = run.case_[k] { return v }; return false }
            if case .text(let s)? = run.case_["sched"] { o.sched = try XCTUnwrap(LRSchedule.Kind(rawValue: s)) }
            o.lr = number("lr")!; o.epochs = Int(number("epochs")!); o.warmupEpochs = Int(number("warmup_epochs")!)
            o.warmupLR = number("warmup_lr")!; o.minLR = number("min_lr")!; updates = Int(number("updates")!)
            if let v = number("decay_epochs") { o.decayEpochs = v }
            if let v = number("decay_rate") { o.decayRate = v }
            if let v = number("cooldown_epochs") { o.cooldownEpochs = Int(v) }
            if let v = number("warmup_steps") { o.warmupSteps = Int(v) }
            if let v = number("patience_epochs") { o.patienceEpochs = Int(v) }
            var metrics: [Double?] = []
            if case .metrics(let m)? = run.case_["metrics"] { metrics = m }
            if case .list(let m)? = run.case_["decay_milestones"] { o.decayMilestones = m }
            o.warmupPrefix = flag("warmup_prefix"); o.schedOnUpdates = flag("sched_on_updates")
            let s = LRSchedule(options: o, baseLR: o.lr, updatesPerEpoch: updates)
            let what = "\(run.case_)"
            XCTAssertEqual(s.totalEpochs, run.num_epochs, what)
            var ours: [Double] = []
            for e in 0..<s.totalEpochs {
                for u in 0..<updates { ours.append(s.onUpdates ? s.lr(e * updates + u) : s.lr(e, metrics: Array(metrics.prefix(e)))) }
            }
            XCTAssertEqual(ours.count, run.lrs.count, what)
            let worst = zip(ours, run.lrs).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(worst, 1e-9, what)
        }
    }

    /// The trainer runs the factory's epoch count and moves the rate per update when told to.
    func testTheTrainerFollowsTheSchedule() throws {
        var o = TrainingTests.options(epochs: 2)
        o.cooldownEpochs = 1; o.schedOnUpdates = true; o.warmupEpochs = 1
        let (train, _) = TrainingTests.data()
        let m = try VisionTransformer(config: TrainingTests.tinyConfig(), pool: Pools.one)
        var rng = RNG(seed: 1)
        try m.initialize(.timm, rng: &rng)
        let t = Trainer(model: m, options: o)
        try t.fit(train: train, test: nil)
        XCTAssertEqual(t.history.count, 3, "2 epochs and 1 of cooldown")
        XCTAssertEqual(t.history.map(\.lr), [o.warmupLR, o.scheduler(globalBatch: 32, updatesPerEpoch: 8).lr(8), o.minLR])
    }

    /// `plateau` in the trainer: each epoch's rate follows the evaluations before it (patience 0: every epoch
    /// without a better top-1 halves it).
    func testTheTrainerDecaysOnAPlateau() throws {
        var o = TrainingTests.options(epochs: 5)
        o.sched = .plateau; o.patienceEpochs = 0; o.decayRate = 0.5; o.warmupEpochs = 0; o.evalEvery = 1
        let (train, test) = TrainingTests.data()
        let m = try VisionTransformer(config: TrainingTests.tinyConfig(), pool: Pools.one)
        var rng = RNG(seed: 1)
        try m.initialize(.timm, rng: &rng)
        let t = Trainer(model: m, options: o)
        try t.fit(train: train, test: test)
        let top1 = t.history.map(\.testTop1)
        XCTAssertEqual(t.history.count, 5)
        var expected = [o.lr], best = -Double.infinity
        for e in 0..<4 {
            let better = top1[e]! > best * (1 + 1e-4)
            if better { best = top1[e]! }
            expected.append(better ? expected[e] : expected[e] * 0.5)
        }
        XCTAssertEqual(t.history.map(\.lr), expected, "top-1 \(top1)")
    }
}
