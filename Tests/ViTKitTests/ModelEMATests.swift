import Foundation
import XCTest
@testable import ViTKit
@testable import ViTKitCore
@testable import ViTKitIO
@testable import ViTKitModels
@testable import ViTKitTraining

/// Model EMA as timm's ModelEmaV3 (`scripts/make_ema_fixtures.py`), and in a run: evaluated each epoch, saved in
/// the training state, resumed bit for bit.
final class ModelEMATests: XCTestCase {
    func testDecayAndAverageMatchTimm() throws {
        let url = Bundle.module.url(forResource: "timm_model_ema", withExtension: "safetensors", subdirectory: "Fixtures")!
        let t = try SafeTensors.read(path: url.path).tensors
        let m = try VisionTransformer(config: TrainingTests.tinyConfig(), pool: Pools.one)
        for warmup in [false, true] {
            let tag = warmup ? "warmup" : "plain"
            let ema = try ModelEMA(copying: m, decay: 0.9, warmup: warmup)
            var average = t["\(tag).start"]!.values
            for step in 1...5 {
                XCTAssertEqual(ema.decay(step: step), Double(t["\(tag).decay\(step)"]!.values[0]), accuracy: 1e-7, "\(tag) step \(step)")
                let target = t["\(tag).model\(step)"]!.values
                ModelEMA.lerp(&average, target, Float(1 - ema.decay(step: step)), count: average.count)
                assertClose(average, t["\(tag).ema\(step)"]!.values, tol: 1e-6, "\(tag) EMA after update \(step)")
            }
        }
    }

    func testARunWithEMAEvaluatesItSavesItAndResumesExactly() throws {
        let root = try temporaryDirectory()
        let (train, test) = TrainingTests.data()
        func trainer(_ out: String) throws -> Trainer {
            var o = TrainingTests.options(epochs: 3, output: out)
            o.modelEMA = true; o.modelEMADecay = 0.99; o.modelEMAWarmup = true
            let m = try VisionTransformer(config: TrainingTests.tinyConfig(), pool: Pools.one)
            var rng = RNG(seed: 2)
            try m.initialize(.timm, rng: &rng)
            return Trainer(model: m, options: o)
        }
        let whole = try trainer(root + "/a")
        try whole.fit(train: train, test: test)
        let ema = try XCTUnwrap(whole.ema)
        XCTAssertNotEqual(ema.model.params.array, whole.model.params.array, "the average lags the model")
        let last = try XCTUnwrap(whole.history.last)
        XCTAssertNotNil(last.modelTestTop1)
        XCTAssertEqual(last.testTop1, try ema.model.evaluate(on: test, batchSize: 32).top1, "the test columns are the EMA's")
        XCTAssertEqual(last.modelTestTop1, try whole.model.evaluate(on: test, batchSize: 32).top1)
        XCTAssert(Trainer.line(last).contains("(EMA) model_test_acc="), Trainer.line(last))
        let state = try SafeTensors.read(path: root + "/a/train_state.safetensors").tensors
        XCTAssertEqual(state["ema.head.weight"]?.values, Array(ema.model.parameter("head.weight")!))

        let part = try trainer(root + "/b")
        try part.fit(train: train, test: test, stopAfter: 1)
        let rest = try trainer(root + "/b")
        try rest.resume(from: root + "/b/train_state.safetensors")
        try rest.fit(train: train, test: test)
        XCTAssertEqual(rest.model.params.array, whole.model.params.array)
        XCTAssertEqual(rest.ema?.model.params.array, ema.model.params.array, "the EMA resumes exactly")
    }
}
