import Foundation
import ViTKitCore
import ViTKitIO
import ViTKitImaging

/// timm's `Mixup` in batch mode (`mode='batch'`, `correct_lam=True`): one λ per batch; with probability `prob` the
/// batch is mixed with itself reversed (image i with image B−1−i), by mixup (x·λ + x_rev·(1−λ), λ ~ Beta(α_mixup))
/// or, with probability `switchProb` when both are on, by cutmix (a random box of area ≈ (1−λ)·H·W taken from x_rev,
/// λ ~ Beta(α_cutmix), then λ = 1 − box area / image area). Targets become
/// λ·smooth(onehot(y)) + (1−λ)·smooth(onehot(y_rev)), smooth(t) = t·(1−s) + s/C, for the soft-target cross-entropy.
public struct Mixup: Sendable, Equatable {
    /// Mixup's Beta(α, α) parameter (timm's `--mixup`); 0 turns mixup off.
    public var mixupAlpha: Double = 0
    /// CutMix's Beta(α, α) parameter (timm's `--cutmix`); 0 turns cutmix off.
    public var cutmixAlpha: Double = 0
    /// Probability of mixing a batch at all (`--mixup-prob`).
    public var prob: Double = 1
    /// Probability of cutmix rather than mixup when both are on (`--mixup-switch-prob`).
    public var switchProb: Double = 0.5
    /// Label smoothing of the mixed targets.
    public var smoothing: Double = 0.1

    /// Mixup/cutmix with timm's parameters.
    public init(mixupAlpha: Double = 0, cutmixAlpha: Double = 0, prob: Double = 1, switchProb: Double = 0.5,
                smoothing: Double = 0.1) {
        self.mixupAlpha = mixupAlpha; self.cutmixAlpha = cutmixAlpha; self.prob = prob; self.switchProb = switchProb
        self.smoothing = smoothing
    }

    /// timm's `mixup_active`.
    public var active: Bool { (mixupAlpha > 0 || cutmixAlpha > 0) && prob > 0 }

    /// One batch's draw: λ, and the cutmix box (top, bottom, left, right; half-open) or nil for mixup.
    public struct Draw: Equatable {
        /// The weight of each image's own label (1 when the batch is left alone).
        public var lam: Double
        /// CutMix's pasted box, in pixels (bottom and right exclusive); nil for mixup.
        public var box: (top: Int, bottom: Int, left: Int, right: Int)?
        /// A draw with this λ and box.
        public init(lam: Double, box: (top: Int, bottom: Int, left: Int, right: Int)?) { self.lam = lam; self.box = box }
        /// Equal λ and equal boxes.
        public static func == (a: Draw, b: Draw) -> Bool {
            a.lam == b.lam && a.box?.top == b.box?.top && a.box?.bottom == b.box?.bottom && a.box?.left == b.box?.left
                && a.box?.right == b.box?.right
        }
    }

    /// timm's `_params_per_batch` and `rand_bbox`/`cutmix_bbox_and_lam` for `size`×`size` images.
    public func draw(size: Int, rng: inout RNG) -> Draw {
        guard active, Double(rng.uniform()) < prob else { return Draw(lam: 1, box: nil) }
        let useCutmix = cutmixAlpha > 0 && (mixupAlpha <= 0 || Double(rng.uniform()) < switchProb)
        let lam = useCutmix ? rng.beta(cutmixAlpha) : rng.beta(mixupAlpha)
        guard useCutmix else { return Draw(lam: lam, box: nil) }
        let ratio = (1 - lam).squareRoot(), cut = Int(Double(size) * ratio)
        let cy = rng.int(below: size), cx = rng.int(below: size)
        let top = min(max(cy - cut / 2, 0), size), bottom = min(max(cy + cut / 2, 0), size)
        let left = min(max(cx - cut / 2, 0), size), right = min(max(cx + cut / 2, 0), size)
        return Draw(lam: 1 - Double((bottom - top) * (right - left)) / Double(size * size),
                    box: (top, bottom, left, right))
    }

    /// Mixes `images` [B × C × size × size] in place with the reversed batch as `d` says.
    public static func mix(images: UnsafeMutablePointer<Float>, batch: Int, channels: Int, size: Int, _ d: Draw) {
        if d.lam == 1 && d.box == nil { return }
        let per = channels * size * size
        for b in 0..<(batch / 2) {
            let x = images + b * per, y = images + (batch - 1 - b) * per
            if let box = d.box {
                for c in 0..<channels {
                    for r in box.top..<box.bottom {
                        for col in box.left..<box.right {
                            let i = (c * size + r) * size + col
                            swap(&x[i], &y[i])
                        }
                    }
                }
            } else {
                let l = Float(d.lam), m = Float(1 - d.lam)
                for i in 0..<per { let a = x[i], c = y[i]; x[i] = a * l + c * m; y[i] = c * l + a * m }
            }
        }
    }

    /// Soft targets [B × classes] (timm's `mixup_target`).
    public func targets(labels: UnsafePointer<Int32>, batch: Int, classes: Int, lam: Double,
                        into out: UnsafeMutablePointer<Float>) {
        let off = smoothing / Double(classes), on = 1 - smoothing + off
        for b in 0..<batch {
            let t = out + b * classes
            let y1 = Int(labels[b]), y2 = Int(labels[batch - 1 - b])
            // λ·(y1 smoothed) + (1−λ)·(y2 smoothed), in float32 as timm computes it
            let l = Float(lam), m = Float(1 - lam)
            for j in 0..<classes {
                let a = Float(j == y1 ? on : off), c = Float(j == y2 ? on : off)
                t[j] = a * l + c * m
            }
        }
    }
}

extension RNG {
    /// Gamma(shape, 1) by Marsaglia and Tsang (shape < 1 boosted by U^(1/shape)).
    mutating func gamma(_ shape: Double) -> Double {
        if shape < 1 { return gamma(shape + 1) * pow(Double(uniform()).nextUp, 1 / shape) }
        let d = shape - 1.0 / 3, c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double, v: Double
            repeat { x = Double(normal()); v = 1 + c * x } while v <= 0
            v = v * v * v
            let u = Double(uniform()).nextUp
            if log(u) < 0.5 * x * x + d - d * v + d * log(v) { return d * v }
        }
    }

    /// Beta(α, α) (numpy's `np.random.beta(α, α)` distribution).
    public mutating func beta(_ alpha: Double) -> Double {
        let x = gamma(alpha), y = gamma(alpha)
        return x + y > 0 ? x / (x + y) : 0.5
    }
}
