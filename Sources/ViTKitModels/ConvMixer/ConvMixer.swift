import ViTKitCore
import ViTKitIO
import ViTKitImaging
import ViTKitNN

/// ConvMixer (Trockman & Kolter) with timm's structure and state_dict names, and the reference's spatial-filter
/// inits (osiriszjq/structured_init `timm/models/convmixer.py` L17-85), written like `VisionTransformer`: a forward/backward pair per layer over one flat parameter
/// buffer. Activations are channels-last, [B·H·W × C], so the 1×1 convs are GEMMs and the depthwise conv runs
/// 8 channels per SIMD lane group.
///
/// Forward (B images, N = (img/p)² pixels per image, R = B·N rows, C = dim):
///   x0 = BN(GELU(im2col(x) W_stemᵀ + b))                                 [R × C]    stem.0, stem.2
///   per block: r = x + BN1(GELU(dwconv_k(x)))                            [R × C]    blocks.i.0.fn.{0,2}
///              x = BN2(GELU(r W_pwᵀ + b))                                [R × C]    blocks.i.{1,3}
///   logits = mean over the N rows of each image, then · W_headᵀ + b       [B × classes]
public final class ConvMixer: ImageClassifier {
    /// The architecture.
    public let config: ConvMixerConfig
    /// Each trainable tensor's name (timm's state_dict key), shape and offset in `params`.
    public let table: ParameterTable
    /// Every parameter, flat, laid out by `table`.
    public let params: AlignedBuffer
    /// The gradients of the last backward pass, laid out as `params`.
    public let grads: AlignedBuffer
    /// BatchNorm running statistics (`running_mean`, `running_var`, `num_batches_tracked`), saved with the weights.
    public let stateTable: ParameterTable
    /// The BatchNorm buffers, laid out by `stateTable`.
    public let state: AlignedBuffer
    /// The threads the kernels run on.
    public let pool: ThreadPool

    struct Norm { var w = 0, b = 0, runningMean = 0, runningVar = 0, batches = 0, index = 0 }
    struct Block { var dwW = 0, dwB = 0, norm1 = Norm(), pwW = 0, pwB = 0, norm2 = Norm() }
    var stemW = 0, stemB = 0, stemNorm = Norm(), blocks: [Block] = [], headW = 0, headB = 0

    /// Per block, the filter each channel uses (`choice_idx`): the identity with one filter per channel.
    public internal(set) var choice: [[Int]]
    /// Per block, the filters as the channels use them, tap-major [k·k × C] (softmax applied): rebuilt each forward.
    let taps: AlignedBuffer
    /// Per block, the softmax of each distinct filter [filters × k·k] (for backward), with the softmax init.
    let softmaxed: AlignedBuffer
    /// Backward scratch: turned filters [k·k × C], their gradient [k·k × C], per-thread sums.
    let flipped: AlignedBuffer, dTaps: AlignedBuffer, dwScratch: AlignedBuffer
    /// Per BatchNorm (stem, then two per block), the batch mean and 1/std of the last training forward [2 × C].
    let normStats: AlignedBuffer
    let bnPartials: UnsafeMutablePointer<Double>, bnCoefficients: AlignedBuffer
    var acts: ConvMixerActivations?
    /// The replicas whose batch statistics the training BatchNorms share (`--sync-bn`); nil: this process's batch.
    package var batchNormSync: BatchNorm2d.CrossReplica?

    /// A model of this architecture on `pool`, its parameters zero until `initialize`.
    public init(config: ConvMixerConfig, pool: ThreadPool) throws {
        try config.validate()
        self.config = config
        self.pool = pool
        let c = config.dim, k = config.kernelSize, p = config.patchSize
        var t = ParameterTable(), s = ParameterTable(), normCount = 0
        func norm(_ prefix: String) -> Norm {
            defer { normCount += 1 }
            return Norm(w: t.add(prefix + "weight", [c]), b: t.add(prefix + "bias", [c]),
                        runningMean: s.add(prefix + "running_mean", [c]), runningVar: s.add(prefix + "running_var", [c]),
                        batches: s.add(prefix + "num_batches_tracked", []), index: normCount)
        }
        stemW = t.add("stem.0.weight", [c, config.inChans, p, p]); stemB = t.add("stem.0.bias", [c])
        stemNorm = norm("stem.2.")
        for i in 0..<config.depth {
            let pre = "blocks.\(i)."
            var b = Block()
            b.dwW = t.add(pre + "0.fn.0.weight", [config.filterCount, 1, k, k], trainable: config.trainableSpatial)
            b.dwB = t.add(pre + "0.fn.0.bias", [c], trainable: config.trainableSpatial)
            b.norm1 = norm(pre + "0.fn.2.")
            b.pwW = t.add(pre + "1.weight", [c, c, 1, 1]); b.pwB = t.add(pre + "1.bias", [c])
            b.norm2 = norm(pre + "3.")
            blocks.append(b)
        }
        headW = t.add("head.weight", [config.numClasses, c]); headB = t.add("head.bias", [config.numClasses])
        table = t; stateTable = s
        params = AlignedBuffer(count: t.count); grads = AlignedBuffer(count: t.count); state = AlignedBuffer(count: s.count)
        let heads = config.filterCount
        choice = (0..<config.depth).map { l in
            if heads == c { return Array(0..<c) }
            var rng = RNG.stream(seed: config.choiceSeed, 11, UInt64(l))
            return (0..<c).map { _ in rng.int(below: heads) }
        }
        taps = AlignedBuffer(count: config.depth * k * k * c)
        softmaxed = AlignedBuffer(count: config.spatialInit == .softmax ? config.depth * heads * k * k : 0)
        flipped = AlignedBuffer(count: k * k * c); dTaps = AlignedBuffer(count: k * k * c)
        dwScratch = AlignedBuffer(count: DepthwiseConv2d.scratchCount(threads: pool.threadCount, channels: c, kernel: k))
        normStats = AlignedBuffer(count: normCount * 2 * c)
        bnPartials = .allocate(capacity: BatchNorm2d.partialsCount(threads: pool.threadCount, channels: c))
        bnCoefficients = AlignedBuffer(count: BatchNorm2d.coefficientsCount(channels: c))
    }

    deinit { bnPartials.deallocate() }

    /// The config's name (`convmixer_256_8`, …).
    public var name: String { config.name }
    /// Input channels.
    public var inChans: Int { config.inChans }
    /// Input width and height, in pixels.
    public var imgSize: Int { config.imgSize }
    /// Outputs of the head.
    public var numClasses: Int { config.numClasses }
    /// The architecture, as checkpoints record it.
    public var architecture: ModelConfig { .convMixer(config) }

    /// Makes sure activation buffers exist for `batch` images (kept and reused for smaller batches).
    public func reserve(batch: Int) { reserve(batch: batch, training: true) }

    /// Buffers for `batch` images; a model only ever run in evaluation mode (a distillation teacher) gets the
    /// inference form, five planes instead of the 4·depth + 1 saved for backward and no gradient buffers.
    private func reserve(batch: Int, training: Bool) {
        if let a = acts, a.capacity >= batch, a.forTraining || !training { return }
        acts = ConvMixerActivations(config: config, capacity: max(batch, acts?.capacity ?? 0),
                                    forTraining: training || acts?.forTraining == true)
    }

    /// The logits of the last forward pass, [batch × classes].
    public var logits: UnsafeMutablePointer<Float> { acts!.logits.pointer }

    // MARK: init

    /// PyTorch's default init for the convs, BatchNorms and head (uniform ±1/√fan_in for weights and biases; BN
    /// weight 1, bias 0, running mean 0, variance 1), and the config's spatial init for the depthwise filters with
    /// biases U(±1/k), drawn in module order.
    public func initialize(_ mode: InitMode, options: InitOptions, rng: inout RNG) throws -> [ImpulseInit.Result] {
        guard mode == .timm else {
            throw ViTKitError("--init \(mode) is a ViT init; a ConvMixer's depthwise filters start as --spatial-init says")
        }
        initialize(rng: &rng)
        return []
    }

    /// PyTorch's defaults and the config's spatial init (what `initialize(.timm, …)` does).
    public func initialize(rng: inout RNG) {
        let c = config.dim, k = config.kernelSize, p = params.pointer
        func uniform(_ offset: Int, _ count: Int, _ bound: Float) {
            for i in 0..<count { p[offset + i] = rng.uniform(-bound, bound) }
        }
        let stemFan = Float(config.inChans * config.patchSize * config.patchSize)
        uniform(stemW, c * Int(stemFan), 1 / stemFan.squareRoot()); uniform(stemB, c, 1 / stemFan.squareRoot())
        let heads = config.filterCount
        for b in blocks {
            let filters = config.spatialInit.filters(channels: c, kernel: k, rng: &rng)
            (p + b.dwW).update(from: filters, count: heads * k * k)
            uniform(b.dwB, c, 1 / Float(k))
            uniform(b.pwW, c * c, 1 / Float(c).squareRoot()); uniform(b.pwB, c, 1 / Float(c).squareRoot())
        }
        uniform(headW, config.numClasses * c, 1 / Float(c).squareRoot()); uniform(headB, config.numClasses, 1 / Float(c).squareRoot())
        for n in [stemNorm] + blocks.flatMap({ [$0.norm1, $0.norm2] }) {
            (p + n.w).update(repeating: 1, count: c); (p + n.b).update(repeating: 0, count: c)
            (state.pointer + n.runningMean).update(repeating: 0, count: c)
            (state.pointer + n.runningVar).update(repeating: 1, count: c)
            state.pointer[n.batches] = 0
        }
    }

    // MARK: forward

    /// Runs the model in evaluation mode (BatchNorm with running statistics) and returns the logits.
    @discardableResult
    public func forward(images: UnsafePointer<Float>, batch: Int) -> UnsafeMutablePointer<Float> {
        forward(images: images, batch: batch, training: false)
    }

    /// Runs the model; in training mode BatchNorm uses the batch's statistics and updates the running ones.
    @discardableResult
    public func forward(images: UnsafePointer<Float>, batch: Int, training: Bool) -> UnsafeMutablePointer<Float> {
        reserve(batch: batch, training: training)
        let a = acts!, cfg = config, p = params.pointer, pool = pool
        let c = cfg.dim, k = cfg.kernelSize, g = cfg.gridSize, n = g * g, rows = batch * n
        let kp = cfg.inChans * cfg.patchSize * cfg.patchSize
        prepareTaps()

        PatchEmbed.im2col(pool, cols: a.cols.pointer, images: images, batch: batch, channels: cfg.inChans,
                          size: cfg.imgSize, patch: cfg.patchSize)
        Linear.forward(pool, out: a.stemPre.pointer, inp: a.cols.pointer, w: p + stemW, b: p + stemB, rows: rows, inF: kp, outF: c)
        GELU.forward(pool, out: a.g.pointer, inp: a.stemPre.pointer, n: rows * c)
        norm(stemNorm, out: a.x(0), inp: a.g.pointer, residual: nil, rows: rows, training: training)
        for (l, blk) in blocks.enumerated() {
            let x = a.x(l), dw = a.dw(l), r = a.r(l), z = a.z(l)
            DepthwiseConv2d.forward(pool, out: dw, inp: x, taps: taps.pointer + l * k * k * c, bias: p + blk.dwB, batch: batch,
                                    height: g, width: g, channels: c, kernel: k)
            GELU.forward(pool, out: a.g.pointer, inp: dw, n: rows * c)
            norm(blk.norm1, out: r, inp: a.g.pointer, residual: x, rows: rows, training: training)
            Linear.forward(pool, out: z, inp: r, w: p + blk.pwW, b: p + blk.pwB, rows: rows, inF: c, outF: c)
            GELU.forward(pool, out: a.g.pointer, inp: z, n: rows * c)
            norm(blk.norm2, out: a.x(l + 1), inp: a.g.pointer, residual: nil, rows: rows, training: training)
        }
        let last = a.x(cfg.depth), pooled = a.pooled.pointer
        TokenPool.forward(out: pooled, x: last, firstToken: false, batch: batch, tokens: n, prefix: 0, dim: c)
        Linear.forward(pool, out: a.logits.pointer, inp: pooled, w: p + headW, b: p + headB, rows: batch, inF: c,
                       outF: cfg.numClasses)
        return a.logits.pointer
    }

    private func norm(_ nm: Norm, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, residual: UnsafePointer<Float>?,
                      rows: Int, training: Bool) {
        let p = params.pointer, s = state.pointer, c = config.dim
        if training {
            let stats = normStats.pointer + nm.index * 2 * c
            BatchNorm2d.forwardTraining(pool, out: out, inp: inp, residual: residual, w: p + nm.w, b: p + nm.b, mean: stats,
                                        rstd: stats + c, runningMean: s + nm.runningMean, runningVar: s + nm.runningVar,
                                        rows: rows, channels: c, eps: config.bnEps, momentum: config.bnMomentum,
                                        partials: bnPartials, coefficients: bnCoefficients.pointer, sync: batchNormSync)
            s[nm.batches] += 1
        } else {
            BatchNorm2d.forwardEval(pool, out: out, inp: inp, residual: residual, w: p + nm.w, b: p + nm.b,
                                    runningMean: s + nm.runningMean, runningVar: s + nm.runningVar, rows: rows, channels: c,
                                    eps: config.bnEps, coefficients: bnCoefficients.pointer)
        }
    }

    /// taps[l][t, c] = filter choice[l][c] at tap t, through a softmax over the taps with the softmax init.
    private func prepareTaps() {
        let c = config.dim, kk = config.kernelSize * config.kernelSize, heads = config.filterCount
        let useSoftmax = config.spatialInit == .softmax
        for (l, blk) in blocks.enumerated() {
            choice[l].withUnsafeBufferPointer { ch in
                SharedFilters.expand(taps: taps.pointer + l * kk * c, softmaxed: useSoftmax ? softmaxed.pointer + l * heads * kk : nil,
                                   weight: params.pointer + blk.dwW, filters: heads, choice: ch, taps: kk)
            }
        }
    }

    // MARK: backward

    /// Back-propagates `dlogits` [batch × classes] through the last (training) forward pass, writing every
    /// gradient (frozen depthwise filters keep a zero gradient).
    public func backward(dlogits: UnsafePointer<Float>, batch: Int) {
        let a = acts!, cfg = config, p = params.pointer, gr = grads.pointer, pool = pool
        precondition(a.forTraining, "ConvMixer.backward after an evaluation-only forward pass")
        let c = cfg.dim, k = cfg.kernelSize, kk = k * k, g = cfg.gridSize, n = g * g, rows = batch * n
        let kp = cfg.inChans * cfg.patchSize * cfg.patchSize
        let dx = a.dX.pointer, dr = a.dR.pointer, gv = a.g.pointer, gd = a.gDerivative.pointer, dpre = a.dPre.pointer

        Linear.backward(pool, dinp: a.dPooled.pointer, dw: gr + headW, db: gr + headB, dout: dlogits, inp: a.pooled.pointer,
                        w: p + headW, rows: batch, inF: c, outF: cfg.numClasses)
        TokenPool.backward(dx: dx, dout: a.dPooled.pointer, firstToken: false, batch: batch, tokens: n, prefix: 0, dim: c)
        for l in stride(from: cfg.depth - 1, through: 0, by: -1) {
            let blk = blocks[l], x = a.x(l), r = a.r(l)
            // dx holds dL/dx_{l+1}: through BN2, GELU, the 1×1 conv
            GELU.valueAndDerivative(pool, value: gv, derivative: gd, inp: a.z(l), n: rows * c)
            normBackward(blk.norm2, dinp: dpre, multiplier: gd, dout: dx, inp: gv, rows: rows)
            Linear.backward(pool, dinp: dr, dw: gr + blk.pwW, db: gr + blk.pwB, dout: dpre, inp: r, w: p + blk.pwW,
                            rows: rows, inF: c, outF: c)
            // dr = dL/dr: through BN1, GELU and the depthwise conv, plus the residual
            GELU.valueAndDerivative(pool, value: gv, derivative: gd, inp: a.dw(l), n: rows * c)
            normBackward(blk.norm1, dinp: dpre, multiplier: gd, dout: dr, inp: gv, rows: rows)
            if cfg.trainableSpatial {
                DepthwiseConv2d.backwardWeights(pool, dtaps: dTaps.pointer, dbias: gr + blk.dwB, dout: dpre, inp: x,
                                                scratch: dwScratch.pointer, batch: batch, height: g, width: g, channels: c, kernel: k)
                let heads = cfg.filterCount
                choice[l].withUnsafeBufferPointer { ch in
                    SharedFilters.backward(gr + blk.dwW, filters: heads, dTaps: dTaps.pointer,
                                        softmaxed: cfg.spatialInit == .softmax ? softmaxed.pointer + l * heads * kk : nil,
                                        choice: ch, taps: kk)
                }
            }
            DepthwiseConv2d.backwardInput(pool, dinp: dx, dout: dpre, taps: taps.pointer + l * kk * c, flipped: flipped.pointer,
                                          batch: batch, height: g, width: g, channels: c, kernel: k)
            Kernels.add(pool, dx, dr, rows * c)
        }
        GELU.valueAndDerivative(pool, value: gv, derivative: gd, inp: a.stemPre.pointer, n: rows * c)
        normBackward(stemNorm, dinp: dpre, multiplier: gd, dout: dx, inp: gv, rows: rows)
        Linear.backward(pool, dinp: nil, dw: gr + stemW, db: gr + stemB, dout: dpre, inp: a.cols.pointer, w: p + stemW,
                        rows: rows, inF: kp, outF: c)
    }

    private func normBackward(_ nm: Norm, dinp: UnsafeMutablePointer<Float>, multiplier: UnsafePointer<Float>,
                              dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, rows: Int) {
        let c = config.dim, stats = normStats.pointer + nm.index * 2 * c
        BatchNorm2d.backward(pool, dinp: dinp, multiplier: multiplier, dw: grads.pointer + nm.w, db: grads.pointer + nm.b,
                             dout: dout, inp: inp, mean: stats, rstd: stats + c, w: params.pointer + nm.w, rows: rows,
                             channels: c, partials: bnPartials, coefficients: bnCoefficients.pointer, sync: batchNormSync)
    }

    /// The training-mode forward: BatchNorm with the batch's statistics, moving the running ones.
    public func trainingForward(images: UnsafePointer<Float>, batch: Int) -> UnsafeMutablePointer<Float> {
        forward(images: images, batch: batch, training: true)
    }

    /// Where the caller writes d(loss)/d(logits) [batch × classes] before `backward`.
    public var dLogits: UnsafeMutablePointer<Float> { acts!.dLogits.pointer }
}

/// Every buffer a ConvMixer forward/backward pass needs for a batch capacity. Saved per block for backward: the
/// block input x, the depthwise output, the residual sum r and the 1×1 conv output; GELU outputs are recomputed.
/// The inference form (`forTraining` false) keeps two planes for x, alternating by block, one each for the rest,
/// and no gradient buffers.
final class ConvMixerActivations {
    let capacity: Int, forTraining: Bool
    private let plane: Int, depth: Int, xPlanes: Int, blockPlanes: Int
    let cols: AlignedBuffer, stemPre: AlignedBuffer
    private let saved: AlignedBuffer  // x: depth + 1 planes, then dw, r, z: depth planes each
    let g: AlignedBuffer, gDerivative: AlignedBuffer, dPre: AlignedBuffer, dX: AlignedBuffer, dR: AlignedBuffer
    let pooled: AlignedBuffer, dPooled: AlignedBuffer, logits: AlignedBuffer, dLogits: AlignedBuffer

    init(config c: ConvMixerConfig, capacity b: Int, forTraining: Bool = true) {
        capacity = b; depth = c.depth; self.forTraining = forTraining
        xPlanes = forTraining ? depth + 1 : 2; blockPlanes = forTraining ? depth : 1
        let rows = b * c.gridSize * c.gridSize
        plane = rows * c.dim
        let gradientPlane = forTraining ? plane : 0
        cols = AlignedBuffer(count: rows * c.inChans * c.patchSize * c.patchSize, zeroed: false)
        stemPre = AlignedBuffer(count: plane, zeroed: false)
        saved = AlignedBuffer(count: (xPlanes + 3 * blockPlanes) * plane, zeroed: false)
        g = AlignedBuffer(count: plane, zeroed: false); gDerivative = AlignedBuffer(count: gradientPlane, zeroed: false)
        dPre = AlignedBuffer(count: gradientPlane, zeroed: false); dX = AlignedBuffer(count: gradientPlane, zeroed: false)
        dR = AlignedBuffer(count: gradientPlane, zeroed: false)
        pooled = AlignedBuffer(count: b * c.dim); dPooled = AlignedBuffer(count: forTraining ? b * c.dim : 0)
        logits = AlignedBuffer(count: b * c.numClasses); dLogits = AlignedBuffer(count: b * c.numClasses)
    }

    /// The floats `init(config:capacity:forTraining:)` allocates, without allocating them.
    static func floatCount(config c: ConvMixerConfig, capacity b: Int, forTraining: Bool = true) -> Int {
        let rows = b * c.gridSize * c.gridSize, plane = rows * c.dim
        let saved = forTraining ? 4 * c.depth + 1 : 5, gradients = forTraining ? 4 * plane + b * c.dim : 0
        return rows * c.inChans * c.patchSize * c.patchSize + (saved + 2) * plane + gradients + b * c.dim + 2 * b * c.numClasses
    }

    /// Floats held, for memory estimates.
    var floatCount: Int {
        [cols, stemPre, saved, g, gDerivative, dPre, dX, dR, pooled, dPooled, logits, dLogits].reduce(0) { $0 + $1.count }
    }

    @inline(__always) func x(_ l: Int) -> UnsafeMutablePointer<Float> { saved.pointer + (l % xPlanes) * plane }
    @inline(__always) func dw(_ l: Int) -> UnsafeMutablePointer<Float> { saved.pointer + (xPlanes + l % blockPlanes) * plane }
    @inline(__always) func r(_ l: Int) -> UnsafeMutablePointer<Float> {
        saved.pointer + (xPlanes + blockPlanes + l % blockPlanes) * plane
    }
    @inline(__always) func z(_ l: Int) -> UnsafeMutablePointer<Float> {
        saved.pointer + (xPlanes + 2 * blockPlanes + l % blockPlanes) * plane
    }
}
