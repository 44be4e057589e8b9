import Foundation
import ViTKitCore

/// Multi-head self-attention core: softmax(scale · Q Kᵀ) V per (batch, head), from a fused qkv tensor.
///
/// qkv is [B × T × 3D] as nn.Linear(D, 3D) writes it: columns [0, D) are Q, [D, 2D) K, [2D, 3D) V, and head h
/// owns columns h·hd ..< (h+1)·hd of each. The attention matrix is never stored: forward keeps the row
/// log-sum-exp, backward recomputes P from Q, K (as flash attention does), so memory is O(T²) per thread.
package enum Attention {
    /// Scratch floats each pool thread needs.
    package static func scratchPerThread(tokens t: Int) -> Int { 2 * t * t }

    /// out: [B × T × D] (heads concatenated), lse: [B × H × T], qkv: [B × T × 3D]. With `dropout`, timm's
    /// `attn_drop` on the attention weights: out = (P ⊙ M) V, M drawn at `site` over element (h·T + i)·T + j of each sample.
    package static func forward(_ pool: ThreadPool, out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>,
                               qkv: UnsafePointer<Float>, batch: Int, tokens t: Int, dim: Int, heads: Int,
                               scratch: UnsafeMutablePointer<Float>, dropout: KeyedDropout? = nil, site: UInt32 = 0) {
        let timer = LayerProfiler.begin(); defer { LayerProfiler.end(.attentionForward, timer) }
        pool.run(Forward(out: out, lse: lse, qkv: qkv, batch: batch, t: t, dim: dim, heads: heads, scratch: scratch,
                         dropout: dropout, site: site))
    }

    /// (batch, head) pairs split across threads; each thread's S = scale·Q Kᵀ lives in its own scratch.
    struct Forward: ParallelJob {
        let out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>
        let batch: Int, t: Int, dim: Int, heads: Int, scratch: UnsafeMutablePointer<Float>
        let dropout: KeyedDropout?, site: UInt32

        func run(thread th: Int, of threads: Int) {
            let hd = dim / heads, ld = 3 * dim
            let scale = 1 / Float(hd).squareRoot()
            let s = scratch + th * scratchPerThread(tokens: t)
            for bh in ThreadPool.chunk(batch * heads, part: th, of: threads) {
                let b = bh / heads, h = bh % heads
                let q = qkv + b * t * ld + h * hd, k = q + dim, v = q + 2 * dim
                BLAS.gemm(transB: true, m: t, n: t, k: hd, alpha: scale, a: q, lda: ld, b: k, ldb: ld, c: s, ldc: t)
                for i in 0..<t { lse[bh * t + i] = softmaxRow(s + i * t, t) }
                if let dropout { dropout.applyRow(s, t * t, sample: b, site: site, first: h * t * t) }
                BLAS.gemm(m: t, n: hd, k: t, a: s, lda: t, b: v, ldb: ld, c: out + b * t * dim + h * hd, ldc: dim)
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
        pool.run(Backward(dqkv: dqkv, out: out, dout: dout, qkv: qkv, lse: lse, batch: batch, t: t, dim: dim, heads: heads,
                          scratch: scratch, dropout: dropout, site: site))
    }

    /// Per (batch, head): recompute P, then dV = Pᵀ dO, dP = dO Vᵀ, dS = P ⊙ (dP − rowsum(P ⊙ dP)),
    /// dQ = scale·dS K, dK = scale·dSᵀ Q. With dropout, Pd = P ⊙ M stands for P in dV and the output, and
    /// dP = (dO Vᵀ) ⊙ M; the softmax backward still uses P.
    struct Backward: ParallelJob {
        let dqkv: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>
        let qkv: UnsafePointer<Float>, lse: UnsafePointer<Float>, batch: Int, t: Int, dim: Int, heads: Int, scratch: UnsafeMutablePointer<Float>
        let dropout: KeyedDropout?, site: UInt32

        func run(thread th: Int, of threads: Int) {
            let hd = dim / heads, ld = 3 * dim
            let scale = 1 / Float(hd).squareRoot()
            let p = scratch + th * scratchPerThread(tokens: t), dp = p + t * t
            for bh in ThreadPool.chunk(batch * heads, part: th, of: threads) {
                let b = bh / heads, h = bh % heads
                let q = qkv + b * t * ld + h * hd, k = q + dim, v = q + 2 * dim
                let dq = dqkv + b * t * ld + h * hd, dk = dq + dim, dv = dq + 2 * dim
                let dO = dout + b * t * dim + h * hd
                BLAS.gemm(transB: true, m: t, n: t, k: hd, alpha: scale, a: q, lda: ld, b: k, ldb: ld, c: p, ldc: t)
                for i in 0..<t { expShifted(p + i * t, lse[bh * t + i], t) }
                BLAS.gemm(transB: true, m: t, n: t, k: hd, a: dO, lda: dim, b: v, ldb: ld, c: dp, ldc: t)
                if let dropout {
                    dropout.applyRow(dp, t * t, sample: b, site: site, first: h * t * t)
                    for i in 0..<t { softmaxBackwardRow(dp + i * t, p + i * t, t) }
                    dropout.applyRow(p, t * t, sample: b, site: site, first: h * t * t)
                }
                if let out { BLAS.gemm(m: t, n: hd, k: t, a: p, lda: t, b: v, ldb: ld, c: out + b * t * dim + h * hd, ldc: dim) }
                BLAS.gemm(transA: true, m: t, n: hd, k: t, a: p, lda: t, b: dO, ldb: dim, c: dv, ldc: ld)
                if dropout == nil { for i in 0..<t { softmaxBackwardRow(dp + i * t, p + i * t, t) } }
                BLAS.gemm(m: t, n: hd, k: t, alpha: scale, a: dp, lda: t, b: k, ldb: ld, c: dq, ldc: ld)
                BLAS.gemm(transA: true, m: t, n: hd, k: t, alpha: scale, a: dp, lda: t, b: q, ldb: ld, c: dk, ldc: ld)
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
