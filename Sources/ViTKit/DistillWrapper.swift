/// Distillation with the shape of lucidrains' vit-pytorch `DistillWrapper(student, teacher, temperature, alpha,
/// hard)`: a student ViT built with a distillation token (`ViT(…, distillationToken: true)`, vit-pytorch's
/// `DistillableViT`) learns the labels with its class head and the teacher's predictions with its distillation
/// head.
///
/// ```swift
/// let teacher = try Checkpoint.model(from: "convmixer.safetensors", pool: .shared) { _ in
///     throw ViTKitError("the teacher file records its architecture")
/// }
/// let student = try ViT(imageSize: 32, patchSize: 4, numClasses: 10, dim: 192, depth: 6, heads: 3, mlpDim: 768,
///                       distillationToken: true)
/// let distiller = try DistillWrapper(student: student, teacher: teacher, temperature: 3, alpha: 0.5)
/// let loss = try distiller(images, labels: labels)   // the loss; the student's gradients are in place
/// try distiller.trainer(options: TrainOptions()).fit(train: train, test: test)   // or the whole recipe
/// let plain = try student.toViT()                    // vit-pytorch's to_vit(): no distillation token or head
/// ```
///
/// The teacher runs in evaluation mode and is only read. The loss is DeiT's `DistillationLoss`; with
/// `reduction: .batchmean` (the default here, vit-pytorch's) the soft term is averaged over the batch, with
/// `.numel` (DeiT's, what `vitkit train --distill-teacher` uses) over batch × classes.
public final class DistillWrapper {
    /// The ViT that learns.
    public let student: ViT
    /// The model it learns from.
    public let teacher: any ImageClassifier
    /// The loss: kind (`soft`, or `hard` for `hard: true`), α, τ and the soft term's averaging.
    public let loss: DistillationLoss
    private let distiller: Distiller

    /// - Parameters:
    ///   - student: a ViT with a distillation token (`distillationToken: true`).
    ///   - teacher: any model taking the same pictures with the same classes (a ConvMixer, a ViT).
    ///   - temperature: τ of the soft loss.
    ///   - alpha: the distillation term's weight: (1 − α)·cross-entropy + α·distillation.
    ///   - hard: learn the teacher's top class (cross-entropy) instead of its softened distribution.
    ///   - reduction: the soft term's averaging (vit-pytorch's `.batchmean`, or DeiT's `.numel`).
    public init(student: ViT, teacher: any ImageClassifier, temperature: Double = 1, alpha: Double = 0.5, hard: Bool = false,
                reduction: DistillationLoss.Reduction = .batchmean) throws {
        self.student = student; self.teacher = teacher
        loss = DistillationLoss(kind: hard ? .hard : .soft, alpha: alpha, tau: temperature, reduction: reduction)
        distiller = try Distiller(student: student.model, teacher: teacher, loss: loss)
    }

    /// vit-pytorch's `forward(img, labels)`: the loss on normalised `images` [N, C, H, W] with class `labels`, leaving
    /// its gradients in the student's model (`student.model.gradient(_:)`), ready for an optimiser step.
    public func callAsFunction(_ images: Tensor, labels: [Int]) throws -> Float {
        let m = student.model, c = m.config, n = labels.count
        guard images.shape == [n, c.inChans, c.imgSize, c.width] else {
            throw ViTKitError("images have shape \(images.shape); with \(n) labels the student takes [\(n), \(c.inChans), \(c.imgSize), \(c.width)]")
        }
        if let bad = labels.first(where: { !(0..<c.numClasses).contains($0) }) {
            throw ViTKitError("label \(bad) is outside 0..<\(c.numClasses)")
        }
        m.reserve(batch: n)
        let ys = labels.map { Int32($0) }
        return images.values.withUnsafeBufferPointer { x in
            ys.withUnsafeBufferPointer {
                distiller.lossAndGradients(student: m, images: x.baseAddress!, labels: $0.baseAddress!, targets: nil, smoothing: 0, batch: n)
            }
        }
    }

    /// A `Trainer` for the student with `options` and this loss: the whole recipe (augmentation, mixup, schedule,
    /// checkpoints), the teacher run on every batch.
    public func trainer(options: TrainOptions) throws -> Trainer {
        var o = options
        o.distillation = loss
        let t = Trainer(model: student.model, options: o)
        try t.distill(from: teacher)
        return t
    }
}

extension ViT {
    /// vit-pytorch's `DistillableViT.to_vit()`: the plain ViT inside a distilled one, without the distillation
    /// token and head (its predictions are the class head's).
    public func toViT() throws -> ViT { ViT(try model.withoutDistillation()) }
}
