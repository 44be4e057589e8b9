import ViTKitCore

/// Stochastic depth (timm's `DropPath`, `drop_path(x, p, training, scale_by_keep=True)`): each sample's residual
/// branch is kept and scaled by 1/(1 − p), or dropped, by one mask value per sample. Forward and backward are the
/// same per-sample scaling:
///
///   out[b, r] = inp[b, r] · mask[b]       inp, out: [B × R] (R = tokens·dim), mask: [B] ∈ {0, 1/(1 − p)}
package enum DropPath {
    package static func scale(_ pool: ThreadPool, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                              masks: UnsafePointer<Float>, batch: Int, rowSize: Int) {
        pool.run(Scale(out: out, inp: inp, masks: masks, rowSize: rowSize, count: batch * rowSize))
    }

    struct Scale: ParallelRangeJob {
        let out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, masks: UnsafePointer<Float>
        let rowSize: Int, count: Int
        var granule: Int { 64 }
        func run(_ r: Range<Int>) {
            var i = r.lowerBound
            while i < r.upperBound {
                let b = i / rowSize, end = min(r.upperBound, (b + 1) * rowSize), m = masks[b]
                for j in i..<end { out[j] = inp[j] * m }
                i = end
            }
        }
    }

    /// timm's per-block rates: `torch.linspace(0, rate, depth)`.
    package static func rates(_ rate: Double, depth: Int) -> [Double] {
        depth == 1 ? [0] : (0..<depth).map { rate * Double($0) / Double(depth - 1) }
    }
}
