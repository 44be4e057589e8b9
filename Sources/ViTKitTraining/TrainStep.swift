import ViTKitCore
import ViTKitModels
import ViTKitNN

/// One optimisation step, the unit a training loop repeats:
///
///   forward + loss + backward  →  gradient hook  →  gradient-norm clipping  →  AdamW update
///
/// The hook sees the flat gradient buffer after backward and before clipping: where a data-parallel run averages
/// gradients across processes. A loss that is not finite stops the step before the hook, so the weights keep
/// their last good values; the caller decides what to do (`Trainer` stops with the last good checkpoint).
/// A custom loop calls a `TrainStep` on its own batches (Examples/CustomLoop).
public final class TrainStep {
    /// The model the step trains.
    public let model: any ImageClassifier
    /// The optimiser that updates it.
    public let optimizer: AdamW
    /// Global gradient-norm clip (torch's `clip_grad_norm_`); 0 turns clipping off.
    public var clipGrad: Float
    /// Label smoothing of the hard-label loss.
    public var smoothing: Float
    /// Runs on the gradients between backward and clipping (none by default).
    public var gradientHook: ((AlignedBuffer) -> Void)?

    /// A step for `model` with `optimizer`; `clipGrad` 0 turns clipping off.
    public init(model: any ImageClassifier, optimizer: AdamW, clipGrad: Float = 0, smoothing: Float = 0) {
        self.model = model; self.optimizer = optimizer; self.clipGrad = clipGrad; self.smoothing = smoothing
    }

    /// A step on `batch` normalised images [batch × C × H × W] with hard `labels`, at learning rate `lr`.
    /// Returns the loss; the weights change only when it is finite.
    @discardableResult
    public func callAsFunction(images: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int, lr: Float) -> Float {
        update(model.lossAndGradients(images: images, labels: labels, batch: batch, smoothing: smoothing), lr: lr)
    }

    /// A step with soft targets [batch × classes] (mixup/cutmix, with smoothing folded in).
    @discardableResult
    public func callAsFunction(images: UnsafePointer<Float>, targets: UnsafePointer<Float>, batch: Int, lr: Float) -> Float {
        update(model.lossAndGradients(images: images, targets: targets, batch: batch), lr: lr)
    }

    private func update(_ loss: Float, lr: Float) -> Float {
        guard loss.isFinite else { return loss }
        gradientHook?(model.grads)
        if clipGrad > 0 { clipGradNorm(model.pool, grads: model.grads, maxNorm: clipGrad) }
        optimizer.update(model.pool, params: model.params, grads: model.grads, lr: lr)
        return loss
    }
}
