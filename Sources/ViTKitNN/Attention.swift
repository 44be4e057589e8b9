import Foundation
import ViTKitCore

/// Multi-head self-attention core: softmax(scale · Q Kᵀ) V per (batch, head), from a fused qkv tensor.
///
/// qkv is [B × T × 3D] as nn.Linear(D, 3D) writes it: columns [0, D) are Q, [D, 2D) K, [2D, 3D) V, and head h
/// owns columns h·hd ..< (h+1)·hd of each. The attention matrix is never stored, as in FlashAttention: forward
/// keeps the row log-sum-exp, backward recomputes P from Q and K. Both walk each (batch, head) block in tiles of
/// `rowBlock(tokens:)` query rows against all keys: the softmax of a whole row is exact in one pass (no running
/// rescale is needed while a row fits), dK and dV accumulate over the tiles, and the memory a thread needs is a
/// fixed budget, whatever the tokens. The budget is sized for the BLAS calls on a tile, not for the L2 cache: a
/// tile's scores are read a few times at 128 FLOP per float, which the L3 feeds easily, while each call re-packs
/// K or V, so taller tiles amortise the packing (256 rows against 64 made attention backward 5-8 % faster at 1024
/// tokens on a 1 MiB-L2 Zen 4 core, docs/long-attention/). Tile rows are padded to 16 floats (64 bytes).
/// (batch, head) blocks are handed out one at a time to whichever thread is free; each is computed by one thread
/// in a fixed order, so the numbers do not depend on the thread count or on scheduling.
package enum Attention {
    /// Score floats per tile: two tiles (P and dP) of 256 Ki floats, 2 MiB per thread (tests change it).
    package nonisolated(unsafe) static var tileFloats = 1 << 18

    /// Query rows per tile at `t` tokens: all of them when the T × T scores fit the budget, else a multiple of 16.
    package static func rowBlock(tokens t: Int) -> Int {
        if t * rowStride(tokens: t) <= tileFloats { return max(t, 1) }
        return max(16, tileFloats / rowStride(tokens: t) / 16 * 16)
    }

    /// Floats between two rows of a score tile: tokens rounded up to 16, so that every row starts on a cache line.
    package static func rowStride(tokens t: Int) -> Int { (t + 15) / 16 * 16 }

    /// Scratch floats each pool thread needs: two tiles.
    package static func scratchPerThread(tokens t: Int) -> Int { 2 * rowBlock(tokens: t) * rowStride(tokens: t) }

    /// out: [B × T × D] (heads concatenated), lse: [B × H × T], qkv: [B × T × 3D]. With `dropout`, timm's
    /// `attn_drop` on the attention weights: out = (P ⊙ M) V, M drawn at `site` over element (h·T + i)·T + j of each sample.
    package static func forward(_ pool: ThreadPool, out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>,
                               qkv: UnsafePointer<Float>, batch: Int, tokens t: Int, dim: Int, heads: Int,
                               scratch: UnsafeMutablePointer<Float>, dropout: KeyedDropout? = nil, site: UInt32 = 0) {
        let timer = LayerProfiler.begin(); defer { LayerProfiler.end(.attentionForward, timer) }
        pool.run(tasks: Forward(out: out, lse: lse, qkv: qkv, batch: batch, t: t, dim: dim, heads: heads, scratch: scratch,
                                dropout: dropout, site: site))
    }

    /// One (batch, head) block per task, tile by tile: S = scale·Q_tile Kᵀ, its softmax, O_tile = P V.
    struct Forward: ParallelTaskJob {
        let out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>
        let batch: Int, t: Int, dim: Int, heads: Int, scratch: UnsafeMutablePointer<Float>
        let dropout: KeyedDropout?, site: UInt32
        var taskCount: Int { batch * heads }

        func run(task bh: Int, thread th: Int) {
            let hd = dim / heads, ld = 3 * dim, br = rowBlock(tokens: t), ls = rowStride(tokens: t)
            let scale = 1 / Float(hd).squareRoot()
            let s = scratch + th * scratchPerThread(tokens: t)
            let b = bh / heads, h = bh % heads
            let q = qkv + b * t * ld + h * hd, k = q + dim, v = q + 2 * dim
            let rowScale = s + br * ls  // the second tile's room, unused in forward: 1 / Σ_j exp per row
            for i0 in stride(from: 0, to: t, by: br) {
                let rows = min(br, t - i0), o = out + (b * t + i0) * dim + h * hd
                BLAS.gemm(transB: true, m: rows, n: t, k: hd, alpha: scale, a: q + i0 * ld, lda: ld, b: k, ldb: ld, c: s, ldc: ls)
                for i in 0..<rows {
                    let (logSum, sum) = expRow(s + i * ls, t)
                    lse[bh * t + i0 + i] = logSum
                    rowScale[i] = 1 / sum
                    if let dropout { dropout.applyRow(s + i * ls, t, sample: b, site: site, first: (h * t + i0 + i) * t) }
                }
                // O = softmax(S) V as (exp(S − max) V) / Σ exp: the division moves from T floats a row to hd
                BLAS.gemm(m: rows, n: hd, k: t, a: s, lda: ls, b: v, ldb: ld, c: o, ldc: dim)
                for i in 0..<rows { Kernels.scale(o + i * dim, rowScale[i], hd) }
            }
        }
    }

    /// dqkv: [B × T × 3D] (written); out and dout: [B × T × D], the forward output and its gradient; qkv and lse as
    /// saved by forward.
    package static func backward(_ pool: ThreadPool, dqkv: UnsafeMutablePointer<Float>, out: UnsafePointer<Float>,
                                dout: UnsafePointer<Float>, qkv: UnsafePointer<Float>, lse: UnsafePointer<Float>,
                                batch: Int, tokens t: Int, dim: Int, heads: Int, scratch: UnsafeMutablePointer<Float>,
                                dropout: KeyedDropout? = nil, site: UInt32 = 0) {
        let timer = LayerProfiler.begin(); defer { LayerProfiler.end(.attentionBackward, timer) }
        pool.run(tasks: Backward(dqkv: dqkv, out: out, dout: dout, qkv: qkv, lse: lse, batch: batch, t: t, dim: dim,
                                 heads: heads, scratch: scratch, dropout: dropout, site: site))
    }

    /// Per (batch, head), tile by tile of query rows: recompute P, then dV += Pᵀ dO, dP = dO Vᵀ,
    /// dS = P ⊙ (dP − δ) with δ_i = dO_i · O_i (= rowsum(P ⊙ dP), FlashAttention's identity, one pass fewer),
    /// dQ = scale·dS K, dK += scale·dSᵀ Q. With dropout, Pd = P ⊙ M stands for P in dV, and dP = (dO Vᵀ) ⊙ M;
    /// δ is unchanged (O = Pd V) and the softmax backward still uses P.
    struct Backward: ParallelTaskJob {
        let dqkv: UnsafeMutablePointer<Float>, out: UnsafePointer<Float>, dout: UnsafePointer<Float>
        let qkv: UnsafePointer<Float>, lse: UnsafePointer<Float>, batch: Int, t: Int, dim: Int, heads: Int, scratch: UnsafeMutablePointer<Float>
        let dropout: KeyedDropout?, site: UInt32
        var taskCount: Int { batch * heads }

        func run(task bh: Int, thread th: Int) {
            let hd = dim / heads, ld = 3 * dim, br = rowBlock(tokens: t), ls = rowStride(tokens: t)
            let scale = 1 / Float(hd).squareRoot()
            let p = scratch + th * scratchPerThread(tokens: t), dp = p + br * ls
            let b = bh / heads, h = bh % heads
            let q = qkv + b * t * ld + h * hd, k = q + dim, v = q + 2 * dim
            let dq = dqkv + b * t * ld + h * hd, dk = dq + dim, dv = dq + 2 * dim
            for i0 in stride(from: 0, to: t, by: br) {
                let rows = min(br, t - i0), accumulate: Float = i0 == 0 ? 0 : 1
                let dO = dout + (b * t + i0) * dim + h * hd, o = out + (b * t + i0) * dim + h * hd, qi = q + i0 * ld
                BLAS.gemm(transB: true, m: rows, n: t, k: hd, alpha: scale, a: qi, lda: ld, b: k, ldb: ld, c: p, ldc: ls)
                for i in 0..<rows { expShifted(p + i * ls, lse[bh * t + i0 + i], t) }
                BLAS.gemm(transB: true, m: rows, n: t, k: hd, a: dO, lda: dim, b: v, ldb: ld, c: dp, ldc: ls)
                for i in 0..<rows {
                    let pi = p + i * ls, dpi = dp + i * ls, first = (h * t + i0 + i) * t
                    dropout?.applyRow(dpi, t, sample: b, site: site, first: first)
                    softmaxBackwardRow(dpi, pi, Kernels.dot(dO + i * dim, o + i * dim, hd), t)
                    dropout?.applyRow(pi, t, sample: b, site: site, first: first)
                }
                BLAS.gemm(transA: true, m: t, n: hd, k: rows, a: p, lda: ls, b: dO, ldb: dim, beta: accumulate, c: dv, ldc: ld)
                BLAS.gemm(m: rows, n: hd, k: t, alpha: scale, a: dp, lda: ls, b: k, ldb: ld, c: dq + i0 * ld, ldc: ld)
                BLAS.gemm(transA: true, m: t, n: hd, k: rows, alpha: scale, a: dp, lda: ls, b: qi, ldb: ld, beta: accumulate,
                          c: dk, ldc: ld)
            }
        }
    }

    /// Softmax of x[0..<n] in place; returns log Σ exp(x).
    @inline(__always)
    package static func softmaxRow(_ x: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
        let (logSum, sum) = expRow(x, n)
        Kernels.scale(x, 1 / sum, n)
        return logSum
    }

    /// x[i] = exp(x[i] − max x) in place; returns log Σ exp(x) and Σ exp(x − max x).
    @inline(__always)
    static func expRow(_ x: UnsafeMutablePointer<Float>, _ n: Int) -> (logSum: Float, sum: Float) {
        var mx = -Float.infinity, i = 0
        if n >= 8 {
            var mv = load8(x)
            i = 8
            while i + 8 <= n { let a = load8(x + i); mv.replace(with: a, where: mv .< a); i += 8 }
            mx = hmax(mv)
        }
        while i < n { mx = max(mx, x[i]); i += 1 }
        let m8 = F8(repeating: mx)
        var acc = F8(); i = 0
        while i + 8 <= n { let e = vexp(load8(x + i) - m8); store8(x + i, e); acc += e; i += 8 }
        var s = acc.sum()
        while i < n { let e = sexp(x[i] - mx); x[i] = e; s += e; i += 1 }
        return (mx + Foundation.log(s), s)
    }

    /// x[i] = exp(x[i] - shift)
    @inline(__always)
    static func expShifted(_ x: UnsafeMutablePointer<Float>, _ shift: Float, _ n: Int) {
        let s8 = F8(repeating: shift)
        var i = 0
        while i + 8 <= n { store8(x + i, vexp(load8(x + i) - s8)); i += 8 }
        while i < n { x[i] = sexp(x[i] - shift); i += 1 }
    }

    /// dp[i] = p[i] · (dp[i] − delta), delta = Σ_j p[j] dp[j]: the gradient through a softmax row, in place.
    @inline(__always)
    static func softmaxBackwardRow(_ dp: UnsafeMutablePointer<Float>, _ p: UnsafePointer<Float>, _ delta: Float, _ n: Int) {
        let d8 = F8(repeating: delta)
        var i = 0
        while i + 8 <= n { store8(dp + i, load8(p + i) * (load8(dp + i) - d8)); i += 8 }
        while i < n { dp[i] = p[i] * (dp[i] - delta); i += 1 }
    }
}
