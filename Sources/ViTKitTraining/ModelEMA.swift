import Foundation
import ViTKitCore
import ViTKitModels
import ViTKitNN

/// timm's `ModelEmaV3`: a copy of the model whose weights and float buffers follow the trained model's by an
/// exponential moving average after every optimiser update, ema ← ema + (1 − d)·(model − ema) (torch's `lerp_`),
/// with d = `decay(step:)`; integer buffers (`num_batches_tracked`) are copied.
public final class ModelEMA {
    /// The averaged model (evaluated and saved as timm's `model_ema`).
    public let model: any ImageClassifier
    /// timm's `--model-ema-decay`.
    public let decay: Double
    /// timm's `--model-ema-warmup`: d = 1 − (1 + t)^(−2/3), at most `decay`.
    public let warmup: Bool

    /// An average that starts as a copy of `source`'s weights and buffers.
    public init(copying source: any ImageClassifier, decay: Double, warmup: Bool) throws {
        model = try source.architecture.makeModel(pool: source.pool)
        self.decay = decay; self.warmup = warmup
        model.params.pointer.update(from: source.params.pointer, count: source.params.count)
        model.state.pointer.update(from: source.state.pointer, count: source.state.count)
    }

    /// The decay after optimiser update `step` (1-based), as `ModelEmaV3.get_decay` (update_after_step 0,
    /// min_decay 0, warmup gamma 1 and power 2/3): 0 at the first update (the average becomes the model).
    public func decay(step: Int) -> Double {
        let t = Double(max(0, step - 1))
        if t <= 0 { return 0 }
        return warmup ? max(min(1 - Foundation.pow(1 + t, -2.0 / 3), decay), 0) : decay
    }

    /// Moves the average towards `source` after optimiser update `step`.
    public func update(from source: any ImageClassifier, step: Int) {
        let w = Float(1 - decay(step: step))
        Self.lerp(model.params.pointer, source.params.pointer, w, count: source.params.count)
        for e in source.stateTable.entries {
            let a = model.state.pointer + e.offset, b = source.state.pointer + e.offset
            if e.name.hasSuffix("num_batches_tracked") { a.update(from: b, count: e.count) } else {
                Self.lerp(a, b, w, count: e.count)
            }
        }
    }

    /// torch's `lerp_`: a + w·(b − a) for w < ½, else b − (b − a)·(1 − w) (exact at w = 1).
    static func lerp(_ a: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, _ w: Float, count: Int) {
        if w < 0.5 { for i in 0..<count { a[i] = a[i] + w * (b[i] - a[i]) } }
        else { for i in 0..<count { a[i] = b[i] - (b[i] - a[i]) * (1 - w) } }
    }
}
