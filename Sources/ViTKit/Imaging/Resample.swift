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
    static let precisionBits = 32 - 8 - 2

    /// Per output pixel: first input index, and fixed-point weights of the inputs it reads.
    static func coefficients(inSize: Int, from in0: Double, to in1: Double, outSize: Int, filter: ResampleFilter)
        -> [(start: Int, weights: [Int32])] {
        let scale = (in1 - in0) / Double(outSize), filterScale = max(scale, 1)
        let support = filter.support * filterScale
        return (0..<outSize).map { xx in
            let center = in0 + (Double(xx) + 0.5) * scale
            let xmin = max(0, Int(center - support + 0.5)), xmax = min(inSize, Int(center + support + 0.5))
            var w = (xmin..<max(xmin, xmax)).map { filter.weight((Double($0) - center + 0.5) / filterScale) }
            let total = w.reduce(0, +)
            if total != 0 { w = w.map { $0 / total } }
            let one = Double(1 << precisionBits)
            return (xmin, w.map { Int32($0 < 0 ? (-0.5 + $0 * one) : (0.5 + $0 * one)) })
        }
    }

    @inline(__always) static func clip8(_ v: Int32) -> UInt8 {
        let s = v >> Int32(precisionBits)
        return s <= 0 ? 0 : s >= 255 ? 255 : UInt8(s)
    }

    /// Pillow's `resize((width, height), filter, box)`: the region `box` = (left, top, right, bottom) in pixel
    /// coordinates (default the whole picture) resampled to `width`×`height`.
    public func resized(width w: Int, height h: Int, filter: ResampleFilter = .bilinear,
                        box: (Double, Double, Double, Double)? = nil) -> RGBImage {
        let (left, top, right, bottom) = box ?? (0, 0, Double(width), Double(height))
        if w == width && h == height && box == nil { return self }
        let one: Int32 = 1 << Int32(Self.precisionBits - 1)
        // horizontal pass over every row (Pillow limits it to the rows the vertical pass reads: same values)
        let hc = Self.coefficients(inSize: width, from: left, to: right, outSize: w, filter: filter)
        var mid = [UInt8](repeating: 0, count: w * height * 3)
        for y in 0..<height {
            for (x, c) in hc.enumerated() {
                var s0 = one, s1 = one, s2 = one
                for (k, wk) in c.weights.enumerated() {
                    let i = 3 * (y * width + c.start + k)
                    s0 &+= Int32(pixels[i]) &* wk; s1 &+= Int32(pixels[i + 1]) &* wk; s2 &+= Int32(pixels[i + 2]) &* wk
                }
                let o = 3 * (y * w + x)
                mid[o] = Self.clip8(s0); mid[o + 1] = Self.clip8(s1); mid[o + 2] = Self.clip8(s2)
            }
        }
        let vc = Self.coefficients(inSize: height, from: top, to: bottom, outSize: h, filter: filter)
        var out = RGBImage(width: w, height: h)
        for (y, c) in vc.enumerated() {
            for x in 0..<w {
                var s0 = one, s1 = one, s2 = one
                for (k, wk) in c.weights.enumerated() {
                    let i = 3 * ((c.start + k) * w + x)
                    s0 &+= Int32(mid[i]) &* wk; s1 &+= Int32(mid[i + 1]) &* wk; s2 &+= Int32(mid[i + 2]) &* wk
                }
                let o = 3 * (y * w + x)
                out.pixels[o] = Self.clip8(s0); out.pixels[o + 1] = Self.clip8(s1); out.pixels[o + 2] = Self.clip8(s2)
            }
        }
        return out
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

    func evalCrop(_ size: Int) -> RGBImage {
        let top = Int((Double(height - size) / 2).rounded(.toNearestOrEven))
        let left = Int((Double(width - size) / 2).rounded(.toNearestOrEven))
        return cropped(x: left, y: top, width: size, height: size)
    }
}
