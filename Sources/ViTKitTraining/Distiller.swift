import ViTKitCore
import ViTKitModels
import ViTKitNN

/// Knowledge distillation from a teacher, as DeiT trains (`main.py` with `DistillationLoss`): per step the teacher
/// runs in evaluation mode (BatchNorm running statistics, no dropout) on the same augmented, mixed batch as the
/// student; the student, a distilled ViT in distilled training, returns both heads' logits and learns with
/// `loss`. The teacher is only read: it takes no backward pass, no optimiser holds its weights, and they end
/// the run as they began.
public final class Distiller {
    /// The model whose predictions the student's distillation head learns.
    public let teacher: any ImageClassifier
    /// How the two heads' losses are made and mixed.
    public let loss: DistillationLoss

    /// A distiller for `student` (a ViT with a distillation token when `loss.kind` is not `.none`) from `teacher`:
    /// they must take the same pictures (channels, height, width) and have the same classes; what differs is an
    /// error naming both.
    public init(student: any ImageClassifier, teacher: any ImageClassifier, loss: DistillationLoss) throws {
        if loss.kind != .none {
            guard let vit = student as? VisionTransformer, vit.config.distilled else {
                throw ViTKitError("distillation (\(loss.kind.rawValue)) needs a student with a distillation token and head "
                    + "(a distilled ViT: --distilled true, or a deit_*_distilled_* model); \(student.name) has none")
            }
        }
        guard teacher.numClasses == student.numClasses else {
            throw ViTKitError("the teacher \(teacher.name) has \(teacher.numClasses) classes, the student \(student.numClasses)")
        }
        guard teacher.inChans == student.inChans, teacher.imgSize == student.imgSize, teacher.inputWidth == student.inputWidth else {
            throw ViTKitError("the teacher \(teacher.name) takes \(teacher.inChans)×\(teacher.imgSize)×\(teacher.inputWidth) pictures, "
                + "the student \(student.inChans)×\(student.imgSize)×\(student.inputWidth): both see the same batch")
        }
        guard loss.alpha >= 0 && loss.alpha <= 1, loss.tau > 0 && loss.tau.isFinite else {
            throw ViTKitError("distillation alpha must be in [0, 1] and tau positive, got \(loss.alpha) and \(loss.tau)")
        }
        self.teacher = teacher
        self.loss = loss
    }

    /// One micro-batch's loss, leaving the student's gradients in `student.grads`: hard `labels` with `smoothing`,
    /// or soft `targets` [batch × classes] when given.
    package func lossAndGradients(student: any ImageClassifier, images: UnsafePointer<Float>, labels: UnsafePointer<Int32>?,
                                  targets: UnsafePointer<Float>?, smoothing: Float, batch: Int) -> Float {
        guard let vit = student as? VisionTransformer, vit.config.distilled else {
            // loss `none` on a model without a distillation head: the base loss alone
            if let targets { return student.lossAndGradients(images: images, targets: targets, batch: batch) }
            return student.lossAndGradients(images: images, labels: labels!, batch: batch, smoothing: smoothing)
        }
        let before = vit.distilledTraining
        vit.distilledTraining = true
        defer { vit.distilledTraining = before }
        let logits = vit.trainingForward(images: images, batch: batch)
        let teacherLogits: UnsafePointer<Float>
        if loss.kind == .none {
            teacherLogits = UnsafePointer(logits)  // not read
        } else {
            teacherLogits = UnsafePointer(teacher.forward(images: images, batch: batch))  // reserves the inference buffers
        }
        let value = loss.forwardBackward(student: logits, teacher: teacherLogits, labels: labels, targets: targets,
                                         smoothing: smoothing, batch: batch, classes: vit.numClasses, dlogits: vit.dLogits)
        vit.backward(dlogits: vit.dLogits, batch: batch)
        return value
    }
}
