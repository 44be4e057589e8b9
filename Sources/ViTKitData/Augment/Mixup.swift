import Foundation
import ViTKitCore
import ViTKitIO
import ViTKitImaging

/// timm's `Mixup` (`correct_lam=True`): with probability `prob` an image is mixed with its mirror in the batch (image
/// i with image B−1−i), by mixup (x·λ + x_rev·(1−λ), λ ~ Beta(α_mixup)) or, with probability `switchProb` when both
/// are on, by cutmix (a random box of area ≈ (1−λ)·H·W taken from x_rev, λ ~ Beta(α_cutmix), then λ = 1 − box area
/// / image area). `mode` says how many draws: `batch` one for the batch, `pair` one per mirrored pair (both mixed
/// from the originals), `elem` one per image (each mixed from its mirror's original). Targets become
/// λ_i·smooth(onehot(y_i)) + (1−λ_i)·smooth(onehot(y_rev,i)), smooth(t) = t·(1−s) + s/C, for the soft-target
/// cross-entropy.
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
    /// How many draws a batch gets (timm's `--mixup-mode`).
    public var mode = Mode.batch

    /// timm's `--mixup-mode`.
    public enum Mode: String, Sendable, CaseIterable {
        /// One draw for the whole batch.
        case batch
        /// One draw per pair (i, B−1−i).
        case pair
        /// One draw per image.
        case elem
    }

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
    public func draw(size: Int, rng: inout RNG) -> Draw { draw(height: size, width: size, rng: &rng) }

    /// The same for `height`×`width` images (the box's sides in proportion to the picture's).
    public func draw(height: Int, width: Int, rng: inout RNG) -> Draw {
        guard active, Double(rng.uniform()) < prob else { return Draw(lam: 1, box: nil) }
        let useCutmix = cutmixAlpha > 0 && (mixupAlpha <= 0 || Double(rng.uniform()) < switchProb)
        let lam = useCutmix ? rng.beta(cutmixAlpha) : rng.beta(mixupAlpha)
        guard useCutmix else { return Draw(lam: lam, box: nil) }
        let ratio = (1 - lam).squareRoot(), cutH = Int(Double(height) * ratio), cutW = Int(Double(width) * ratio)
        let cy = rng.int(below: height), cx = rng.int(below: width)
        let top = min(max(cy - cutH / 2, 0), height), bottom = min(max(cy + cutH / 2, 0), height)
        let left = min(max(cx - cutW / 2, 0), width), right = min(max(cx + cutW / 2, 0), width)
        return Draw(lam: 1 - Double((bottom - top) * (right - left)) / Double(height * width),
                    box: (top, bottom, left, right))
    }

    /// Mixes `images` [B × C × size × size] in place with the reversed batch as `d` says.
    public static func mix(images: UnsafeMutablePointer<Float>, batch: Int, channels: Int, size: Int, _ d: Draw) {
        let per = channels * size * size
        for b in 0..<(batch / 2) { mixPair(images + b * per, images + (batch - 1 - b) * per, channels: channels, height: size, width: size, d) }
    }

    /// Mixes one pair of images with each other as `d` says (cutmix swaps the box; mixup mixes both ways).
    static func mixPair(_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, channels: Int, height: Int,
                        width: Int, _ d: Draw) {
        if d.lam == 1 && d.box == nil { return }
        let per = channels * height * width
        if let box = d.box {
            for c in 0..<channels {
                for r in box.top..<box.bottom {
                    for col in box.left..<box.right {
                        let i = (c * height + r) * width + col
                        swap(&x[i], &y[i])
                    }
                }
            }
        } else {
            let l = Float(d.lam), m = Float(1 - d.lam)
            for i in 0..<per { let a = x[i], c = y[i]; x[i] = a * l + c * m; y[i] = c * l + a * m }
        }
    }

    /// Fills `draws[0..<batch]`, one per image, as `mode` says (a pair's two images share theirs).
    public func draw(into draws: UnsafeMutablePointer<Draw>, batch: Int, size: Int, width: Int? = nil, rng: inout RNG) {
        let w = width ?? size
        switch mode {
        case .batch:
            let d = draw(height: size, width: w, rng: &rng)
            for i in 0..<batch { draws[i] = d }
        case .pair:
            for i in 0..<(batch / 2) { let d = draw(height: size, width: w, rng: &rng); draws[i] = d; draws[batch - 1 - i] = d }
            if batch % 2 == 1 { draws[batch / 2] = Draw(lam: 1, box: nil) }
        case .elem:
            for i in 0..<batch { draws[i] = draw(height: size, width: w, rng: &rng) }
        }
    }

    /// Mixes `images` [B × C × size × size] in place by per-image draws: `batch` and `pair` mix each pair (i, B−1−i)
    /// by draws[i]; `elem` mixes each image i with the original of B−1−i by draws[i], keeping the originals in
    /// `original` (B × C × size × size floats).
    public static func mix(images: UnsafeMutablePointer<Float>, batch: Int, channels: Int, size: Int, width: Int? = nil,
                           mode: Mode, draws: UnsafePointer<Draw>, original: UnsafeMutablePointer<Float>?) {
        let w = width ?? size, per = channels * size * w
        guard mode == .elem else {
            for i in 0..<(batch / 2) {
                mixPair(images + i * per, images + (batch - 1 - i) * per, channels: channels, height: size, width: w, draws[i])
            }
            return
        }
        guard let original else { preconditionFailure("elem mixup needs a buffer for the originals") }
        original.update(from: images, count: batch * per)
        for i in 0..<batch {
            let d = draws[i], x = images + i * per, y = original + (batch - 1 - i) * per
            if let box = d.box {
                for c in 0..<channels {
                    for r in box.top..<box.bottom {
                        let row = (c * size + r) * w
                        for col in box.left..<box.right { x[row + col] = y[row + col] }
                    }
                }
            } else if d.lam != 1 {
                let l = Float(d.lam), m = Float(1 - d.lam)
                for k in 0..<per { x[k] = x[k] * l + y[k] * m }
            }
        }
    }

    /// Soft targets [B × classes] by per-image λ (timm's `mixup_target` with a λ per row).
    public func targets(labels: UnsafePointer<Int32>, batch: Int, classes: Int, draws: UnsafePointer<Draw>,
                        into out: UnsafeMutablePointer<Float>) {
        for b in 0..<batch { target(labels: labels, b, batch: batch, classes: classes, lam: draws[b].lam, into: out) }
    }

    /// Soft targets [B × classes] (timm's `mixup_target`).
    public func targets(labels: UnsafePointer<Int32>, batch: Int, classes: Int, lam: Double,
                        into out: UnsafeMutablePointer<Float>) {
        for b in 0..<batch { target(labels: labels, b, batch: batch, classes: classes, lam: lam, into: out) }
    }

    /// Row b of the soft targets: λ·(y_b smoothed) + (1−λ)·(y_{B−1−b} smoothed), in float32 as timm computes it.
    func target(labels: UnsafePointer<Int32>, _ b: Int, batch: Int, classes: Int, lam: Double, into out: UnsafeMutablePointer<Float>) {
        let off = smoothing / Double(classes), on = 1 - smoothing + off
        let t = out + b * classes
        let y1 = Int(labels[b]), y2 = Int(labels[batch - 1 - b])
        let l = Float(lam), m = Float(1 - lam)
        for j in 0..<classes {
            let a = Float(j == y1 ? on : off), c = Float(j == y2 ? on : off)
            t[j] = a * l + c * m
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
