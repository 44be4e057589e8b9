import Foundation
import ViTKitCore
import ViTKitIO
import ViTKitImaging

/// timm's `RandomErasing` (Zhong et al.), on a normalised image [C × H × W]: with probability `prob`, `count`
/// rectangles, each of area U(minArea, maxArea)·H·W and aspect ratio log-uniform in (minAspect, 1/minAspect)
/// (up to 10 tries to fit), are filled with per-pixel N(0, 1) noise (`pixel`), one N(0, 1) colour per channel
/// (`rand`) or zeros (`const`).
public struct RandomErasing: Sendable, Equatable {
    /// What fills an erased box, as timm's `--remode`: per-pixel normal noise, one normal colour per channel, or zeros.
    public enum Mode: String, Sendable, CaseIterable { case pixel, rand, const }

    /// Probability of erasing an image (`--reprob`).
    public var prob: Double
    /// What fills the box (`--remode`).
    public var mode: Mode
    /// Most boxes per image (`--recount`).
    public var count = 1
    /// Smallest box area, as a share of the image.
    public var minArea = 0.02
    /// Largest box area, as a share of the image.
    public var maxArea = 1.0 / 3
    /// Smallest aspect ratio of a box (the largest is its inverse).
    public var minAspect = 0.3

    /// Random erasing with timm's defaults for the areas and aspect ratios.
    public init(prob: Double, mode: Mode = .pixel, count: Int = 1) { self.prob = prob; self.mode = mode; self.count = count }

    /// Whether any image can be erased.
    public var active: Bool { prob > 0 }

    /// Erases in place (no allocation: it runs inside training steps); returns how many rectangles it filled.
    @discardableResult
    public func apply(_ image: UnsafeMutablePointer<Float>, channels: Int, height: Int, width: Int, rng: inout RNG)
        -> Int {
        guard Double(rng.uniform()) < prob else { return 0 }
        var filled = 0
        let area = Double(height * width), logLow = log(minAspect), logHigh = log(1 / minAspect)
        for _ in 0..<count {
            for _ in 0..<10 {
                let target = (minArea + (maxArea - minArea) * Double(rng.uniform())) * area
                let aspect = exp(logLow + (logHigh - logLow) * Double(rng.uniform()))
                let h = Int((target * aspect).squareRoot().rounded(.toNearestOrEven))
                let w = Int((target / aspect).squareRoot().rounded(.toNearestOrEven))
                guard w < width && h < height else { continue }
                let top = rng.int(below: height - h + 1), left = rng.int(below: width - w + 1)
                for c in 0..<channels {
                    let colour = mode == .rand ? rng.normal() : 0
                    for r in top..<(top + h) {
                        let row = image + (c * height + r) * width + left
                        for j in 0..<w { row[j] = mode == .pixel ? rng.normal() : colour }
                    }
                }
                filled += 1
                break
            }
        }
        return filled
    }
}
