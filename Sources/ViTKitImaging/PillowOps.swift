import Foundation
import ViTKitCore
import ViTKitIO

/// Pillow's operations behind timm's RandAugment and torchvision's colour jitter, on planar 8-bit pictures, computed
/// the way Pillow's C code computes them (same formulas, same float/double types, same order of operations), so
/// the results equal Pillow's: lookup tables (ImageOps), blends with a degenerate picture (ImageEnhance, whose
/// `Image.blend` works in C `float` and truncates), the 3×3 SMOOTH filter (Filter.c) and affine transforms with
/// bilinear or bicubic sampling and a fill colour (Geometry.c). Nothing here allocates on the heap.
public enum PillowOps {
    // MARK: lookup-table ops (ImageOps)

    /// Maps every byte of channel `c` through the 256-entry table `makeLUT` fills (called once per channel).
    @inline(__always)
    static func mapChannels(_ img: PlanarImage, _ makeLUT: (Int, UnsafeMutablePointer<UInt8>) -> Void) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { lut in
            let t = lut.baseAddress!
            for c in 0..<img.channels {
                makeLUT(c, t)
                let p = img.plane(c)
                for i in 0..<img.plane { p[i] = t[Int(p[i])] }
            }
        }
    }

    /// Per-channel 256-bin histogram of channel `c` into `h`.
    @inline(__always)
    static func histogram(_ img: PlanarImage, _ c: Int, into h: UnsafeMutablePointer<Int>) {
        h.update(repeating: 0, count: 256)
        let p = img.plane(c)
        for i in 0..<img.plane { h[Int(p[i])] += 1 }
    }

    /// `ImageOps.autocontrast(img)` (cutoff 0): each channel stretched so its darkest value becomes 0 and its
    /// brightest 255, by the table ⌊ix·255/(hi−lo) − lo·255/(hi−lo)⌋.
    public static func autocontrast(_ img: PlanarImage) {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 256) { hb in
            let h = hb.baseAddress!
            mapChannels(img) { c, lut in
                histogram(img, c, into: h)
                var lo = 0, hi = 255
                while lo < 256 && h[lo] == 0 { lo += 1 }
                while hi >= 0 && h[hi] == 0 { hi -= 1 }
                if hi <= lo { for i in 0..<256 { lut[i] = UInt8(i) }; return }
                let scale = 255.0 / Double(hi - lo), offset = -Double(lo) * scale
                for i in 0..<256 { lut[i] = UInt8(max(0, min(255, Int(Double(i) * scale + offset)))) }
            }
        }
    }

    /// `ImageOps.equalize(img)`: per channel, the table that flattens the histogram (Pillow's integer steps).
    public static func equalize(_ img: PlanarImage) {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 256) { hb in
            let h = hb.baseAddress!
            mapChannels(img) { c, lut in
                histogram(img, c, into: h)
                var total = 0, last = 0, used = 0
                for i in 0..<256 where h[i] != 0 { total += h[i]; last = h[i]; used += 1 }
                let step = used <= 1 ? 0 : (total - last) / 255
                if step == 0 { for i in 0..<256 { lut[i] = UInt8(i) }; return }
                var n = step / 2
                for i in 0..<256 { lut[i] = UInt8(min(255, n / step)); n += h[i] }
            }
        }
    }

    /// `ImageOps.invert`: 255 − v.
    public static func invert(_ img: PlanarImage) {
        for i in 0..<img.count { img.pixels[i] = 255 &- img.pixels[i] }
    }

    /// `ImageOps.posterize(img, bits)`: keeps the top `bits` bits; 0 bits gives black (as the Pillow of the
    /// reference code did; Pillow 11 and later refuse 0), 8 or more leaves the picture alone.
    public static func posterize(_ img: PlanarImage, bits: Int) {
        if bits >= 8 { return }
        let mask = UInt8(truncatingIfNeeded: ~((1 << (8 - max(0, bits))) - 1))
        for i in 0..<img.count { img.pixels[i] &= mask }
    }

    /// `ImageOps.solarize(img, threshold)`: values at or above the threshold are inverted.
    public static func solarize(_ img: PlanarImage, threshold: Int) {
        for i in 0..<img.count where Int(img.pixels[i]) >= threshold { img.pixels[i] = 255 &- img.pixels[i] }
    }

    /// timm's `solarize_add`: `add` is added (saturating) to values below `threshold`.
    public static func solarizeAdd(_ img: PlanarImage, add: Int, threshold: Int = 128) {
        for i in 0..<img.count where Int(img.pixels[i]) < threshold {
            img.pixels[i] = UInt8(min(255, Int(img.pixels[i]) + add))
        }
    }

    // MARK: blends (ImageEnhance)

    /// `Image.blend(a, b, alpha)` for one value: C float arithmetic, truncated; clipped when extrapolating.
    @inline(__always)
    static func blend(_ a: UInt8, _ b: UInt8, _ alpha: Float, _ interpolating: Bool) -> UInt8 {
        let t = Float(Int32(a)) + alpha * Float(Int32(b) - Int32(a))
        if interpolating { return UInt8(t) }
        return t <= 0 ? 0 : t >= 255 ? 255 : UInt8(t)
    }

    /// Pillow's RGB → L: (19595 R + 38470 G + 7471 B + 2¹⁵) >> 16. A one-channel picture is its own grey.
    @inline(__always)
    static func luma(_ img: PlanarImage, _ i: Int) -> UInt8 {
        if img.channels < 3 { return img.pixels[i] }
        let n = img.plane
        let v = Int(img.pixels[i]) * 19595 + Int(img.pixels[n + i]) * 38470 + Int(img.pixels[2 * n + i]) * 7471 + 0x8000
        return UInt8(v >> 16)
    }

    /// `ImageEnhance.Color(img).enhance(factor)`: blend from the grey picture (0 = grey, 1 = unchanged).
    public static func color(_ img: PlanarImage, factor: Double) {
        let alpha = Float(factor), inside = alpha >= 0 && alpha <= 1
        if img.channels < 3 { return }
        for i in 0..<img.plane {
            let g = luma(img, i)
            for c in 0..<img.channels { img.pixels[c * img.plane + i] = blend(g, img.pixels[c * img.plane + i], alpha, inside) }
        }
    }

    /// `ImageEnhance.Contrast(img).enhance(factor)`: blend from the flat picture at the grey mean (rounded).
    public static func contrast(_ img: PlanarImage, factor: Double) {
        var sum = 0
        for i in 0..<img.plane { sum += Int(luma(img, i)) }
        let mean = UInt8(Int(Double(sum) / Double(img.plane) + 0.5))
        let alpha = Float(factor), inside = alpha >= 0 && alpha <= 1
        for i in 0..<img.count { img.pixels[i] = blend(mean, img.pixels[i], alpha, inside) }
    }

    /// `ImageEnhance.Brightness(img).enhance(factor)`: blend from black.
    public static func brightness(_ img: PlanarImage, factor: Double) {
        let alpha = Float(factor), inside = alpha >= 0 && alpha <= 1
        for i in 0..<img.count { img.pixels[i] = blend(0, img.pixels[i], alpha, inside) }
    }

    /// `ImageEnhance.Sharpness(img).enhance(factor)`: blend from the SMOOTH-filtered picture (written to `scratch`).
    public static func sharpness(_ img: PlanarImage, factor: Double, scratch: PlanarImage) {
        smooth(img, into: scratch)
        let alpha = Float(factor), inside = alpha >= 0 && alpha <= 1
        for i in 0..<img.count { img.pixels[i] = blend(scratch.pixels[i], img.pixels[i], alpha, inside) }
    }

    /// `img.filter(ImageFilter.SMOOTH)`: the 3×3 kernel (1 1 1 / 1 5 1 / 1 1 1)/13 in float, +0.5, clipped and
    /// truncated; the outermost rows and columns are copied (Filter.c). Pictures under 3×3 are copied whole.
    public static func smooth(_ img: PlanarImage, into out: PlanarImage) {
        out.copy(from: img)
        let w = img.width, h = img.height
        guard w >= 3 && h >= 3 else { return }
        let k1 = Float(1) / Float(13), k5 = Float(5) / Float(13)
        for c in 0..<img.channels {
            let src = img.plane(c), dst = out.plane(c)
            for y in 1..<(h - 1) {
                let up = src + (y - 1) * w, mid = src + y * w, down = src + (y + 1) * w
                for x in 1..<(w - 1) {
                    var ss: Float = 0.5
                    ss += Float(down[x - 1]) * k1 + Float(down[x]) * k1 + Float(down[x + 1]) * k1
                    ss += Float(mid[x - 1]) * k1 + Float(mid[x]) * k5 + Float(mid[x + 1]) * k1
                    ss += Float(up[x - 1]) * k1 + Float(up[x]) * k1 + Float(up[x + 1]) * k1
                    dst[y * w + x] = ss <= 0 ? 0 : ss >= 255 ? 255 : UInt8(ss)
                }
            }
        }
    }

    // MARK: geometry (Geometry.c)

    /// `img.transform(size, Image.AFFINE, (a, b, c, d, e, f), resample, fillcolor=fill)`: output pixel (x, y)
    /// samples the input at (a·(x+½) + b·(y+½) + c, d·(x+½) + e·(y+½) + f); points outside the input get `fill`.
    public static func affine(_ src: PlanarImage, into dst: PlanarImage, matrix m: AffineMatrix, filter: ResampleFilter,
                              fill: [UInt8]) {
        precondition(src.channels == dst.channels && fill.count >= src.channels)
        let w = src.width, h = src.height, plane = src.plane
        @inline(__always) func xclip(_ x: Int) -> Int { x < 0 ? 0 : x < w ? x : w - 1 }
        for oy in 0..<dst.height {
            for ox in 0..<dst.width {
                let xo = Double(ox) + 0.5, yo = Double(oy) + 0.5
                var xin = m.a * xo + m.b * yo + m.c
                var yin = m.d * xo + m.e * yo + m.f
                let o = oy * dst.width + ox
                if xin < 0 || xin >= Double(w) || yin < 0 || yin >= Double(h) {
                    for c in 0..<src.channels { dst.pixels[c * dst.plane + o] = fill[c] }
                    continue
                }
                xin -= 0.5; yin -= 0.5
                let x = Int(xin.rounded(.down)), y = Int(yin.rounded(.down))
                let dx = xin - Double(x), dy = yin - Double(y)
                for c in 0..<src.channels {
                    let p = src.pixels + c * plane
                    let v: Double
                    switch filter {
                    case .bilinear:
                        let x0 = xclip(x), x1 = xclip(x + 1)
                        @inline(__always) func lerp(_ row: UnsafeMutablePointer<UInt8>) -> Double {
                            Double(row[x0]) + Double(Int(row[x1]) - Int(row[x0])) * dx
                        }
                        let v1 = lerp(p + (y < 0 ? 0 : y < h ? y : h - 1) * w)
                        let v2 = y + 1 >= 0 && y + 1 < h ? lerp(p + (y + 1) * w) : v1
                        v = v1 + (v2 - v1) * dy
                        dst.pixels[c * dst.plane + o] = UInt8(v)
                    case .bicubic:
                        let xs = x - 1, ys = y - 1
                        let x0 = xclip(xs), x1 = xclip(xs + 1), x2 = xclip(xs + 2), x3 = xclip(xs + 3)
                        @inline(__always) func row(_ r: UnsafeMutablePointer<UInt8>) -> Double {
                            cubic(Int(r[x0]), Int(r[x1]), Int(r[x2]), Int(r[x3]), dx)
                        }
                        let v1 = row(p + (ys < 0 ? 0 : ys < h ? ys : h - 1) * w)
                        let v2 = ys + 1 >= 0 && ys + 1 < h ? row(p + (ys + 1) * w) : v1
                        let v3 = ys + 2 >= 0 && ys + 2 < h ? row(p + (ys + 2) * w) : v2
                        let v4 = ys + 3 >= 0 && ys + 3 < h ? row(p + (ys + 3) * w) : v3
                        v = cubic(v1, v2, v3, v4, dy)
                        dst.pixels[c * dst.plane + o] = v <= 0 ? 0 : v >= 255 ? 255 : UInt8(v)
                    }
                }
            }
        }
    }

    /// Geometry.c's BICUBIC (a = −1) on four integer samples.
    @inline(__always)
    static func cubic(_ v1: Int, _ v2: Int, _ v3: Int, _ v4: Int, _ d: Double) -> Double {
        let p1 = Double(v2), p2 = Double(-v1 + v3), p3 = Double(2 * (v1 - v2) + v3 - v4), p4 = Double(-v1 + v2 - v3 + v4)
        return p1 + d * (p2 + d * (p3 + d * p4))
    }

    /// The same on four interpolated rows.
    @inline(__always)
    static func cubic(_ v1: Double, _ v2: Double, _ v3: Double, _ v4: Double, _ d: Double) -> Double {
        let p1 = v2, p2 = -v1 + v3, p3 = 2 * (v1 - v2) + v3 - v4, p4 = -v1 + v2 - v3 + v4
        return p1 + d * (p2 + d * (p3 + d * p4))
    }

    /// `img.rotate(degrees, resample, fillcolor=fill)` (counter-clockwise, about the centre, same size): exact
    /// quarter turns are transposes (90/270 only for square pictures, as Pillow), anything else the affine map.
    public static func rotate(_ src: PlanarImage, into dst: PlanarImage, degrees: Double, filter: ResampleFilter,
                              fill: [UInt8]) {
        var angle = fmod(degrees, 360)
        if angle < 0 { angle += 360 }  // Python's float %
        let w = src.width, h = src.height
        if angle == 0 { dst.copy(from: src); return }
        if angle == 180 || ((angle == 90 || angle == 270) && w == h) {
            for c in 0..<src.channels {
                let s = src.plane(c), d = dst.plane(c)
                for y in 0..<h {
                    for x in 0..<w {
                        let (tx, ty) = angle == 180 ? (w - 1 - x, h - 1 - y) : angle == 90 ? (y, w - 1 - x) : (h - 1 - y, x)
                        d[ty * w + tx] = s[y * w + x]
                    }
                }
            }
            return
        }
        let a = -(angle * (Double.pi / 180))
        // Pillow rounds the matrix to 15 decimals
        func r15(_ v: Double) -> Double { (v * 1e15).rounded(.toNearestOrEven) / 1e15 }
        var m = AffineMatrix(a: r15(cos(a)), b: r15(sin(a)), c: 0, d: r15(-sin(a)), e: r15(cos(a)), f: 0)
        let cx = Double(w) / 2, cy = Double(h) / 2
        m.c = m.a * -cx + m.b * -cy + m.c + cx
        m.f = m.d * -cx + m.e * -cy + m.f + cy
        affine(src, into: dst, matrix: m, filter: filter, fill: fill)
    }
}

/// The six coefficients of Pillow's `Image.AFFINE` data (a, b, c, d, e, f): output → input coordinates.
public struct AffineMatrix: Sendable, Equatable {
    /// The affine map's coefficients, as Pillow's `Image.transform(AFFINE, data)`: a source pixel (a·x + b·y + c, d·x +
    /// e·y + f) for each output pixel (x, y).
    public var a, b, c, d, e, f: Double
    /// A map with these coefficients.
    public init(a: Double, b: Double, c: Double, d: Double, e: Double, f: Double) {
        self.a = a; self.b = b; self.c = c; self.d = d; self.e = e; self.f = f
    }
}
