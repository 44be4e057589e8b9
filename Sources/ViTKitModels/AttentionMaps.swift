import ViTKitCore
import ViTKitIO
import ViTKitImaging
import ViTKitNN

/// What a block's attention does to a given input: the pictures of `vitkit init` (the attention maps that the impulse init shapes).
extension VisionTransformer {
    /// Attention probabilities of block `layer` for the block input `x` ([T × D], the residual stream entering the
    /// block; T may differ from the model's token count): per head softmax(hd^-½ · q kᵀ) with q, k from the block's
    /// own norm1 and qkv (biases included). Returns [heads × T × T], row i = where query token i looks.
    public func attentionMaps(layer: Int, input x: [Float]) -> [Float] {
        let c = config, d = c.embedDim, hd = d / c.numHeads, t = x.count / d
        precondition(x.count == t * d && (0..<c.depth).contains(layer))
        let blk = blocks[layer], p = params.pointer
        let inp = AlignedBuffer(x), ln = AlignedBuffer(count: t * d), qkv = AlignedBuffer(count: t * 3 * d)
        let mean = AlignedBuffer(count: t), rstd = AlignedBuffer(count: t)
        LayerNorm.forward(pool, out: ln.pointer, mean: mean.pointer, rstd: rstd.pointer, inp: inp.pointer,
                          w: p + blk.norm1w, b: p + blk.norm1b, rows: t, dim: d, eps: c.normEps)
        Linear.forward(pool, out: qkv.pointer, inp: ln.pointer, w: p + blk.qkvw, b: blk.qkvb.map { p + $0 },
                       rows: t, inF: d, outF: 3 * d)
        var maps = [Float](repeating: 0, count: c.numHeads * t * t)
        maps.withUnsafeMutableBufferPointer { m in
            for h in 0..<c.numHeads {
                let s = m.baseAddress! + h * t * t
                BLAS.gemm(transB: true, m: t, n: t, k: hd, alpha: 1 / Float(hd).squareRoot(), a: qkv.pointer + h * hd,
                          lda: 3 * d, b: qkv.pointer + d + h * hd, ldb: 3 * d, c: s, ldc: t)
                for i in 0..<t { _ = Attention.softmaxRow(s + i * t, t) }
            }
        }
        return maps
    }

    /// The position embedding as a block input ([N × D] for the fixed sin-cos one or a learned one that skips the
    /// prefix tokens, [T × D] for a learned one that covers them): the pseudo input whose LayerNorm the impulse
    /// optimisation fits (the block's norm1 supplies the LayerNorm).
    public func positionEmbeddingTokens() throws -> [Float] {
        if let fixed = fixedPosEmbed { return fixed.array }
        guard let pe = parameter("pos_embed") else {
            throw ViTKitError("the model has no position embedding, so it has no pseudo input to show maps for")
        }
        return Array(pe)
    }

    /// The input of block `layer` when the model sees `image` ([C × H × W], normalised): the residual stream after
    /// the patch embedding and blocks 0..<layer, [T × D] (prefix tokens first).
    public func blockInput(layer: Int, image: [Float]) -> [Float] {
        let c = config
        precondition(image.count == c.inChans * c.imgSize * c.width && (0..<c.depth).contains(layer))
        image.withUnsafeBufferPointer { _ = forward(images: $0.baseAddress!, batch: 1) }
        return Array(UnsafeBufferPointer(start: acts!.resid(layer), count: c.numTokens * c.embedDim))
    }
}
