import Foundation
import ViTKitCore

/// Softmax cross-entropy with label smoothing, averaged over the batch (timm's LabelSmoothingCrossEntropy,
/// equal to nn.CrossEntropyLoss(label_smoothing: s)): loss = (1−s)·(−log p_y) + s·mean_c(−log p_c).
package enum CrossEntropy {
    /// Returns the mean loss; writes dlogits [B × C] = d(mean loss)/d logits when given.
    @discardableResult
    package static func forwardBackward(logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int,
                                       classes: Int, smoothing: Float,
                                       dlogits: UnsafeMutablePointer<Float>?) -> Float {
        var total = 0.0
        let s = Double(smoothing), c = Double(classes)
        for b in 0..<batch {
            let z = logits + b * classes
            var mx = -Double.infinity
            for j in 0..<classes { mx = max(mx, Double(z[j])) }
            var sum = 0.0, sumZ = 0.0
            for j in 0..<classes { sum += exp(Double(z[j]) - mx); sumZ += Double(z[j]) }
            let logSum = mx + log(sum)
            let y = Int(labels[b])
            let nll = logSum - Double(z[y])
            let smooth = logSum - sumZ / c
            total += (1 - s) * nll + s * smooth
            if let dlogits {
                let d = dlogits + b * classes
                for j in 0..<classes {
                    let p = exp(Double(z[j]) - logSum)
                    let target = (j == y ? 1 - s : 0) + s / c
                    d[j] = Float((p - target) / Double(batch))
                }
            }
        }
        return Float(total / Double(batch))
    }

    /// Soft-target cross-entropy (timm's SoftTargetCrossEntropy): mean over the batch of Σ_c −t_c·log p_c, for
    /// targets [B × C] (mixup/cutmix); writes dlogits = (p − t)/B when given. With t the smoothed one-hot this is
    /// the label-smoothing loss above.
    @discardableResult
    package static func forwardBackward(logits: UnsafePointer<Float>, targets: UnsafePointer<Float>, batch: Int,
                                       classes: Int, dlogits: UnsafeMutablePointer<Float>?) -> Float {
        var total = 0.0
        for b in 0..<batch {
            let z = logits + b * classes, t = targets + b * classes
            var mx = -Double.infinity
            for j in 0..<classes { mx = max(mx, Double(z[j])) }
            var sum = 0.0
            for j in 0..<classes { sum += exp(Double(z[j]) - mx) }
            let logSum = mx + log(sum)
            for j in 0..<classes { total += Double(t[j]) * (logSum - Double(z[j])) }
            if let dlogits {
                let d = dlogits + b * classes
                for j in 0..<classes { d[j] = Float((exp(Double(z[j]) - logSum) - Double(t[j])) / Double(batch)) }
            }
        }
        return Float(total / Double(batch))
    }
}
