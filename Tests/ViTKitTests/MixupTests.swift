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

/// Mixup and cutmix against timm's Mixup with fixed draws (scripts/make_mixup_fixtures.py), the soft-target
/// cross-entropy against timm's, the draws' statistics, and training with them.
final class MixupTests: XCTestCase {
    static let fixture: [String: SafeTensors.Tensor] = {
        let url = Bundle.module.url(forResource: "timm_mixup", withExtension: "safetensors", subdirectory: "Fixtures")!
        return try! SafeTensors.read(path: url.path).tensors
    }()
    static func get(_ name: String) -> [Float] { fixture[name]!.values }

    let batch = 6, channels = 3, size = 7, classes = 4

    func mixed(_ d: Mixup.Draw) -> (images: [Float], targets: [Float]) {
        var x = Self.get("x")
        let labels = Self.get("labels").map { Int32($0) }
        var t = [Float](repeating: 0, count: batch * classes)
        x.withUnsafeMutableBufferPointer { Mixup.mix(images: $0.baseAddress!, batch: batch, channels: channels, size: size, d) }
        labels.withUnsafeBufferPointer { l in
            t.withUnsafeMutableBufferPointer {
                Mixup(mixupAlpha: 1, cutmixAlpha: 1, smoothing: 0.1).targets(labels: l.baseAddress!, batch: batch,
                                                                             classes: classes, lam: d.lam, into: $0.baseAddress!)
            }
        }
        return (x, t)
    }

    /// Mixup λ = 0.3: images within 1 ulp-ish (float32, same operation order), targets exact.
    func testMixupMatchesTimm() {
        let (x, t) = mixed(Mixup.Draw(lam: 0.3, box: nil))
        assertClose(x, Self.get("mixup_x"), tol: 1e-6, "mixup images")
        XCTAssertEqual(t, Self.get("mixup_t"))
    }

    /// Cutmix with timm's box and its area-corrected λ: images exact (a swap); targets within 1e-7 (the fixture
    /// stores λ = 41/49 as float32, so it is off by one rounding).
    func testCutmixMatchesTimm() {
        let b = Self.get("cutmix_box_lam").map(Double.init)
        let (x, t) = mixed(Mixup.Draw(lam: b[4], box: (Int(b[0]), Int(b[1]), Int(b[2]), Int(b[3]))))
        XCTAssertEqual(x, Self.get("cutmix_x"))
        assertClose(t, Self.get("cutmix_t"), tol: 1e-7, "cutmix targets")
        XCTAssertNotEqual(x, Self.get("x"), "the fixture's box is not empty")
    }

    /// timm's `pair` and `elem` modes with the fixture's per-pair / per-image λ and cutmix boxes: images within
    /// 1e-6 (elem mixes from the originals), targets within 1e-7.
    func testPairAndElemModesMatchTimm() {
        for mode in [Mixup.Mode.pair, .elem] {
            let rows = Self.get("\(mode.rawValue)_draws")
            var draws = [Mixup.Draw](repeating: Mixup.Draw(lam: 1, box: nil), count: batch)
            for r in 0..<(rows.count / 5) {
                let v = rows[(r * 5)..<(r * 5 + 5)].map(Double.init), i = r
                let d = Mixup.Draw(lam: v[4], box: v[0] < 0 ? nil : (Int(v[0]), Int(v[1]), Int(v[2]), Int(v[3])))
                draws[i] = d
                if mode == .pair { draws[batch - 1 - i] = d }
            }
            var x = Self.get("x"), original = [Float](repeating: 0, count: x.count)
            let labels = Self.get("labels").map { Int32($0) }
            var t = [Float](repeating: 0, count: batch * classes)
            var m = Mixup(mixupAlpha: 1, cutmixAlpha: 1, smoothing: 0.1)
            m.mode = mode
            draws.withUnsafeBufferPointer { d in
                x.withUnsafeMutableBufferPointer { xs in
                    original.withUnsafeMutableBufferPointer {
                        Mixup.mix(images: xs.baseAddress!, batch: batch, channels: channels, size: size, mode: mode,
                                  draws: d.baseAddress!, original: $0.baseAddress!)
                    }
                }
                labels.withUnsafeBufferPointer { l in
                    t.withUnsafeMutableBufferPointer {
                        m.targets(labels: l.baseAddress!, batch: batch, classes: classes, draws: d.baseAddress!, into: $0.baseAddress!)
                    }
                }
            }
            assertClose(x, Self.get("\(mode.rawValue)_x"), tol: 1e-6, "\(mode) images")
            assertClose(t, Self.get("\(mode.rawValue)_t"), tol: 1e-7, "\(mode) targets")
            XCTAssert(draws.contains { $0.box != nil } && draws.contains { $0.box == nil && $0.lam < 1 }, "both kinds drawn")
        }
    }

    /// Per-image draws: batch mode shares one, pair mode mirrors them, elem mode draws each.
    func testDrawsPerMode() {
        var m = Mixup(mixupAlpha: 1, cutmixAlpha: 1, smoothing: 0.1)
        var draws = [Mixup.Draw](repeating: Mixup.Draw(lam: 1, box: nil), count: 8)
        for mode in Mixup.Mode.allCases {
            m.mode = mode
            var rng = RNG(seed: 9)
            draws.withUnsafeMutableBufferPointer { m.draw(into: $0.baseAddress!, batch: 8, size: 16, rng: &rng) }
            let distinct = Set(draws.map(\.lam)).count
            switch mode {
            case .batch: XCTAssertEqual(distinct, 1)
            case .pair: XCTAssertEqual(distinct, 4); for i in 0..<4 { XCTAssertEqual(draws[i], draws[7 - i]) }
            case .elem: XCTAssertEqual(distinct, 8)
            }
        }
    }

    func testSoftTargetCrossEntropyMatchesTimm() {
        let logits = Self.get("logits"), targets = Self.get("cutmix_t")
        var d = [Float](repeating: 0, count: batch * classes)
        let loss = d.withUnsafeMutableBufferPointer {
            CrossEntropy.forwardBackward(logits: logits, targets: targets, batch: batch, classes: classes,
                                         dlogits: $0.baseAddress!)
        }
        XCTAssertEqual(loss, Self.get("soft_loss")[0], accuracy: 1e-6)
        assertClose(d, Self.get("soft_dlogits"), tol: 1e-6, "dlogits")
        // with the smoothed one-hot as target it is the label-smoothing loss
        let labels: [Int32] = [0, 3, 1, 1, 2, 0]
        var smooth = [Float](repeating: 0.1 / 4, count: batch * classes)
        for (b, y) in labels.enumerated() { smooth[b * classes + Int(y)] += 0.9 }
        let soft = CrossEntropy.forwardBackward(logits: logits, targets: smooth, batch: batch, classes: classes, dlogits: nil)
        let hard = CrossEntropy.forwardBackward(logits: logits, labels: labels, batch: batch, classes: classes,
                                                smoothing: 0.1, dlogits: nil)
        XCTAssertEqual(soft, hard, accuracy: 1e-6)
    }

    /// The draws: Beta(α, α) moments, cutmix λ = 1 − box area / image area, prob and switch prob respected.
    func testDrawStatistics() {
        var rng = RNG(seed: 11)
        let n = 20000
        let betas = (0..<n).map { _ in rng.beta(0.8) }
        let mean = betas.reduce(0, +) / Double(n)
        let variance = betas.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
        XCTAssertEqual(mean, 0.5, accuracy: 0.01)
        XCTAssertEqual(variance, 1 / (4 * (2 * 0.8 + 1)), accuracy: 0.004)
        XCTAssert(betas.allSatisfy { $0 >= 0 && $0 <= 1 })

        let both = Mixup(mixupAlpha: 1, cutmixAlpha: 1, prob: 0.6, switchProb: 0.3)
        var mixed = 0, cut = 0
        for _ in 0..<n {
            let d = both.draw(size: 32, rng: &rng)
            if d.lam == 1 && d.box == nil { continue }
            mixed += 1
            if let b = d.box {
                cut += 1
                XCTAssertEqual(d.lam, 1 - Double((b.bottom - b.top) * (b.right - b.left)) / 1024, accuracy: 1e-12)
            }
        }
        XCTAssertEqual(Double(mixed) / Double(n), 0.6, accuracy: 0.015)
        XCTAssertEqual(Double(cut) / Double(mixed), 0.3, accuracy: 0.02)
        XCTAssertFalse(Mixup().active)
        XCTAssertEqual(Mixup().draw(size: 8, rng: &rng), Mixup.Draw(lam: 1, box: nil))
    }

    /// Training with mixup and cutmix runs, stays finite and is deterministic for a seed and thread count.
    func testTrainingWithMixupIsDeterministic() throws {
        func run() throws -> [Float] {
            let model = try VisionTransformer(config: TrainingTests.tinyConfig(), pool: Pools.two)
            var rng = RNG(seed: 1)
            try model.initialize(.timm, rng: &rng)
            var o = TrainingTests.options(epochs: 2)
            o.mixup = Mixup(mixupAlpha: 0.8, cutmixAlpha: 1.0)
            let trainer = Trainer(model: model, options: o)
            trainer.log = { _ in }
            let (train, test) = TrainingTests.data()
            try trainer.fit(train: train, test: test)
            return trainer.stepLosses
        }
        let a = try run(), b = try run()
        XCTAssertEqual(a, b)
        XCTAssert(a.allSatisfy(\.isFinite) && a.count == 16)
    }
}

/// timm's RepeatAugSampler (`scripts/make_sampler_fixtures.py`): each rank's images per epoch, for several dataset
/// sizes, repeat counts and world sizes; the trainer's layout puts each rank's stream where its micro-batches read.
final class RepeatAugSamplerTests: XCTestCase {
    struct Fixture: Decodable {
        struct Run: Decodable { let count: Int; let repeats: Double; let world: Int; let ranks: [[Int]] }
        let runs: [Run]
    }

    func testEachRanksImagesMatchTimm() throws {
        let url = Bundle.module.url(forResource: "timm_repeat_aug", withExtension: "json", subdirectory: "Fixtures")!
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        XCTAssertEqual(fixture.runs.count, 7)
        for run in fixture.runs {
            let s = RepeatAugSampler(repeats: run.repeats, count: run.count, world: run.world), perm = Array(0..<run.count)
            for r in 0..<run.world {
                XCTAssertEqual(s.stream(permutation: perm, rank: r), run.ranks[r], "\(run.count) × \(run.repeats) on \(run.world), rank \(r)")
            }
            // the trainer's layout: rank r, micro-batch j of step s at s·G + (j·W + r)·b
            let b = 4, k = 2, (order, steps) = s.order(permutation: perm, batch: b, accumulation: k)
            XCTAssertEqual(steps, run.ranks[0].count / (b * k))
            for r in 0..<run.world {
                var read: [Int] = []
                for st in 0..<steps { for j in 0..<k { let at = st * b * run.world * k + (j * run.world + r) * b; read += order[at..<(at + b)] } }
                XCTAssertEqual(read, Array(run.ranks[r].prefix(steps * b * k)), "layout of rank \(r)")
            }
        }
    }

    /// A training run with --aug-repeats 3 takes ⌊N/256⌋·256 images an epoch, each three times.
    func testTrainingWithRepeatsTakesTheSelectedImages() throws {
        var o = TrainingTests.options(epochs: 1)
        o.augRepeats = 3
        let train = SyntheticDataset.make(count: 300, classes: 4, size: 16, seed: 1)
        let m = try VisionTransformer(config: TrainingTests.tinyConfig(), pool: Pools.one)
        var rng = RNG(seed: 1)
        try m.initialize(.timm, rng: &rng)
        let t = Trainer(model: m, options: o)
        try t.fit(train: train, test: nil)
        XCTAssertEqual(t.stepLosses.count, 256 / 32)
        o.augRepeats = 3; o.batchSize = 512
        XCTAssertThrowsError(try Trainer(model: m, options: o).fit(train: train, test: nil)) {
            XCTAssert("\($0)".contains("the 256 images an epoch takes from 300 with --aug-repeats 3.0"), "\($0)")
        }
    }
}
