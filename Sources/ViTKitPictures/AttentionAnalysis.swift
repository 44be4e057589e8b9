import ViTKitCore
import ViTKitImaging
import ViTKitModels
import ViTKitNN

/// What a trained model's heads do on an image: every layer's attention, how far each head looks (the mean
/// attention distance of the ViT paper), attention rollout, and pictures of them over the image.
public enum AttentionAnalysis {
    /// Per head, the mean distance between a query patch and the patches it attends to, in input pixels:
    /// Σⱼ aᵢⱼ·‖pᵢ − pⱼ‖ over patch tokens j (the weights renormalised over patches, prefix tokens left out),
    /// averaged over query patches i. `maps` is [heads × T × T]; the first `prefix` tokens are class/register tokens.
    public static func meanDistance(_ maps: [Float], heads: Int, tokens t: Int, prefix: Int, grid: Int, patch: Int) -> [Float] {
        (0..<heads).map { h in
            var total = 0.0
            for qi in 0..<(grid * grid) {
                let row = h * t * t + (prefix + qi) * t + prefix
                var mass = 0.0, weighted = 0.0
                for kj in 0..<(grid * grid) {
                    let a = Double(maps[row + kj])
                    let dy = Double(qi / grid - kj / grid), dx = Double(qi % grid - kj % grid)
                    mass += a; weighted += a * (dx * dx + dy * dy).squareRoot()
                }
                if mass > 0 { total += weighted / mass }
            }
            return Float(total / Double(grid * grid) * Double(patch))
        }
    }

    /// Attention rollout (Abnar & Zuidema): per layer the heads' mean attention plus the identity (the residual),
    /// rows renormalised, multiplied from the first layer to the last; then the mean of its rows, which is how
    /// much the average query (what average pooling reads out) draws from each input token. Returns [T].
    public static func rolloutOfTheAverageQuery(_ layers: [[Float]], heads: Int, tokens t: Int) -> [Float] {
        var r = [Double](repeating: 0, count: t * t)
        for i in 0..<t { r[i * t + i] = 1 }
        for maps in layers {
            var a = [Double](repeating: 0, count: t * t)
            for h in 0..<heads { for k in 0..<(t * t) { a[k] += Double(maps[h * t * t + k]) } }
            for i in 0..<t {
                var sum = 0.0
                for j in 0..<t { a[i * t + j] = a[i * t + j] / Double(heads) + (i == j ? 1 : 0); sum += a[i * t + j] }
                for j in 0..<t { a[i * t + j] /= sum }
            }
            var next = [Double](repeating: 0, count: t * t)  // a · r: this layer mixes what the earlier ones made
            for i in 0..<t { for k in 0..<t where a[i * t + k] != 0 { for j in 0..<t { next[i * t + j] += a[i * t + k] * r[k * t + j] } } }
            r = next
        }
        return (0..<t).map { j in Float((0..<t).reduce(0.0) { $0 + r[$1 * t + j] } / Double(t)) }
    }

    /// `image` enlarged `scale` times with the grid×grid `values` over it as a heatmap (half and half), coloured from 0
    /// to their largest value; the patch `outline` (row-major) outlined.
    public static func overlay(_ image: RGBImage, values: [Float], grid: Int, scale: Int, outline: Int? = nil) -> RGBImage {
        let w = image.width * scale, h = image.height * scale
        let big = image.resized(width: w, height: h, filter: .bicubic)
        let top = max(values.max() ?? 0, 1e-12)
        var out = big
        for y in 0..<h {
            for x in 0..<w {
                let v = values[(y * grid / h) * grid + x * grid / w]
                let c = Heatmap.color(v / top), p = big[x, y]
                out[x, y] = (UInt8((Int(p.0) + Int(c.0)) / 2), UInt8((Int(p.1) + Int(c.1)) / 2), UInt8((Int(p.2) + Int(c.2)) / 2))
            }
        }
        if let q = outline {
            out.strokeRect(x: q % grid * w / grid, y: q / grid * h / grid, width: w / grid, height: h / grid, color: AttentionPictures.mark)
        }
        return out
    }

    /// distance.png: each head's mean attention distance (a dot per head, coloured by head) over the layers, with
    /// titled axes in pixels; `maxDistance` tops the axis (the farthest two patches can be).
    public static func distancePlot(_ d: [[Float]], maxDistance: Float) -> RGBImage {
        let column = 36, layers = max(d.count, 1)
        let heads = d.map(\.count).max() ?? 0
        var chart = Chart(title: "mean attention distance", xTitle: "layer", yTitle: "distance (px)",
                          plotWidth: max(layers * column, 160), plotHeight: 240, x: -0.5...(Double(layers) - 0.5),
                          xTicks: (0..<layers).map { (Double($0), "\($0)") }, y: 0...Double(maxDistance),
                          yTicks: Chart.ticks(upTo: Double(maxDistance), atMost: 8))
        let colours: [(UInt8, UInt8, UInt8)] = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]
        for (l, values) in d.enumerated() {
            for (h, value) in values.enumerated() {
                let cx = chart.x(Double(l)) + (h - values.count / 2) * 5, cy = chart.y(Double(value))
                for dy in -2...2 { for dx in -2...2 where dx * dx + dy * dy <= 5 { chart.plot(cx + dx, cy + dy, colours[h % colours.count]) } }
            }
        }
        if heads > 0 {
            chart.legend((0..<min(heads, colours.count)).map { (colours[$0], "h\($0)") }, x: chart.left + 4, y: chart.top + 4)
        }
        return chart.image
    }
}

extension VisionTransformer {
    /// Every block's attention on `image` ([C × H × W], normalised): one forward pass, then per block the maps of
    /// `attentionMaps(layer:input:)` on that block's input. [layer][heads × T × T].
    public func attentionMaps(image: [Float]) -> [[Float]] {
        let c = config
        precondition(image.count == c.inChans * c.imgSize * c.imgSize)
        image.withUnsafeBufferPointer { _ = forward(images: $0.baseAddress!, batch: 1) }
        let inputs = (0..<c.depth).map { Array(UnsafeBufferPointer(start: acts!.resid($0), count: c.numTokens * c.embedDim)) }
        return inputs.enumerated().map { attentionMaps(layer: $0.offset, input: $0.element) }
    }
}
