import ViTKitCore
import ViTKitIO
import ViTKitImaging
import ViTKitNN

/// A Vision Transformer with timm's `VisionTransformer` semantics, written llm.c style: every layer a
/// forward/backward pair over raw buffers, parameters and gradients each in one flat buffer with named views.
///
/// Forward (B images, T = prefix + N tokens, D dims, L blocks):
///   patches = im2col(x) Wpᵀ + bp                       [B·N × D]
///   x0 = [cls, reg, patches + pe]  (or + pe after the concat when no_embed_class is false)  [B·T × D]
///   per block: x += proj(attn(LN1(x)));  x += fc2(GELU(fc1(LN2(x))))
///   pooled = avg over patch tokens, or token 0;  LN as `norm` (before pooling) or `fc_norm` (after)
///   logits = pooled Whᵀ + bh                           [B × C]
/// Distilled (timm's `VisionTransformerDistilled`): a `dist_token` joins the prefix, `head_dist` reads it (through
/// the same LN), and logits = (head + head_dist) / 2, or in distilled training both [2B × C].
public final class VisionTransformer: ImageClassifier {
    /// The architecture.
    public let config: ViTConfig
    /// Each tensor's name (timm's state_dict key), shape and offset in `params`.
    public let table: ParameterTable
    /// Every parameter, flat, laid out by `table`.
    public let params: AlignedBuffer
    /// The gradients of the last backward pass, laid out as `params`.
    public let grads: AlignedBuffer
    /// The threads the kernels run on.
    public let pool: ThreadPool
    /// The fixed sin-cos position embedding [N × D], when config.posEmbed is .sincos.
    public let fixedPosEmbed: AlignedBuffer?
    /// Stochastic depth in training (nil: off).
    package var dropPath: DropPathState?
    /// Whether the last forward applied drop-path masks (what backward must follow).
    var lastForwardDropped = false
    /// timm's element dropouts in training (`drop_rate` before the head, `pos_drop_rate` after the position
    /// embedding); nil: off.
    package var dropout: DropoutState?
    /// Whether the last forward applied the dropout masks.
    var lastForwardDropout = false
    /// timm's `attn_drop_rate` and `proj_drop_rate` in training, with masks hashed from per-sample keys; nil: off.
    package var innerDropout: InnerDropoutState?
    /// The inner dropouts the last forward applied (what backward must follow).
    var lastInner: (attn: KeyedDropout?, proj: KeyedDropout?) = (nil, nil)
    /// A distilled model in training returns both heads' logits, [2B × C]: the head's rows, then head_dist's
    /// (timm's `set_distilled_training`); off, it returns their mean, as at evaluation. No effect without a
    /// distillation token.
    public var distilledTraining = false
    /// Whether the last forward returned both heads' logits (what backward takes).
    var lastForwardSplit = false

    struct Block {
        var norm1w = 0, norm1b = 0, qkvw = 0, projw = 0, projb = 0
        /// nil without a qkv bias (`qkv_bias=False`).
        var qkvb: Int?
        var norm2w = 0, norm2b = 0, fc1w = 0, fc1b = 0, fc2w = 0, fc2b = 0
    }
    /// Offsets into `params`; nil where the config has no such tensor.
    var clsToken: Int?, distToken: Int?, regToken: Int?, posEmbed: Int?
    var patchW = 0, patchB = 0
    var blocks: [Block] = []
    /// The final LayerNorm: `norm` before pooling, or `fc_norm` after it (exactly one of them is there).
    var norm: (w: Int, b: Int)?, fcNorm: (w: Int, b: Int)?
    var headW = 0, headB = 0
    /// A distilled model's `head_dist`.
    var headDist: (w: Int, b: Int)?

    package var acts: Activations?

    /// A model of this architecture on `pool`, its parameters zero until `initialize`.
    public init(config: ViTConfig, pool: ThreadPool) throws {
        try config.validate()
        self.config = config
        self.pool = pool
        let d = config.embedDim, c = config
        var t = ParameterTable()
        // timm's VisionTransformer.no_weight_decay() (1.0.31): pos_embed, cls_token, reg_token, dist_token
        if c.classToken { clsToken = t.add("cls_token", [1, 1, d], noWeightDecay: true) }
        if c.distilled { distToken = t.add("dist_token", [1, 1, d], noWeightDecay: true) }
        if c.regTokens > 0 { regToken = t.add("reg_token", [1, c.regTokens, d], noWeightDecay: true) }
        if c.posEmbed == .learn { posEmbed = t.add("pos_embed", [1, c.posEmbedLen, d], noWeightDecay: true) }
        patchW = t.add("patch_embed.proj.weight", [d, c.inChans, c.patchSize, c.patchSize])
        patchB = t.add("patch_embed.proj.bias", [d])
        for i in 0..<c.depth {
            let p = "blocks.\(i)."
            var b = Block()
            b.norm1w = t.add(p + "norm1.weight", [d]); b.norm1b = t.add(p + "norm1.bias", [d])
            b.qkvw = t.add(p + "attn.qkv.weight", [3 * d, d])
            if c.qkvBias { b.qkvb = t.add(p + "attn.qkv.bias", [3 * d]) }
            b.projw = t.add(p + "attn.proj.weight", [d, d]); b.projb = t.add(p + "attn.proj.bias", [d])
            b.norm2w = t.add(p + "norm2.weight", [d]); b.norm2b = t.add(p + "norm2.bias", [d])
            b.fc1w = t.add(p + "mlp.fc1.weight", [c.mlpHidden, d]); b.fc1b = t.add(p + "mlp.fc1.bias", [c.mlpHidden])
            b.fc2w = t.add(p + "mlp.fc2.weight", [d, c.mlpHidden]); b.fc2b = t.add(p + "mlp.fc2.bias", [d])
            blocks.append(b)
        }
        if c.useFcNorm {
            fcNorm = (t.add("fc_norm.weight", [d]), t.add("fc_norm.bias", [d]))
        } else {
            norm = (t.add("norm.weight", [d]), t.add("norm.bias", [d]))
        }
        headW = t.add("head.weight", [c.numClasses, d]); headB = t.add("head.bias", [c.numClasses])
        if c.distilled { headDist = (t.add("head_dist.weight", [c.numClasses, d]), t.add("head_dist.bias", [c.numClasses])) }
        table = t
        params = AlignedBuffer(count: t.count)
        grads = AlignedBuffer(count: t.count)
        if c.posEmbed == .sincos {
            let pe = sincos2DPositionEmbedding(gridHeight: c.gridHeight, gridWidth: c.gridWidth, dim: d)
            let buf = AlignedBuffer(count: pe.count)
            buf.pointer.update(from: pe, count: pe.count)
            fixedPosEmbed = buf
        } else {
            fixedPosEmbed = nil
        }
    }

    /// The config's name.
    public var name: String { config.name }
    /// The architecture, as checkpoints record it.
    public var architecture: ModelConfig { .vit(config) }
    /// Input channels.
    public var inChans: Int { config.inChans }
    /// Input height (and width, for a square input), in pixels.
    public var imgSize: Int { config.imgSize }
    /// Input width, in pixels.
    public var inputWidth: Int { config.width }
    /// Outputs of the head.
    public var numClasses: Int { config.numClasses }
    /// A ViT has no saved state besides its parameters.
    public let stateTable = ParameterTable()
    /// No buffers besides the parameters (a ViT has no BatchNorm).
    public let state = AlignedBuffer(count: 0)

    /// Makes sure activation buffers exist for `batch` images (they are kept and reused for smaller batches).
    public func reserve(batch: Int) {
        if let a = acts, a.capacity >= batch { return }
        acts = Activations(config: config, capacity: batch, threads: pool.threadCount)
    }

    /// The logits of the last forward pass, [batch × classes].
    public var logits: UnsafeMutablePointer<Float> { acts!.logits.pointer }

    // MARK: forward

    /// Runs the model on `images` ([batch × C × H × W], normalised) and returns the logits [batch × classes].
    @discardableResult
    public func forward(images: UnsafePointer<Float>, batch: Int) -> UnsafeMutablePointer<Float> {
        forward(images: images, batch: batch, training: false)
    }

    /// The forward pass; in training, with the drop-path masks of `dropPath` when it is set.
    func forward(images: UnsafePointer<Float>, batch: Int, training: Bool) -> UnsafeMutablePointer<Float> {
        reserve(batch: batch)
        let dropping = training && dropPath != nil
        lastForwardDropped = dropping
        let dropout = training ? self.dropout : nil
        lastForwardDropout = dropout != nil
        let inner = training ? (innerDropout?.attn, innerDropout?.proj) : (nil, nil)
        lastInner = inner
        let (attnDrop, projDrop) = inner
        let a = acts!, c = config, p = params.pointer, pool = pool
        let d = c.embedDim, n = c.numPatches, tk = c.numTokens, pre = c.numPrefixTokens
        let rows = batch * tk, hid = c.mlpHidden, kp = c.inChans * c.patchSize * c.patchSize

        // patch embedding, straight into the token buffer when there are no prefix tokens
        PatchEmbed.im2col(pool, cols: a.cols.pointer, images: images, batch: batch, channels: c.inChans,
                          size: c.imgSize, width: c.width, patch: c.patchSize)
        let x0 = a.resid(0)
        let patchOut = pre == 0 ? x0 : a.patchOut.pointer
        Linear.forward(pool, out: patchOut, inp: a.cols.pointer, w: p + patchW, b: p + patchB,
                       rows: batch * n, inF: kp, outF: d)
        let pe: UnsafePointer<Float>? = posEmbed.map { UnsafePointer(p + $0) } ?? fixedPosEmbed.map { UnsafePointer($0.pointer) }
        TokenEmbed.forward(x0: x0, patches: patchOut, cls: clsToken.map { UnsafePointer(p + $0) },
                           dist: distToken.map { UnsafePointer(p + $0) }, reg: regToken.map { UnsafePointer(p + $0) }, regTokens: c.regTokens, pe: pe,
                           peCoversPrefix: !c.noEmbedClass, batch: batch, patchCount: n, dim: d)
        if let dropout, dropout.posRate > 0 { Kernels.multiply(pool, x0, dropout.posMask.pointer, rows * d) }

        for (l, blk) in blocks.enumerated() {
            let x = a.resid(l), ly = a.layer(l), ln = a.lnOut.pointer
            LayerNorm.forward(pool, out: ln, mean: ly.ln1Mean, rstd: ly.ln1Rstd, inp: x, w: p + blk.norm1w,
                              b: p + blk.norm1b, rows: rows, dim: d, eps: c.normEps)
            Linear.forward(pool, out: ly.qkv, inp: ln, w: p + blk.qkvw, b: blk.qkvb.map { p + $0 },
                           rows: rows, inF: d, outF: 3 * d)
            Attention.forward(pool, out: ly.attnOut, lse: ly.lse, qkv: ly.qkv, batch: batch, tokens: tk, dim: d,
                              heads: c.numHeads, scratch: a.threadScratch.pointer, dropout: attnDrop, site: site(l, 0))
            // x_mid = x + proj(attn)
            Linear.forward(pool, out: ly.xMid, inp: ly.attnOut, w: p + blk.projw, b: p + blk.projb,
                           rows: rows, inF: d, outF: d)
            projDrop?.apply(pool, ly.xMid, batch: batch, perSample: tk * d, site: site(l, 1))
            if dropping { DropPath.scale(pool, out: ly.xMid, inp: ly.xMid, masks: dropPathMask(l, 0), batch: batch, rowSize: tk * d) }
            Kernels.add(ly.xMid, x, rows * d)
            LayerNorm.forward(pool, out: ln, mean: ly.ln2Mean, rstd: ly.ln2Rstd, inp: ly.xMid, w: p + blk.norm2w,
                              b: p + blk.norm2b, rows: rows, dim: d, eps: c.normEps)
            Linear.forward(pool, out: ly.fc1, inp: ln, w: p + blk.fc1w, b: p + blk.fc1b,
                           rows: rows, inF: d, outF: hid)
            GELU.forward(pool, out: a.hidden.pointer, inp: ly.fc1, n: rows * hid)
            projDrop?.apply(pool, a.hidden.pointer, batch: batch, perSample: tk * hid, site: site(l, 2))
            let xNext = a.resid(l + 1)
            Linear.forward(pool, out: xNext, inp: a.hidden.pointer, w: p + blk.fc2w, b: p + blk.fc2b,
                           rows: rows, inF: hid, outF: d)
            projDrop?.apply(pool, xNext, batch: batch, perSample: tk * d, site: site(l, 3))
            if dropping { DropPath.scale(pool, out: xNext, inp: xNext, masks: dropPathMask(l, 1), batch: batch, rowSize: tk * d) }
            Kernels.add(xNext, ly.xMid, rows * d)
        }

        // head
        var feats = a.resid(c.depth)
        if let norm {
            LayerNorm.forward(pool, out: a.finalNorm.pointer, mean: a.finalMean.pointer, rstd: a.finalRstd.pointer,
                              inp: feats, w: p + norm.w, b: p + norm.b, rows: rows, dim: d, eps: c.normEps)
            feats = a.finalNorm.pointer
        }
        // rows of head input per image: the pooled features, then (distilled) the distillation token
        let pooled = a.pooled.pointer, heads = headDist == nil ? 1 : 2
        TokenPool.forward(out: pooled, x: feats, firstToken: c.globalPool == .token, batch: batch, tokens: tk, prefix: pre, dim: d,
                          distToken: c.distTokenIndex)
        var headIn = pooled
        if let fcNorm {
            LayerNorm.forward(pool, out: a.fcNormOut.pointer, mean: a.fcMean.pointer, rstd: a.fcRstd.pointer,
                              inp: pooled, w: p + fcNorm.w, b: p + fcNorm.b, rows: heads * batch, dim: d, eps: c.normEps)
            headIn = a.fcNormOut.pointer
        }
        if let dropout, dropout.headRate > 0 {
            dropout.headInput.pointer.update(from: headIn, count: heads * batch * d)
            for h in 0..<heads {
                Kernels.multiply(pool, dropout.headInput.pointer + h * batch * d, dropout.headMask.pointer + h * dropout.capacity * d, batch * d)
            }
            headIn = dropout.headInput.pointer
        }
        lastForwardSplit = false
        guard let headDist else {
            Linear.forward(pool, out: a.logits.pointer, inp: headIn, w: p + headW, b: p + headB,
                           rows: batch, inF: d, outF: c.numClasses)
            return a.logits.pointer
        }
        let out = a.headLogits.pointer, bc = batch * c.numClasses
        Linear.forward(pool, out: out, inp: headIn, w: p + headW, b: p + headB, rows: batch, inF: d, outF: c.numClasses)
        Linear.forward(pool, out: out + bc, inp: headIn + batch * d, w: p + headDist.w, b: p + headDist.b,
                       rows: batch, inF: d, outF: c.numClasses)
        if training && distilledTraining { lastForwardSplit = true; return out }
        for i in 0..<bc { a.logits.pointer[i] = (out[i] + out[bc + i]) * 0.5 }
        return a.logits.pointer
    }

    // MARK: backward

    /// Back-propagates `dlogits` [batch × classes] through the last forward pass, writing every gradient.
    public func backward(dlogits: UnsafePointer<Float>, batch: Int) {
        let a = acts!, c = config, p = params.pointer, g = grads.pointer, pool = pool
        let d = c.embedDim, n = c.numPatches, tk = c.numTokens, pre = c.numPrefixTokens
        let rows = batch * tk, hid = c.mlpHidden, kp = c.inChans * c.patchSize * c.patchSize
        let scratch = a.threadScratch.pointer
        let (attnDrop, projDrop) = lastInner

        // head
        let dropout = lastForwardDropout ? self.dropout : nil, headDropped = (dropout?.headRate ?? 0) > 0
        let headIn = headDropped ? dropout!.headInput.pointer : fcNorm != nil ? a.fcNormOut.pointer : a.pooled.pointer
        let dHeadIn = a.dPooledNorm.pointer, heads = headDist == nil ? 1 : 2
        if let headDist {
            // both heads' gradients: as given (distilled training), or half the mean's each
            let bc = batch * c.numClasses, dOut = a.dHeadLogits.pointer
            if lastForwardSplit {
                dOut.update(from: dlogits, count: 2 * bc)
            } else {
                for i in 0..<bc { dOut[i] = dlogits[i] * 0.5; dOut[bc + i] = dlogits[i] * 0.5 }
            }
            Linear.backward(pool, dinp: dHeadIn, dw: g + headW, db: g + headB, dout: dOut, inp: headIn, w: p + headW,
                            rows: batch, inF: d, outF: c.numClasses)
            Linear.backward(pool, dinp: dHeadIn + batch * d, dw: g + headDist.w, db: g + headDist.b, dout: dOut + bc,
                            inp: headIn + batch * d, w: p + headDist.w, rows: batch, inF: d, outF: c.numClasses)
        } else {
            Linear.backward(pool, dinp: dHeadIn, dw: g + headW, db: g + headB, dout: dlogits, inp: headIn, w: p + headW,
                            rows: batch, inF: d, outF: c.numClasses)
        }
        if headDropped {
            for h in 0..<heads {
                Kernels.multiply(pool, dHeadIn + h * batch * d, dropout!.headMask.pointer + h * dropout!.capacity * d, batch * d)
            }
        }
        var dPooled = dHeadIn
        if let fcNorm {
            LayerNorm.backward(pool, dinp: a.dPooled.pointer, accumulate: false, dw: g + fcNorm.w, db: g + fcNorm.b,
                               dout: dHeadIn, inp: a.pooled.pointer, mean: a.fcMean.pointer, rstd: a.fcRstd.pointer,
                               w: p + fcNorm.w, rows: heads * batch, dim: d, partials: scratch)
            dPooled = a.dPooled.pointer
        }
        // d(features) [B·T × D]: the pooled rows' gradient spread back over the tokens
        let dres = a.dResid.pointer
        let dFeats = norm != nil ? a.dTmp.pointer : dres
        TokenPool.backward(dx: dFeats, dout: dPooled, firstToken: c.globalPool == .token, batch: batch, tokens: tk, prefix: pre, dim: d,
                           distToken: c.distTokenIndex)
        if let norm {
            LayerNorm.backward(pool, dinp: dres, accumulate: false, dw: g + norm.w, db: g + norm.b, dout: dFeats,
                               inp: a.resid(c.depth), mean: a.finalMean.pointer, rstd: a.finalRstd.pointer,
                               w: p + norm.w, rows: rows, dim: d, partials: scratch)
        }

        for l in stride(from: c.depth - 1, through: 0, by: -1) {
            let blk = blocks[l], ly = a.layer(l)
            let hidden = a.hidden.pointer, dTmp = a.dTmp.pointer, dqkv = a.dQKV, ln = a.lnOut.pointer
            // MLP: dres holds dL/dx_{l+1}
            GELU.valueAndDerivative(pool, value: hidden, derivative: a.geluDerivative, inp: ly.fc1, n: rows * hid)
            projDrop?.apply(pool, hidden, batch: batch, perSample: tk * hid, site: site(l, 2))
            // the branch's gradient: through its drop-path and dropout masks (the residual path keeps dres as it is)
            let dMLP = branchGradient(dres, dropPath: lastForwardDropped ? dropPathMask(l, 1) : nil, projDrop,
                                      site: site(l, 3), batch: batch, rowSize: tk * d)
            Linear.backward(pool, dinp: nil, dw: g + blk.fc2w, db: g + blk.fc2b, dout: dMLP, inp: hidden,
                            w: p + blk.fc2w, rows: rows, inF: hid, outF: d)
            let timer = LayerProfiler.begin()  // fc2's input gradient, written over the GELU output
            pool.gemm(m: rows, n: hid, k: d, a: dMLP, lda: d, b: p + blk.fc2w, ldb: hid, c: hidden, ldc: hid)
            LayerProfiler.end(.linearBackward, timer)
            projDrop?.apply(pool, hidden, batch: batch, perSample: tk * hid, site: site(l, 2))
            Kernels.multiply(pool, hidden, a.geluDerivative, rows * hid)
            LayerNorm.recompute(pool, out: ln, mean: ly.ln2Mean, rstd: ly.ln2Rstd, inp: ly.xMid, w: p + blk.norm2w,
                                b: p + blk.norm2b, rows: rows, dim: d)
            Linear.backward(pool, dinp: dTmp, dw: g + blk.fc1w, db: g + blk.fc1b, dout: hidden, inp: ln,
                            w: p + blk.fc1w, rows: rows, inF: d, outF: hid)
            LayerNorm.backward(pool, dinp: dres, accumulate: true, dw: g + blk.norm2w, db: g + blk.norm2b,
                               dout: dTmp, inp: ly.xMid, mean: ly.ln2Mean, rstd: ly.ln2Rstd, w: p + blk.norm2w,
                               rows: rows, dim: d, partials: scratch)
            // attention: dres holds dL/dx_mid
            let dAttn = branchGradient(dres, dropPath: lastForwardDropped ? dropPathMask(l, 0) : nil, projDrop,
                                       site: site(l, 1), batch: batch, rowSize: tk * d)
            Linear.backwardInput(pool, dinp: dTmp, dout: dAttn, w: p + blk.projw, rows: rows, inF: d, outF: d)
            Attention.backward(pool, dqkv: dqkv, out: ly.attnOut, dout: dTmp, qkv: ly.qkv, lse: ly.lse,
                               batch: batch, tokens: tk, dim: d, heads: c.numHeads, scratch: scratch,
                               dropout: attnDrop, site: site(l, 0))
            Linear.backwardWeights(pool, dw: g + blk.projw, db: g + blk.projb, dout: dAttn, inp: ly.attnOut,
                                   rows: rows, inF: d, outF: d)
            LayerNorm.recompute(pool, out: ln, mean: ly.ln1Mean, rstd: ly.ln1Rstd, inp: a.resid(l), w: p + blk.norm1w,
                                b: p + blk.norm1b, rows: rows, dim: d)
            Linear.backward(pool, dinp: dTmp, dw: g + blk.qkvw, db: blk.qkvb.map { g + $0 }, dout: dqkv,
                            inp: ln, w: p + blk.qkvw, rows: rows, inF: d, outF: 3 * d)
            LayerNorm.backward(pool, dinp: dres, accumulate: true, dw: g + blk.norm1w, db: g + blk.norm1b,
                               dout: dTmp, inp: a.resid(l), mean: ly.ln1Mean, rstd: ly.ln1Rstd, w: p + blk.norm1w,
                               rows: rows, dim: d, partials: scratch)
        }

        // embeddings: dres holds dL/dx0 (after the position dropout, when there is one)
        if let dropout, dropout.posRate > 0 { Kernels.multiply(pool, dres, dropout.posMask.pointer, rows * d) }
        let dPatch = pre > 0 ? a.patchOut.pointer : dres
        TokenEmbed.backward(dPatches: dPatch, dCls: clsToken.map { g + $0 }, dDist: distToken.map { g + $0 }, dReg: regToken.map { g + $0 }, regTokens: c.regTokens,
                            dPe: posEmbed.map { g + $0 }, peCoversPrefix: !c.noEmbedClass, dx0: dres, batch: batch, patchCount: n, dim: d)
        Linear.backward(pool, dinp: nil, dw: g + patchW, db: g + patchB, dout: dPatch, inp: a.cols.pointer,
                        w: p + patchW, rows: batch * n, inF: kp, outF: d)
    }

    /// The training forward: as evaluation's, but with stochastic depth when `dropPath` is set.
    public func trainingForward(images: UnsafePointer<Float>, batch: Int) -> UnsafeMutablePointer<Float> {
        forward(images: images, batch: batch, training: true)
    }

    /// Stochastic depth's state: per block timm's rate (linspace from 0), and the masks of the next training forward,
    /// [depth × 2 (attention, MLP) × capacity].
    package struct DropPathState {
        package let rates: [Double]
        package let masks: AlignedBuffer
        package let capacity: Int
    }

    /// Turns stochastic depth on with timm's `drop_path_rate` (nil or 0: off), for batches of up to `capacity`.
    package func setDropPath(rate: Double?, capacity: Int) {
        guard let rate, rate > 0 else { dropPath = nil; return }
        dropPath = DropPathState(rates: DropPath.rates(rate, depth: config.depth),
                                 masks: AlignedBuffer(count: config.depth * 2 * capacity), capacity: capacity)
    }

    /// Draws the masks of sample j from its own stream, keyed by (seed, epoch, `firstPosition` + j): the same image
    /// gets the same masks whatever the batch it is in (so data-parallel runs equal one process) and resumes exactly.
    package func drawDropPathMasks(seed: UInt64, epoch: Int, firstPosition: Int, batch: Int) {
        guard let dp = dropPath else { return }
        for j in 0..<batch {
            var rng = RNG.stream(seed: seed, 6, UInt64(epoch) << 32 | UInt64(firstPosition + j))
            for l in 0..<config.depth {
                let keep = 1 - dp.rates[l]
                for branch in 0..<2 {
                    let u = Double(rng.next() >> 11) * 0x1p-53
                    dp.masks.pointer[(l * 2 + branch) * dp.capacity + j] = u < keep ? Float(1 / keep) : 0
                }
            }
        }
    }

    /// timm's element dropouts: rates, and the masks of the next training forward (0 or 1/(1 − rate) each):
    /// before the head [capacity × D] (distilled: then head_dist's, [2·capacity × D]), after the position embedding
    /// [capacity × T × D].
    package struct DropoutState {
        package let headRate: Double, posRate: Double, capacity: Int
        package let headMask: AlignedBuffer, posMask: AlignedBuffer
        /// The head's dropped input, for its backward.
        let headInput: AlignedBuffer
    }

    /// Turns timm's `drop_rate` (head) and `pos_drop_rate` on for batches of up to `capacity` (both 0: off).
    package func setDropout(head: Double, pos: Double, capacity: Int) {
        guard head > 0 || pos > 0 else { dropout = nil; return }
        let d = config.embedDim, heads = config.distilled ? 2 : 1
        dropout = DropoutState(headRate: head, posRate: pos, capacity: capacity,
                               headMask: AlignedBuffer(count: head > 0 ? heads * capacity * d : 0),
                               posMask: AlignedBuffer(count: pos > 0 ? capacity * config.numTokens * d : 0),
                               headInput: AlignedBuffer(count: head > 0 ? heads * capacity * d : 0))
    }

    /// Draws the dropout masks of sample j from its own stream, keyed by (seed, epoch, `firstPosition` + j): the
    /// head's D values, then the position dropout's T·D, then (distilled) head_dist's D.
    package func drawDropoutMasks(seed: UInt64, epoch: Int, firstPosition: Int, batch: Int) {
        guard let dr = dropout else { return }
        let d = config.embedDim, td = config.numTokens * d
        func draw(_ rate: Double, _ rng: inout RNG) -> Float {
            Double(rng.next() >> 11) * 0x1p-53 < 1 - rate ? Float(1 / (1 - rate)) : 0
        }
        for j in 0..<batch {
            var rng = RNG.stream(seed: seed, 7, UInt64(epoch) << 32 | UInt64(firstPosition + j))
            if dr.headRate > 0 { for i in 0..<d { dr.headMask.pointer[j * d + i] = draw(dr.headRate, &rng) } }
            if dr.posRate > 0 { for i in 0..<td { dr.posMask.pointer[j * td + i] = draw(dr.posRate, &rng) } }
            if dr.headRate > 0 && config.distilled {
                for i in 0..<d { dr.headMask.pointer[(dr.capacity + j) * d + i] = draw(dr.headRate, &rng) }
            }
        }
    }

    /// A residual branch's output gradient: `dres` as it is, or through the branch's drop-path mask and its
    /// proj dropout, in the branch buffer.
    func branchGradient(_ dres: UnsafeMutablePointer<Float>, dropPath masks: UnsafePointer<Float>?, _ projDrop: KeyedDropout?,
                        site: UInt32, batch: Int, rowSize: Int) -> UnsafePointer<Float> {
        guard masks != nil || projDrop != nil else { return UnsafePointer(dres) }
        let out = acts!.dBranch.pointer
        if let masks {
            DropPath.scale(pool, out: out, inp: dres, masks: masks, batch: batch, rowSize: rowSize)
        } else {
            out.update(from: dres, count: batch * rowSize)
        }
        projDrop?.apply(pool, out, batch: batch, perSample: rowSize, site: site)
        return UnsafePointer(out)
    }

    /// The mask site of block l's inner dropout `kind`: 0 attention weights, 1 attention projection, 2 the MLP's
    /// hidden layer (timm's `mlp.drop1`), 3 the MLP's output (`mlp.drop2`).
    @inline(__always) func site(_ l: Int, _ kind: Int) -> UInt32 { UInt32(l * 4 + kind) }

    /// timm's `attn_drop_rate` and `proj_drop_rate` (the latter on the attention projection and both MLP dropouts)
    /// and one mask key per sample of the next training forward.
    package final class InnerDropoutState {
        package let attnRate: Double, projRate: Double, capacity: Int
        package let keys: UnsafeMutablePointer<UInt32>
        package var attn: KeyedDropout? { attnRate > 0 ? KeyedDropout(keys: keys, rate: attnRate) : nil }
        package var proj: KeyedDropout? { projRate > 0 ? KeyedDropout(keys: keys, rate: projRate) : nil }
        init(attnRate: Double, projRate: Double, capacity: Int) {
            self.attnRate = attnRate; self.projRate = projRate; self.capacity = capacity
            keys = .allocate(capacity: max(capacity, 1)); keys.initialize(repeating: 0, count: max(capacity, 1))
        }
        deinit { keys.deallocate() }
    }

    /// Turns timm's `attn_drop_rate` and `proj_drop_rate` on for batches of up to `capacity` (both 0: off).
    package func setInnerDropout(attn: Double, proj: Double, capacity: Int) {
        innerDropout = attn > 0 || proj > 0 ? InnerDropoutState(attnRate: attn, projRate: proj, capacity: capacity) : nil
    }

    /// Draws sample j's inner-dropout key from its own stream, keyed by (seed, epoch, `firstPosition` + j).
    package func drawInnerDropoutKeys(seed: UInt64, epoch: Int, firstPosition: Int, batch: Int) {
        guard let st = innerDropout else { return }
        for j in 0..<batch {
            var rng = RNG.stream(seed: seed, 8, UInt64(epoch) << 32 | UInt64(firstPosition + j))
            st.keys[j] = UInt32(truncatingIfNeeded: rng.next() >> 32)
        }
    }

    @inline(__always) func dropPathMask(_ l: Int, _ branch: Int) -> UnsafePointer<Float> {
        UnsafePointer(dropPath!.masks.pointer + (l * 2 + branch) * dropPath!.capacity)
    }

    /// Where the caller writes d(loss)/d(logits) [batch × classes] before `backward` ([2·batch × classes] after a
    /// distilled training forward: the head's rows, then head_dist's).
    public var dLogits: UnsafeMutablePointer<Float> { acts!.dLogits.pointer }
}
