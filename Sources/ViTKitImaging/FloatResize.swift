/// PyTorch's `F.interpolate(mode='bilinear'|'bicubic', antialias=True, align_corners=False)` on float planes: the
/// separable kernels of Pillow's `precompute_coeffs` (support widened by the shrink factor, Keys cubic a = −0.5,
/// weights normalised to sum 1) without Pillow's fixed-point rounding. What timm's `resample_abs_pos_embed` uses
/// to bring a position embedding to another grid.
public enum FloatResize {
    /// Per output index: the first input index and the weights of the inputs it reads.
    static func taps(inSize: Int, outSize: Int, filter: ResampleFilter) -> [(start: Int, weights: [Double])] {
        let scale = Double(inSize) / Double(outSize), filterScale = max(scale, 1)
        let support = filter.support * filterScale
        return (0..<outSize).map { o in
            let center = (Double(o) + 0.5) * scale
            let lo = max(0, Int(center - support + 0.5)), hi = min(inSize, Int(center + support + 0.5))
            var w = (lo..<hi).map { filter.weight((Double($0) - center + 0.5) / filterScale) }
            let total = w.reduce(0, +)
            if total != 0 { w = w.map { $0 / total } }
            return (lo, w)
        }
    }

    /// `values` [height × width × channels] (channels last) resized to [toHeight × toWidth × channels].
    public static func resize(_ values: [Float], height: Int, width: Int, channels: Int, toHeight: Int, toWidth: Int,
                              filter: ResampleFilter = .bicubic) -> [Float] {
        precondition(values.count == height * width * channels)
        let tx = taps(inSize: width, outSize: toWidth, filter: filter), ty = taps(inSize: height, outSize: toHeight, filter: filter)
        // horizontal pass, then vertical, each accumulated in float as torch's kernel does
        var mid = [Float](repeating: 0, count: height * toWidth * channels)
        for y in 0..<height {
            for (x, t) in tx.enumerated() {
                for c in 0..<channels {
                    var v: Float = 0
                    for (k, w) in t.weights.enumerated() { v += Float(w) * values[(y * width + t.start + k) * channels + c] }
                    mid[(y * toWidth + x) * channels + c] = v
                }
            }
        }
        var out = [Float](repeating: 0, count: toHeight * toWidth * channels)
        for (y, t) in ty.enumerated() {
            for x in 0..<toWidth {
                for c in 0..<channels {
                    var v: Float = 0
                    for (k, w) in t.weights.enumerated() { v += Float(w) * mid[((t.start + k) * toWidth + x) * channels + c] }
                    out[(y * toWidth + x) * channels + c] = v
                }
            }
        }
        return out
    }
}
