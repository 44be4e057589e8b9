import ViTKitCore
import ViTKitModels
import ViTKitNN

/// One optimisation step, the unit a training loop repeats:
///
///   forward (+ the teacher's, distilling) + loss + backward (× `accumulationSteps` micro-batches)  →  reducer  →  gradient hook
///   →  gradient-norm clipping  →  AdamW update
///
/// With accumulation the step's gradient is the mean of its micro-batches' (jeonsworld/ViT-pytorch's
/// `gradient_accumulation_steps`): K micro-batches of b images give the gradient of one batch of K·b. The
/// `reducer` (data parallel: the all-reduce mean over the processes) runs on every rank every step; then a
/// loss that is not finite stops the step, so the weights keep their last good values and the caller decides
/// what to do (`Trainer` stops with the last good checkpoint). The hook sees the gradients the update will use.
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
    /// Micro-batches whose gradients one update averages (1: no accumulation).
    public let accumulationSteps: Int
    /// Combines the gradients and loss of the processes of a data-parallel run (nil: one process).
    public var reducer: GradientReducer?
    /// Runs on the gradients between the reduction and clipping, when the loss is finite (none by default).
    public var gradientHook: ((AlignedBuffer) -> Void)?
    /// Distillation from a teacher (DeiT's `DistillationLoss`): when set, it makes each micro-batch's loss and
    /// gradients instead of the plain cross-entropy.
    public var distiller: Distiller?

    private let accumulated: AlignedBuffer?
    private var microBatch = 0, lossSum: Float = 0

    /// A step for `model` with `optimizer`; `clipGrad` 0 turns clipping off; `accumulationSteps` micro-batches
    /// per update.
    public init(model: any ImageClassifier, optimizer: AdamW, clipGrad: Float = 0, smoothing: Float = 0, accumulationSteps: Int = 1) {
        precondition(accumulationSteps >= 1, "accumulationSteps must be at least 1")
        self.model = model; self.optimizer = optimizer; self.clipGrad = clipGrad; self.smoothing = smoothing
        self.accumulationSteps = accumulationSteps
        accumulated = accumulationSteps > 1 ? AlignedBuffer(count: model.grads.count) : nil
    }

    /// A step on `batch` normalised images [batch × C × H × W] with hard `labels`, at learning rate `lr`.
    /// Returns the loss; the weights change only when it is finite. Needs `accumulationSteps` 1 (else use
    /// `accumulate`).
    @discardableResult
    public func callAsFunction(images: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int, lr: Float) -> Float {
        precondition(accumulationSteps == 1, "a step of \(accumulationSteps) micro-batches goes through accumulate(…)")
        return accumulate(images: images, labels: labels, batch: batch, lr: lr)!
    }

    /// A step with soft targets [batch × classes] (mixup/cutmix, with smoothing folded in).
    @discardableResult
    public func callAsFunction(images: UnsafePointer<Float>, targets: UnsafePointer<Float>, batch: Int, lr: Float) -> Float {
        precondition(accumulationSteps == 1, "a step of \(accumulationSteps) micro-batches goes through accumulate(…)")
        return accumulate(images: images, targets: targets, batch: batch, lr: lr)!
    }

    /// One micro-batch with hard labels: its gradient joins the step's; the last of `accumulationSteps` makes
    /// the update and returns the step's loss (the mean of its micro-batches'), the others return nil.
    public func accumulate(images: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int, lr: Float) -> Float? {
        if let distiller {
            return add(distiller.lossAndGradients(student: model, images: images, labels: labels, targets: nil, smoothing: smoothing,
                                                  batch: batch), lr: lr)
        }
        return add(model.lossAndGradients(images: images, labels: labels, batch: batch, smoothing: smoothing), lr: lr)
    }

    /// One micro-batch with soft targets [batch × classes]; as `accumulate(images:labels:batch:lr:)`.
    public func accumulate(images: UnsafePointer<Float>, targets: UnsafePointer<Float>, batch: Int, lr: Float) -> Float? {
        if let distiller {
            return add(distiller.lossAndGradients(student: model, images: images, labels: nil, targets: targets, smoothing: 0,
                                                  batch: batch), lr: lr)
        }
        return add(model.lossAndGradients(images: images, targets: targets, batch: batch), lr: lr)
    }

    private func add(_ loss: Float, lr: Float) -> Float? {
        let grads = model.grads
        if let acc = accumulated {
            let k = 1 / Float(accumulationSteps)
            if microBatch == 0 {
                acc.pointer.update(from: grads.pointer, count: grads.count)
                Kernels.scale(acc.pointer, k, acc.count)
            } else {
                Kernels.addScaled(model.pool, acc.pointer, grads.pointer, k, acc.count)
            }
            lossSum += loss; microBatch += 1
            guard microBatch == accumulationSteps else { return nil }
            grads.pointer.update(from: acc.pointer, count: grads.count)
            let mean = lossSum / Float(accumulationSteps)
            microBatch = 0; lossSum = 0
            return update(mean, lr: lr)
        }
        return update(loss, lr: lr)
    }

    private func update(_ local: Float, lr: Float) -> Float {
        let loss = reducer?.reduce(gradients: model.grads, loss: local) ?? local
        guard loss.isFinite else { return loss }
        gradientHook?(model.grads)
        if clipGrad > 0 { clipGradNorm(model.pool, grads: model.grads, maxNorm: clipGrad) }
        optimizer.update(model.pool, params: model.params, grads: model.grads, lr: lr)
        return loss
    }
}

/// Combines the gradients of a step across the processes of a data-parallel run. It runs on every rank every
/// step, also when the local loss is not finite, so that the ranks make the same collective calls.
public protocol GradientReducer: AnyObject {
    /// Replaces `gradients` with their mean over the processes and returns the mean of the losses (not finite
    /// when any rank's is not).
    func reduce(gradients: AlignedBuffer, loss: Float) -> Float
}
