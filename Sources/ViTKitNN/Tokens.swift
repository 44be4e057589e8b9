import ViTKitCore

/// Token assembly: the prefix tokens (class, registers) in front of the patch embeddings, plus the position
/// embedding, as timm's `VisionTransformer._pos_embed`.
///
/// B images, N patches, P prefix tokens (class token, distillation token, then registers; each optional),
/// T = P + N, D dims:
///   x0[b] = [cls, dist, reg₁…reg_R, patches[b]] + pe      x0: [B × T × D], patches: [B × N × D]
/// `pe` covers the patch rows only (`no_embed_class`, [N × D]) or every row ([T × D]); nil for none.
package enum TokenEmbed {
    package static func forward(x0: UnsafeMutablePointer<Float>, patches: UnsafePointer<Float>, cls: UnsafePointer<Float>?,
                                dist: UnsafePointer<Float>? = nil, reg: UnsafePointer<Float>?, regTokens: Int, pe: UnsafePointer<Float>?,
                                peCoversPrefix: Bool, batch: Int, patchCount n: Int, dim d: Int) {
        let r0 = (cls != nil ? 1 : 0) + (dist != nil ? 1 : 0), pre = r0 + (reg != nil ? regTokens : 0), tk = pre + n
        for b in 0..<batch {
            let xb = x0 + b * tk * d
            if pre > 0 { (xb + pre * d).update(from: patches + b * n * d, count: n * d) }
            if let cls { xb.update(from: cls, count: d) }
            if let dist { (xb + (cls != nil ? d : 0)).update(from: dist, count: d) }
            if let reg { (xb + r0 * d).update(from: reg, count: regTokens * d) }
            if let pe {
                if peCoversPrefix { Kernels.add(xb, pe, tk * d) } else { Kernels.add(xb + pre * d, pe, n * d) }
            }
        }
    }

    /// The gradients of `forward` from dx0 [B × T × D]: each one nil where the forward had no such input. The
    /// prefix and position gradients are sums over the batch, in batch order; dPatches gets the patch rows.
    package static func backward(dPatches: UnsafeMutablePointer<Float>?, dCls: UnsafeMutablePointer<Float>?,
                                 dDist: UnsafeMutablePointer<Float>? = nil, dReg: UnsafeMutablePointer<Float>?, regTokens: Int,
                                 dPe: UnsafeMutablePointer<Float>?, peCoversPrefix: Bool, dx0: UnsafePointer<Float>, batch: Int,
                                 patchCount n: Int, dim d: Int) {
        let r0 = (dCls != nil ? 1 : 0) + (dDist != nil ? 1 : 0), pre = r0 + (dReg != nil ? regTokens : 0), tk = pre + n
        if let dCls {
            dCls.update(repeating: 0, count: d)
            for b in 0..<batch { Kernels.add(dCls, dx0 + b * tk * d, d) }
        }
        if let dDist {
            let at = dCls != nil ? 1 : 0
            dDist.update(repeating: 0, count: d)
            for b in 0..<batch { Kernels.add(dDist, dx0 + (b * tk + at) * d, d) }
        }
        if let dReg {
            let cnt = regTokens * d
            dReg.update(repeating: 0, count: cnt)
            for b in 0..<batch { Kernels.add(dReg, dx0 + (b * tk + r0) * d, cnt) }
        }
        if let dPe {
            let first = peCoversPrefix ? 0 : pre, cnt = (tk - first) * d
            dPe.update(repeating: 0, count: cnt)
            for b in 0..<batch { Kernels.add(dPe, dx0 + (b * tk + first) * d, cnt) }
        }
        if let dPatches, pre > 0 {
            for b in 0..<batch { (dPatches + b * n * d).update(from: dx0 + (b * tk + pre) * d, count: n * d) }
        }
    }
}

/// Pooling before the head, as timm's `VisionTransformer.pool`: the class token (`token`), or the mean of the
/// patch tokens (`avg`, prefix tokens left out). A distilled model's `head_dist` input, its distillation token,
/// follows in rows B..<2B.
///
///   out[b] = x[b, 0]  or  mean over t in P..<T of x[b, t]      x: [B × T × D], out: [B × D]
///   out[B + b] = x[b, distToken]                               (distilled: out [2B × D])
package enum TokenPool {
    package static func forward(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, firstToken: Bool, batch: Int,
                                tokens tk: Int, prefix pre: Int, dim d: Int, distToken: Int? = nil) {
        for b in 0..<batch {
            let dst = out + b * d, src = x + b * tk * d
            if firstToken { dst.update(from: src, count: d) } else { Kernels.meanOfRows(dst, src + pre * d, rows: tk - pre, cols: d) }
            if let distToken { (out + (batch + b) * d).update(from: src + distToken * d, count: d) }
        }
    }

    /// dx [B × T × D] from dout [B × D] (distilled: [2B × D]): written whole (zeros where the pooling did not read).
    package static func backward(dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, firstToken: Bool, batch: Int,
                                 tokens tk: Int, prefix pre: Int, dim d: Int, distToken: Int? = nil) {
        dx.update(repeating: 0, count: batch * tk * d)
        let n = tk - pre
        for b in 0..<batch {
            let src = dout + b * d, dst = dx + b * tk * d
            if firstToken {
                dst.update(from: src, count: d)
            } else {
                for t in pre..<tk {
                    (dst + t * d).update(from: src, count: d)
                    Kernels.scale(dst + t * d, 1 / Float(n), d)
                }
            }
            if let distToken { Kernels.add(dst + distToken * d, dout + (batch + b) * d, d) }
        }
    }
}
