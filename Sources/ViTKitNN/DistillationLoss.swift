import Foundation
import ViTKitCore

/// DeiT's `DistillationLoss` (facebookresearch/deit `losses.py`): a student with two heads learns the labels with
/// its class head and the teacher's predictions with its distillation head.
///
///   loss = (1 − α) · base(head, labels) + α · distill(head_dist, teacher)
///   soft: Σ_b Σ_c p_t·(log p_t − log q) · τ² / (B·C)   p_t = softmax(teacher/τ), q = softmax(head_dist/τ)
///         (`F.kl_div(…, reduction='sum', log_target=True) * τ² / numel`; `.batchmean` divides by B instead, as
///         lucidrains' vit-pytorch `DistillWrapper` does)
///   hard: cross-entropy of head_dist to the teacher's argmax (mean over the batch; no smoothing)
///   none: the base loss alone
/// The base loss is the run's: label-smoothed cross-entropy, or with mixup/cutmix the soft-target one.
public struct DistillationLoss: Sendable, Equatable {
    /// What the distillation head learns (DeiT's `--distillation-type`).
    public enum Kind: String, Sendable, CaseIterable, Codable {
        /// No distillation: the base loss on the class head alone.
        case none
        /// The teacher's softened distribution (KL divergence at temperature τ).
        case soft
        /// The teacher's top class (cross-entropy).
        case hard
    }

    /// How the soft loss's sum is averaged.
    public enum Reduction: String, Sendable, CaseIterable, Codable {
        /// Over every logit, B·C (DeiT's, "the legacy PyTorch behaviour").
        case numel
        /// Over the batch, B (vit-pytorch's `reduction='batchmean'`: C times DeiT's for the same α).
        case batchmean
    }

    /// What the distillation head learns.
    public var kind: Kind
    /// The distillation term's weight α (DeiT's `--distillation-alpha`).
    public var alpha: Double
    /// The soft loss's temperature τ (DeiT's `--distillation-tau`).
    public var tau: Double
    /// The soft loss's averaging.
    public var reduction: Reduction

    /// DeiT's defaults for the weights (α 0.5, τ 1, numel) with the kind given (DeiT's default is `none`).
    public init(kind: Kind = .none, alpha: Double = 0.5, tau: Double = 1, reduction: Reduction = .numel) {
        self.kind = kind; self.alpha = alpha; self.tau = tau; self.reduction = reduction
    }

    /// The loss of `batch` images, writing dlogits [2B × C] (the class head's rows, then head_dist's) from the
    /// student's logits [2B × C] and the teacher's [B × C], for hard `labels` with `smoothing`, or soft `targets`
    /// [B × C] (mixup/cutmix) when given.
    package func forwardBackward(student: UnsafePointer<Float>, teacher: UnsafePointer<Float>, labels: UnsafePointer<Int32>?,
                                 targets: UnsafePointer<Float>?, smoothing: Float, batch: Int, classes: Int,
                                 dlogits: UnsafeMutablePointer<Float>) -> Float {
        let bc = batch * classes
        let base: Float
        if let targets {
            base = CrossEntropy.forwardBackward(logits: student, targets: targets, batch: batch, classes: classes, dlogits: dlogits)
        } else {
            base = CrossEntropy.forwardBackward(logits: student, labels: labels!, batch: batch, classes: classes,
                                                smoothing: smoothing, dlogits: dlogits)
        }
        let dDist = dlogits + bc, dist = student + bc
        guard kind != .none else {
            dDist.update(repeating: 0, count: bc)
            return base
        }
        let a = Float(alpha)
        Kernels.scale(dlogits, 1 - a, bc)
        var distill = 0.0
        let tau = kind == .soft ? tau : 1, divisor = Double(kind == .hard || reduction == .batchmean ? batch : bc)
        for b in 0..<batch {
            let z = dist + b * classes, t = teacher + b * classes, d = dDist + b * classes
            let lseZ = Self.logSumExp(z, classes, tau), lseT = Self.logSumExp(t, classes, tau)
            if kind == .hard {
                var top = 0
                for j in 0..<classes where t[j] > t[top] { top = j }  // torch's argmax: the first maximum
                distill += lseZ - Double(z[top])
                for j in 0..<classes { d[j] = Float((exp(Double(z[j]) - lseZ) - (j == top ? 1 : 0)) / divisor) }
            } else {
                for j in 0..<classes {
                    let lq = Double(z[j]) / tau - lseZ, lp = Double(t[j]) / tau - lseT, p = exp(lp)
                    distill += p * (lp - lq)
                    // d/dz_j of Σ p·(log p − log q), × τ² / divisor
                    d[j] = Float((exp(lq) - p) * tau / divisor)
                }
            }
        }
        distill *= (kind == .soft ? tau * tau : 1) / divisor
        Kernels.scale(dDist, a, bc)
        return (1 - a) * base + a * Float(distill)
    }

    /// log Σ exp(x / τ) of one row, in double.
    static func logSumExp(_ x: UnsafePointer<Float>, _ n: Int, _ tau: Double) -> Double {
        var mx = -Double.infinity
        for j in 0..<n { mx = max(mx, Double(x[j]) / tau) }
        var sum = 0.0
        for j in 0..<n { sum += exp(Double(x[j]) / tau - mx) }
        return mx + log(sum)
    }
}
