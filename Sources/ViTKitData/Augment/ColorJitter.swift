import ViTKitCore
import ViTKitIO
import ViTKitImaging

/// torchvision's `ColorJitter(brightness, contrast, saturation)` on 8-bit pictures: factors drawn uniformly from
/// [max(0, 1 − v), 1 + v], the three adjustments (Pillow's ImageEnhance Brightness, Contrast, Color) applied in a
/// random order. timm uses it (0.4 each by default) when RandAugment is off. Hue is not supported.
public struct ColorJitter: Sendable, Equatable {
    /// Strength of each adjustment: a factor drawn from [max(0, 1 − s), 1 + s]; 0 leaves it off.
    public var brightness: Double, contrast: Double, saturation: Double

    /// Colour jitter with these strengths.
    public init(brightness: Double, contrast: Double, saturation: Double) {
        self.brightness = brightness; self.contrast = contrast; self.saturation = saturation
    }

    /// Whether any adjustment is on.
    public var active: Bool { brightness > 0 || contrast > 0 || saturation > 0 }

    /// Applies the adjustment `k` (0 brightness, 1 contrast, 2 saturation) with `factor`.
    public static func adjust(_ k: Int, _ img: PlanarImage, factor: Double) {
        switch k {
        case 0: PillowOps.brightness(img, factor: factor)
        case 1: PillowOps.contrast(img, factor: factor)
        default: PillowOps.color(img, factor: factor)
        }
    }

    /// One draw, in place.
    public func callAsFunction(_ img: PlanarImage, rng: inout RNG) {
        // a random order of the three (torchvision permutes four, hue included; hue is off)
        var order = SIMD3<Int>(0, 1, 2)
        for i in stride(from: 2, to: 0, by: -1) {
            let j = rng.int(below: i + 1)
            (order[i], order[j]) = (order[j], order[i])
        }
        let values = (brightness, contrast, saturation)
        func factor(_ v: Double, _ rng: inout RNG) -> Double? {
            v > 0 ? max(0, 1 - v) + (1 + v - max(0, 1 - v)) * rng.uniformDouble() : nil
        }
        let f = (factor(values.0, &rng), factor(values.1, &rng), factor(values.2, &rng))
        for i in 0..<3 {
            let k = order[i]
            if let v = k == 0 ? f.0 : k == 1 ? f.1 : f.2 { Self.adjust(k, img, factor: v) }
        }
    }
}
