import ViTKitCore
import ViTKitIO
import ViTKitImaging
import ViTKitNN

/// Every buffer one forward/backward pass needs, allocated once for a batch capacity.
///
/// Saved for backward, per block: the LayerNorm statistics, qkv, the attention rows' log-sum-exp, the attention
/// output, the residual after attention and the fc1 pre-activation. LayerNorm outputs, GELU outputs and the
/// attention matrix are recomputed in backward instead of stored (the attention output is kept: recomputing it
/// was one of the six matrix products of attention's backward). Scratch and gradient buffers are shared by
/// all blocks.
package final class Activations {
    let capacity: Int
    let tokens: Int, dim: Int, hiddenDim: Int, heads: Int, depth: Int

    let cols: AlignedBuffer        // [B·N × C·p·p]
    let patchOut: AlignedBuffer    // [B·N × D], used when there are prefix tokens
    let residuals: AlignedBuffer   // (L+1) × [B·T × D]
    let saved: AlignedBuffer       // L × per-block saved tensors
    let hidden: AlignedBuffer      // [B·T × hidden]: GELU output, then its gradient
    let lnOut: AlignedBuffer       // [B·T × D]: the LayerNorm output a GEMM is about to read
    let finalNorm: AlignedBuffer, finalMean: AlignedBuffer, finalRstd: AlignedBuffer
    let pooled: AlignedBuffer, fcNormOut: AlignedBuffer, fcMean: AlignedBuffer, fcRstd: AlignedBuffer
    let logits: AlignedBuffer, dLogits: AlignedBuffer
    /// A distilled model's two heads' logits [2B × classes] (head, then head_dist) and their gradients.
    let headLogits: AlignedBuffer, dHeadLogits: AlignedBuffer
    let dResid: AlignedBuffer, dTmp: AlignedBuffer
    /// A residual branch's gradient after its drop-path mask [B·T × D].
    let dBranch: AlignedBuffer
    /// MLP backward keeps the GELU derivative here [B·T × hidden], attention backward later dqkv [B·T × 3D]:
    /// never needed at the same time, so they share memory.
    private let sharedGrad: AlignedBuffer
    var geluDerivative: UnsafeMutablePointer<Float> { sharedGrad.pointer }
    var dQKV: UnsafeMutablePointer<Float> { sharedGrad.pointer }
    let dPooled: AlignedBuffer, dPooledNorm: AlignedBuffer
    let threadScratch: AlignedBuffer

    struct Layer {
        let ln1Mean: UnsafeMutablePointer<Float>, ln1Rstd: UnsafeMutablePointer<Float>
        let qkv: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>
        /// [B·T × D]: the attention output (heads concatenated) before proj.
        let attnOut: UnsafeMutablePointer<Float>
        let xMid: UnsafeMutablePointer<Float>
        let ln2Mean: UnsafeMutablePointer<Float>, ln2Rstd: UnsafeMutablePointer<Float>
        let fc1: UnsafeMutablePointer<Float>
    }
    private var layers: [Layer] = []

    init(config c: ViTConfig, capacity b: Int, threads: Int) {
        capacity = b
        tokens = c.numTokens; dim = c.embedDim; hiddenDim = c.mlpHidden; heads = c.numHeads; depth = c.depth
        let rows = b * tokens, d = dim
        cols = AlignedBuffer(count: b * c.numPatches * c.inChans * c.patchSize * c.patchSize)
        patchOut = AlignedBuffer(count: c.numPrefixTokens > 0 ? b * c.numPatches * d : 0)
        residuals = AlignedBuffer(count: (depth + 1) * rows * d)
        let perLayer = rows * d * 5 + rows * hiddenDim + rows * 4 + b * heads * tokens
        saved = AlignedBuffer(count: depth * perLayer)
        hidden = AlignedBuffer(count: rows * hiddenDim)
        lnOut = AlignedBuffer(count: rows * d)
        let needFinal = !c.useFcNorm
        finalNorm = AlignedBuffer(count: needFinal ? rows * d : 0)
        finalMean = AlignedBuffer(count: needFinal ? rows : 0)
        finalRstd = AlignedBuffer(count: needFinal ? rows : 0)
        // a distilled model pools two rows per image: the head's input and the distillation token
        let headRows = c.distilled ? 2 : 1
        pooled = AlignedBuffer(count: headRows * b * d); fcNormOut = AlignedBuffer(count: headRows * b * d)
        fcMean = AlignedBuffer(count: headRows * b); fcRstd = AlignedBuffer(count: headRows * b)
        logits = AlignedBuffer(count: b * c.numClasses); dLogits = AlignedBuffer(count: headRows * b * c.numClasses)
        headLogits = AlignedBuffer(count: c.distilled ? 2 * b * c.numClasses : 0)
        dHeadLogits = AlignedBuffer(count: c.distilled ? 2 * b * c.numClasses : 0)
        dResid = AlignedBuffer(count: rows * d); dTmp = AlignedBuffer(count: rows * d)
        dBranch = AlignedBuffer(count: c.depth > 0 ? rows * d : 0)
        sharedGrad = AlignedBuffer(count: rows * max(hiddenDim, 3 * d))
        dPooled = AlignedBuffer(count: headRows * b * d); dPooledNorm = AlignedBuffer(count: headRows * b * d)
        threadScratch = AlignedBuffer(count: threads * max(Attention.scratchPerThread(tokens: tokens), 2 * d))
        var base = saved.pointer
        func take(_ n: Int) -> UnsafeMutablePointer<Float> { defer { base += n }; return base }
        for _ in 0..<depth {
            layers.append(Layer(ln1Mean: take(rows), ln1Rstd: take(rows), qkv: take(3 * rows * d),
                                lse: take(b * heads * tokens), attnOut: take(rows * d), xMid: take(rows * d),
                                ln2Mean: take(rows), ln2Rstd: take(rows), fc1: take(rows * hiddenDim)))
        }
    }

    /// Floats held, as allocated.
    var floatCount: Int {
        [cols, patchOut, residuals, saved, hidden, lnOut, finalNorm, finalMean, finalRstd, pooled, fcNormOut, fcMean,
         fcRstd, logits, dLogits, headLogits, dHeadLogits, dResid, dTmp, dBranch, sharedGrad, dPooled, dPooledNorm,
         threadScratch].reduce(0) { $0 + $1.count }
    }

    /// The floats `init(config:capacity:threads:)` allocates, without allocating them (the same sizes, kept equal
    /// by a test), so that a batch that cannot fit is refused before any memory is taken.
    static func floatCount(config c: ViTConfig, capacity b: Int, threads: Int) -> Int {
        let rows = b * c.numTokens, d = c.embedDim, hid = c.mlpHidden, heads = c.numHeads, headRows = c.distilled ? 2 : 1
        let final = c.useFcNorm ? 0 : rows * d + 2 * rows
        let perLayer = rows * d * 5 + rows * hid + rows * 4 + b * heads * c.numTokens
        let patches = b * c.numPatches * c.inChans * c.patchSize * c.patchSize + (c.numPrefixTokens > 0 ? b * c.numPatches * d : 0)
        let head = 2 * headRows * b * d + 2 * headRows * b + b * c.numClasses + headRows * b * c.numClasses
            + (c.distilled ? 4 * b * c.numClasses : 0) + 2 * headRows * b * d
        return patches + (c.depth + 1) * rows * d + c.depth * perLayer + rows * hid + rows * d + final + head
            + 2 * rows * d + (c.depth > 0 ? rows * d : 0) + rows * max(hid, 3 * d)
            + threads * max(Attention.scratchPerThread(tokens: c.numTokens), 2 * d)
    }

    @inline(__always) package func resid(_ l: Int) -> UnsafeMutablePointer<Float> {
        residuals.pointer + l * capacity * tokens * dim
    }
    @inline(__always) func layer(_ l: Int) -> Layer { layers[l] }
}
