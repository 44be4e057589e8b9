/// timm's `RandomResizedCropAndInterpolation`: a crop of random area (a `scale` fraction of the picture) and
/// aspect ratio (log-uniform in `ratio`), found in up to 10 tries (else the centre crop nearest the ratio range),
/// resized to the output size with Pillow's resize. Scale and ratio (1, 1) on a square picture is the identity.
public struct RandomResizedCrop: Sendable, Equatable {
    /// Range of the crop's area, as a share of the image (timm's `--scale`).
    public var scaleMin: Double, scaleMax: Double
    /// Range of the crop's aspect ratio (timm's `--ratio`).
    public var ratioMin: Double, ratioMax: Double
    /// nil: bilinear or bicubic at random per picture (timm's 'random').
    public var interpolation: ResampleFilter?

    /// A crop with these ranges; `interpolation` nil picks bilinear or bicubic at random, as timm's `random`.
    public init(scale: (Double, Double) = (0.08, 1), ratio: (Double, Double) = (3.0 / 4, 4.0 / 3),
                interpolation: ResampleFilter? = nil) {
        scaleMin = scale.0; scaleMax = scale.1; ratioMin = ratio.0; ratioMax = ratio.1
        self.interpolation = interpolation
    }

    /// Scale and ratio (1, 1): the largest centred square (the whole of a square picture).
    public var isFull: Bool { scaleMin == 1 && scaleMax == 1 && ratioMin == 1 && ratioMax == 1 }

    /// The crop (top, left, height, width) for a `width`×`height` picture (torchvision's `get_params`).
    public func params(width: Int, height: Int, rng: inout RNG) -> (top: Int, left: Int, height: Int, width: Int) {
        let area = Double(width * height)
        let logRatio = (Foundation.log(ratioMin), Foundation.log(ratioMax))
        for _ in 0..<10 {
            let target = (scaleMin + (scaleMax - scaleMin) * rng.uniformDouble()) * area
            let aspect = Foundation.exp(logRatio.0 + (logRatio.1 - logRatio.0) * rng.uniformDouble())
            let w = Int((target * aspect).squareRoot().rounded(.toNearestOrEven))
            let h = Int((target / aspect).squareRoot().rounded(.toNearestOrEven))
            if w <= width && h <= height {
                let top = rng.int(below: height - h + 1), left = rng.int(below: width - w + 1)
                return (top, left, h, w)
            }
        }
        return Self.fallback(width: width, height: height, ratioMin: min(ratioMin, ratioMax), ratioMax: max(ratioMin, ratioMax))
    }

    /// The centre crop torchvision falls back to: the whole picture, trimmed to the nearest end of the ratio range.
    static func fallback(width: Int, height: Int, ratioMin: Double, ratioMax: Double)
        -> (top: Int, left: Int, height: Int, width: Int) {
        let inRatio = Double(width) / Double(height)
        var w = width, h = height
        if inRatio < ratioMin { h = Int((Double(w) / ratioMin).rounded(.toNearestOrEven)) }
        else if inRatio > ratioMax { w = Int((Double(h) * ratioMax).rounded(.toNearestOrEven)) }
        return ((height - h) / 2, (width - w) / 2, h, w)
    }

    /// Crops `src` as drawn and resizes it into `dst` (`cropBuffer` holds the crop; it needs `src.count` bytes).
    public func callAsFunction(_ src: PlanarImage, into dst: PlanarImage, cropBuffer: UnsafeMutablePointer<UInt8>,
                               workspace: ResizeWorkspace, rng: inout RNG) {
        if isFull && src.width == src.height && dst.width == src.width && dst.height == src.height {
            dst.copy(from: src)  // the whole picture at its own size, whatever is drawn: draw nothing
            return
        }
        let p = params(width: src.width, height: src.height, rng: &rng)
        let filter = interpolation ?? (rng.uniformDouble() < 0.5 ? .bilinear : .bicubic)
        if p.width == src.width && p.height == src.height && dst.width == src.width && dst.height == src.height {
            dst.copy(from: src)  // Pillow returns a copy when nothing changes
            return
        }
        Self.cropAndResize(src, top: p.top, left: p.left, height: p.height, width: p.width, into: dst, filter: filter,
                           cropBuffer: cropBuffer, workspace: workspace)
    }

    /// torchvision's `resized_crop` on a PIL image: the `width`×`height` region at (`left`, `top`) copied out, then
    /// Pillow-resized to `dst`'s size (crop first: the filter must not reach pixels outside the region).
    public static func cropAndResize(_ src: PlanarImage, top: Int, left: Int, height: Int, width: Int, into dst: PlanarImage,
                                     filter: ResampleFilter, cropBuffer: UnsafeMutablePointer<UInt8>,
                                     workspace: ResizeWorkspace) {
        let crop = PlanarImage(cropBuffer, width: width, height: height, channels: src.channels)
        for c in 0..<src.channels {
            for y in 0..<height {
                crop.plane(c).advanced(by: y * width).update(from: src.plane(c) + (top + y) * src.width + left, count: width)
            }
        }
        PillowOps.resize(crop, into: dst, filter: filter, workspace: workspace)
    }
}

import Foundation
import ViTKitCore
import ViTKitIO
import ViTKitImaging
