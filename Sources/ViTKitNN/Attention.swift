import Foundation
import ViTKitCore

/// Multi-head self-attention core: softmax(scale · Q Kᵀ) V per (batch, head), from a fused qkv tensor.
///
/// qkv is [B × T × 3D] as nn.Linear(D, 3D) writes it: columns [0, D) are Q, [D, 2D) K, [2D, 3D) V, and head h
/// owns columns h·hd ..< (h+1)·hd of each. The attention matrix is never stored, as in FlashAttention: forward
/// keeps the row log-sum-exp, backward recomputes P from Q and K. Both walk each (batch, head) block in tiles of
/// `rowBlock(tokens:)` query rows against all keys, sized so that a tile of scores and one of their gradients stay
/// in the core's L2 cache: the softmax of a whole row is exact in one pass (no running rescale is needed while a
/// row fits), dK and dV accumulate over the tiles, and the memory a thread needs is linear in tokens.
/// (batch, head) blocks are handed out one at a time to whichever thread is free; each is computed by one thread
/// in a fixed order, so the numbers do not depend on the thread count or on scheduling.
package enum Attention {
    /// Score floats per tile the L2 budget allows: two tiles (P and dP) of 64 Ki floats, 512 KiB (tests change it).
    package nonisolated(unsafe) static var tileFloats = 1 << 16

    /// Query rows per tile at `t` tokens: all of them when the T × T scores fit the budget, else a multiple of 8.
    package static func rowBlock(tokens t: Int) -> Int {
        if t * t <= tileFloats { return max(t, 1) }
        return max(8, tileFloats / t / 8 * 8)
    }

    /// Scratch floats each pool thread needs: two tiles.
    package static func scratchPerThread(tokens t: Int) -> Int { 2 * rowBlock(tokens: t) * t }

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
            let hd = dim / heads, ld = 3 * dim, br = rowBlock(tokens: t)
            let scale = 1 / Float(hd).squareRoot()
            let s = scratch + th * scratchPerThread(tokens: t)
            let b = bh / heads, h = bh % heads
            let q = qkv + b * t * ld + h * hd, k = q + dim, v = q + 2 * dim
            for i0 in stride(from: 0, to: t, by: br) {
                let rows = min(br, t - i0)
                BLAS.gemm(transB: true, m: rows, n: t, k: hd, alpha: scale, a: q + i0 * ld, lda: ld, b: k, ldb: ld, c: s, ldc: t)
                for i in 0..<rows { lse[bh * t + i0 + i] = softmaxRow(s + i * t, t) }
                if let dropout { dropout.applyRow(s, rows * t, sample: b, site: site, first: (h * t + i0) * t) }
                BLAS.gemm(m: rows, n: hd, k: t, a: s, lda: t, b: v, ldb: ld, c: out + (b * t + i0) * dim + h * hd, ldc: dim)
            }
        }
    }

    /// dqkv: [B × T × 3D] (written); dout: [B × T × D]; qkv and lse as saved by forward. When `out` is given, the
    /// forward output [B × T × D] is written there again from the recomputed attention (so it need not be kept).
    package static func backward(_ pool: ThreadPool, dqkv: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>? = nil,
                                dout: UnsafePointer<Float>, qkv: UnsafePointer<Float>, lse: UnsafePointer<Float>,
                                batch: Int, tokens t: Int, dim: Int, heads: Int, scratch: UnsafeMutablePointer<Float>,
                                dropout: KeyedDropout? = nil, site: UInt32 = 0) {
        let timer = LayerProfiler.begin(); defer { LayerProfiler.end(.attentionBackward, timer) }
        pool.run(tasks: Backward(dqkv: dqkv, out: out, dout: dout, qkv: qkv, lse: lse, batch: batch, t: t, dim: dim,
                                 heads: heads, scratch: scratch, dropout: dropout, site: site))
    }

    /// Per (batch, head), tile by tile of query rows: recompute P, then dV += Pᵀ dO, dP = dO Vᵀ,
    /// dS = P ⊙ (dP − rowsum(P ⊙ dP)), dQ = scale·dS K, dK += scale·dSᵀ Q. With dropout, Pd = P ⊙ M stands for P
    /// in dV and the output, and dP = (dO Vᵀ) ⊙ M; the softmax backward still uses P.
    struct Backward: ParallelTaskJob {
        let dqkv: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>
        let qkv: UnsafePointer<Float>, lse: UnsafePointer<Float>, batch: Int, t: Int, dim: Int, heads: Int, scratch: UnsafeMutablePointer<Float>
        let dropout: KeyedDropout?, site: UInt32
        var taskCount: Int { batch * heads }

        func run(task bh: Int, thread th: Int) {
            let hd = dim / heads, ld = 3 * dim, br = rowBlock(tokens: t)
            let scale = 1 / Float(hd).squareRoot()
            let p = scratch + th * scratchPerThread(tokens: t), dp = p + br * t
            let b = bh / heads, h = bh % heads
            let q = qkv + b * t * ld + h * hd, k = q + dim, v = q + 2 * dim
            let dq = dqkv + b * t * ld + h * hd, dk = dq + dim, dv = dq + 2 * dim
            for i0 in stride(from: 0, to: t, by: br) {
                let rows = min(br, t - i0), accumulate: Float = i0 == 0 ? 0 : 1
                let dO = dout + (b * t + i0) * dim + h * hd, qi = q + i0 * ld
                BLAS.gemm(transB: true, m: rows, n: t, k: hd, alpha: scale, a: qi, lda: ld, b: k, ldb: ld, c: p, ldc: t)
                for i in 0..<rows { expShifted(p + i * t, lse[bh * t + i0 + i], t) }
                BLAS.gemm(transB: true, m: rows, n: t, k: hd, a: dO, lda: dim, b: v, ldb: ld, c: dp, ldc: t)
                if let dropout {
                    let first = (h * t + i0) * t
                    dropout.applyRow(dp, rows * t, sample: b, site: site, first: first)
                    for i in 0..<rows { softmaxBackwardRow(dp + i * t, p + i * t, t) }
                    dropout.applyRow(p, rows * t, sample: b, site: site, first: first)
                }
                if let out {
                    BLAS.gemm(m: rows, n: hd, k: t, a: p, lda: t, b: v, ldb: ld, c: out + (b * t + i0) * dim + h * hd, ldc: dim)
                }
                BLAS.gemm(transA: true, m: t, n: hd, k: rows, a: p, lda: t, b: dO, ldb: dim, beta: accumulate, c: dv, ldc: ld)
                if dropout == nil { for i in 0..<rows { softmaxBackwardRow(dp + i * t, p + i * t, t) } }
                BLAS.gemm(m: rows, n: hd, k: t, alpha: scale, a: dp, lda: t, b: k, ldb: ld, c: dq + i0 * ld, ldc: ld)
                BLAS.gemm(transA: true, m: t, n: hd, k: rows, alpha: scale, a: dp, lda: t, b: qi, ldb: ld, beta: accumulate,
                          c: dk, ldc: ld)
            }
        }
    }

    /// Softmax of x[0..<n] in place; returns log Σ exp(x).
    @inline(__always)
    package static func softmaxRow(_ x: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
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
        Kernels.scale(x, 1 / s, n)
        return mx + Foundation.log(s)
    }

    /// x[i] = exp(x[i] - shift)
    @inline(__always)
    static func expShifted(_ x: UnsafeMutablePointer<Float>, _ shift: Float, _ n: Int) {
        let s8 = F8(repeating: shift)
        var i = 0
        while i + 8 <= n { store8(x + i, vexp(load8(x + i) - s8)); i += 8 }
        while i < n { x[i] = sexp(x[i] - shift); i += 1 }
    }

    /// dp[i] = p[i] · (dp[i] − Σ_j p[j] dp[j]): the gradient through a softmax row, in place.
    @inline(__always)
    static func softmaxBackwardRow(_ dp: UnsafeMutablePointer<Float>, _ p: UnsafePointer<Float>, _ n: Int) {
        var acc = F8(), i = 0
        while i + 8 <= n { acc = acc.addingProduct(load8(p + i), load8(dp + i)); i += 8 }
        var dot = acc.sum()
        while i < n { dot += p[i] * dp[i]; i += 1 }
        let d8 = F8(repeating: dot)
        i = 0
        while i + 8 <= n { store8(dp + i, load8(p + i) * (load8(dp + i) - d8)); i += 8 }
        while i < n { dp[i] = p[i] * (dp[i] - dot); i += 1 }
    }
}
