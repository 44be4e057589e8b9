import ViTKitCore
import ViTKitIO

/// Pillow's `Image.resize` for 8-bit images (its Resample.c): separable convolution, horizontal pass then vertical,
/// the filter stretched by the scale factor when shrinking (antialiasing), weights normalised per output pixel and
/// rounded to 22-bit fixed point, results rounded and clipped to 0…255. torchvision's PIL transforms (Resize,
/// RandomResizedCrop) call this, so matching it matches timm's input pipeline.
public enum ResampleFilter: String, Sendable, CaseIterable {
    case bilinear, bicubic

    var support: Double { self == .bilinear ? 1 : 2 }

    func weight(_ x: Double) -> Double {
        let x = abs(x)
        switch self {
        case .bilinear: return x < 1 ? 1 - x : 0
        case .bicubic:  // Keys cubic, a = −0.5
            let a = -0.5
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        }
    }
}

extension RGBImage {
    /// Pillow's `resize((width, height), filter, box)`: the region `box` = (left, top, right, bottom) in pixel
    /// coordinates (default the whole picture) resampled to `width`×`height`.
    public func resized(width w: Int, height h: Int, filter: ResampleFilter = .bilinear,
                        box: (Double, Double, Double, Double)? = nil) -> RGBImage {
        if w == width && h == height && box == nil { return self }
        var src = planes
        var dst = [UInt8](repeating: 0, count: 3 * w * h)
        let work = ResizeWorkspace(maxInput: max(width, height), output: min(w, h), maxOutput: max(w, h), channels: 3)
        src.withUnsafeMutableBufferPointer { s in
            dst.withUnsafeMutableBufferPointer { d in
                PillowOps.resize(PlanarImage(s.baseAddress!, width: width, height: height, channels: 3),
                                 into: PlanarImage(d.baseAddress!, width: w, height: h, channels: 3),
                                 filter: filter, box: box, workspace: work)
            }
        }
        return dst.withUnsafeBufferPointer { RGBImage(planes: $0.baseAddress!, width: w, height: h) }
    }

    /// The `width`×`height` region with its top-left corner at (x, y), which must lie inside the picture.
    public func cropped(x: Int, y: Int, width w: Int, height h: Int) -> RGBImage {
        precondition(x >= 0 && y >= 0 && x + w <= width && y + h <= height && w > 0 && h > 0)
        var out = RGBImage(width: w, height: h)
        for row in 0..<h {
            let src = 3 * ((y + row) * width + x)
            out.pixels.replaceSubrange((3 * row * w)..<(3 * (row + 1) * w), with: pixels[src..<(src + 3 * w)])
        }
        return out
    }

    /// timm's eval transform (`transforms_imagenet_eval`): resize the shorter side to ⌊size / cropPct⌋ (the longer
    /// in proportion, truncated, as torchvision's Resize), then the centre `size`×`size` crop (offsets rounded half
    /// to even, as Python's round).
    public func evalTransform(size: Int, cropPct: Double, filter: ResampleFilter) -> RGBImage {
        let scaled = Int((Double(size) / cropPct).rounded(.down))
        let (w, h) = width <= height ? (scaled, Int(Double(scaled) * Double(height) / Double(width)))
            : (Int(Double(scaled) * Double(width) / Double(height)), scaled)
        let r = (w == width && h == height) ? self : resized(width: w, height: h, filter: filter)
        if r.width < size || r.height < size {
            // torchvision pads a too-small image with zeros before the centre crop
            var padded = RGBImage(width: max(size, r.width), height: max(size, r.height), fill: (0, 0, 0))
            padded.draw(r, x: (padded.width - r.width) / 2, y: (padded.height - r.height) / 2)
            return padded.evalCrop(size)
        }
        return r.evalCrop(size)
    }

    func evalCrop(_ size: Int) -> RGBImage { evalCrop(height: size, width: size) }

    func evalCrop(height h: Int, width w: Int) -> RGBImage {
        let top = Int((Double(height - h) / 2).rounded(.toNearestOrEven))
        let left = Int((Double(width - w) / 2).rounded(.toNearestOrEven))
        return cropped(x: left, y: top, width: w, height: h)
    }

    /// timm's eval transform for a non-square input size (H, W): `ResizeKeepRatio((⌊H / cropPct⌋, ⌊W / cropPct⌋))`
    /// (the picture scaled by the smaller of its two ratios to that size, so it covers it, each side rounded half to
    /// even), then the centre H×W crop; a square size is `evalTransform(size:…)`.
    public func evalTransform(height h: Int, width w: Int, cropPct: Double, filter: ResampleFilter) -> RGBImage {
        if h == w { return evalTransform(size: h, cropPct: cropPct, filter: filter) }
        let th = Double(Int((Double(h) / cropPct).rounded(.down))), tw = Double(Int((Double(w) / cropPct).rounded(.down)))
        let ratio = min(Double(height) / th, Double(width) / tw)
        let sh = Int((Double(height) / ratio).rounded(.toNearestOrEven)), sw = Int((Double(width) / ratio).rounded(.toNearestOrEven))
        let r = (sw == width && sh == height) ? self : resized(width: sw, height: sh, filter: filter)
        return r.evalCrop(height: h, width: w)
    }
}
