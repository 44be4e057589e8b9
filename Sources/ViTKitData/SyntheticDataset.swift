import Foundation
import ViTKitCore
import ViTKitIO
import ViTKitImaging

/// A procedurally generated dataset that needs no download: class k is a sinusoidal grating of period
/// 2.5·r^k pixels (r spreads the periods geometrically up to size/2.5), at a random orientation and phase, with
/// random contrast, colours and pixel noise. Colour statistics are the same for every class and a horizontal flip
/// keeps the class, so a model has to see local structure (the scale of the edges) to tell classes apart.
public enum SyntheticDataset {
    /// Makes `count` images of `size`×`size` in `classes` classes, reproducibly from `seed`.
    public static func make(count: Int, classes: Int = 10, size: Int = 32, seed: UInt64, name: String = "synthetic")
        -> ImageDataset {
        let ratio = classes > 1 ? pow(Double(size) / 6.25, 1 / Double(classes - 1)) : 1
        var rng = RNG(seed: seed)
        let plane = size * size
        var images = [UInt8](repeating: 0, count: count * 3 * plane)
        var labels = [Int32](repeating: 0, count: count)
        for i in 0..<count {
            let y = rng.int(below: classes)
            labels[i] = Int32(y)
            let theta = Double.pi * Double(rng.uniform())
            let period = 2.5 * pow(ratio, Double(y))
            let (dx, dy) = (cos(theta) * 2 * .pi / period, sin(theta) * 2 * .pi / period)
            let phase = Double(rng.uniform()) * 2 * .pi
            let contrast = 0.5 + 0.5 * Double(rng.uniform())
            let dark = (0..<3).map { _ in 20 + 90 * Double(rng.uniform()) }
            let light = (0..<3).map { _ in 145 + 90 * Double(rng.uniform()) }
            let base = i * 3 * plane
            for r in 0..<size {
                for c in 0..<size {
                    let s = 0.5 + 0.5 * contrast * sin(Double(c) * dx + Double(r) * dy + phase)
                    for ch in 0..<3 {
                        let v = dark[ch] + (light[ch] - dark[ch]) * s + Double(rng.int(below: 41) - 20)
                        images[base + ch * plane + r * size + c] = UInt8(max(0, min(255, v.rounded())))
                    }
                }
            }
        }
        return ImageDataset(name: name, images: images, labels: labels, channels: 3, size: size, numClasses: classes,
                            mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25])
    }
}
