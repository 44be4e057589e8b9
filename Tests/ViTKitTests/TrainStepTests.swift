import Foundation
import XCTest
@testable import ViTKit
@testable import ViTKitCore
@testable import ViTKitData
@testable import ViTKitModels
@testable import ViTKitNN
@testable import ViTKitTraining

/// The training step as a unit of its own (forward, loss, backward, gradient hook, clipping, AdamW) and the
/// observers the loop calls.
final class TrainStepTests: XCTestCase {
    func model(seed: UInt64 = 1) throws -> VisionTransformer {
        let m = try VisionTransformer(config: TrainingTests.tinyConfig(), pool: Pools.two)
        var rng = RNG(seed: seed)
        try m.initialize(.timm, rng: &rng)
        return m
    }

    func values(_ b: AlignedBuffer) -> [Float] { Array(UnsafeBufferPointer(start: b.pointer, count: b.count)) }

    /// A batch of the synthetic set, normalised as the loader does.
    func batch(_ n: Int) -> (images: [Float], labels: [Int32]) {
        let (train, _) = TrainingTests.data()
        let (scale, shift) = train.normalization, plane = train.size * train.size
        let images = (0..<(n * train.imageBytes)).map { Float(train.images[$0]) * scale[$0 / plane % 3] + shift[$0 / plane % 3] }
        return (images, Array(train.labels.prefix(n)))
    }

    /// The step is exactly: loss and gradients, the hook, clipping, AdamW. The hook sees the gradients before
    /// clipping, and what it does to them is what the update uses (as an all-reduce would).
    func testTheStepIsLossHookClipUpdate() throws {
        let (x, y) = batch(32)
        let a = try model(), b = try model()
        let step = TrainStep(model: a, optimizer: AdamW(table: a.table), clipGrad: 0.2, smoothing: 0.1)
        var seen: [Float] = []
        step.gradientHook = { grads in
            seen = Array(UnsafeBufferPointer(start: grads.pointer, count: grads.count))
            for i in 0..<grads.count { grads.pointer[i] *= 0.5 }  // stands for averaging over two processes
        }
        let loss = x.withUnsafeBufferPointer { xs in y.withUnsafeBufferPointer { step(images: xs.baseAddress!, labels: $0.baseAddress!, batch: 32, lr: 1e-3) } }
        // by hand on the twin
        let opt = AdamW(table: b.table)
        let lossB = x.withUnsafeBufferPointer { xs in y.withUnsafeBufferPointer { b.lossAndGradients(images: xs.baseAddress!, labels: $0.baseAddress!, batch: 32, smoothing: 0.1) } }
        XCTAssertEqual(loss, lossB)
        XCTAssertEqual(seen, values(b.grads), "the hook sees the unclipped gradients")
        for i in 0..<b.grads.count { b.grads.pointer[i] *= 0.5 }
        let norm = clipGradNorm(Pools.two, grads: b.grads, maxNorm: 0.2)
        XCTAssertGreaterThan(norm, 0.2, "clipping is active in this test")
        opt.update(Pools.two, params: b.params, grads: b.grads, lr: 1e-3)
        XCTAssertEqual(values(a.params), values(b.params))
        XCTAssertEqual(step.optimizer.step, 1)
    }

    /// A loss that is not finite leaves the weights and the optimiser as they were, and the hook is not called.
    func testANonFiniteLossChangesNothing() throws {
        var (x, y) = batch(32)
        x[5] = .nan
        let m = try model()
        let before = values(m.params)
        let step = TrainStep(model: m, optimizer: AdamW(table: m.table), clipGrad: 3)
        var hooked = false
        step.gradientHook = { _ in hooked = true }
        let loss = x.withUnsafeBufferPointer { xs in y.withUnsafeBufferPointer { step(images: xs.baseAddress!, labels: $0.baseAddress!, batch: 32, lr: 1e-3) } }
        XCTAssertFalse(loss.isFinite)
        XCTAssertEqual(values(m.params), before); XCTAssertEqual(step.optimizer.step, 0); XCTAssertFalse(hooked)
    }

    final class Recorder: TrainingObserver {
        var events: [String] = []
        var failAt: Int?
        func fitWillStart(_ trainer: Trainer) throws { events.append("start \(trainer.history.count)") }
        func stepDidEnd(_ trainer: Trainer, epoch: Int, step: Int, of steps: Int, meanLoss: Double, imagesPerSecond: Double) throws {
            events.append("step \(epoch).\(step)/\(steps)")
            XCTAssert(meanLoss.isFinite && imagesPerSecond > 0)
        }
        func epochDidEnd(_ trainer: Trainer, _ stats: EpochStats, improved: Bool) throws {
            events.append("epoch \(stats.epoch) \(stats == trainer.history.last!)")
            if stats.epoch == failAt { throw ViTKitError("observer stops at \(stats.epoch)") }
        }
    }

    /// A user's observer sees the start, every step and every epoch (after the built-in ones), and a throw from it
    /// stops training with its error.
    func testObserversSeeEveryStepAndCanStopTheRun() throws {
        let (train, test) = TrainingTests.data()
        let t = Trainer(model: try model(), options: TrainingTests.options(epochs: 2))
        t.log = { _ in }
        let r = Recorder()
        t.observers = [r]
        try t.fit(train: train, test: test)
        let steps = train.count / 32
        XCTAssertEqual(r.events, ["start 0"] + (0..<steps).map { "step 0.\($0)/\(steps)" } + ["epoch 1 true"]
            + (0..<steps).map { "step 1.\($0)/\(steps)" } + ["epoch 2 true"])
        let stopped = Trainer(model: try model(), options: TrainingTests.options(epochs: 3))
        stopped.log = { _ in }
        let s = Recorder(); s.failAt = 2
        stopped.observers = [s]
        XCTAssertThrowsError(try stopped.fit(train: train, test: test)) { XCTAssertEqual("\($0)", "observer stops at 2") }
        XCTAssertEqual(stopped.history.count, 2)
    }
}
