import ViTKitCore

/// The optimisers of timm's `--opt`, exactly as torch computes them, over the whole flat parameter buffer in one
/// loop (w the weight decay where `ParameterInfo.decays`, else 0):
///
///   adamw:  p ← p·(1 − lr·w);  m ← m + (1−β1)(g − m);  v ← β2·v + (1−β2)·g²;  p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε)
///   adam:   g ← g + w·p (L2, torch.optim.Adam), then the same moments and step, no decoupled decay
///   momentum / nesterov (and timm's `sgd`, which is nesterov):  g ← g + w·p;  b ← μ·b + g (b in `m`);
///           p ← p − lr·(g + μ·b) with nesterov, p − lr·b without (torch.optim.SGD, dampening 0)
///   lamb:   timm's Lamb: g ← g / max(1, ‖g‖_global) (its max_grad_norm 1), Adam's moments, u = m̂ / (√v̂ + ε);
///           where w > 0: u ← u + w·p and u ← u · ‖p‖/‖u‖ per tensor (1 when either norm is 0);  p ← p − lr·u
///
/// With timm's `--layer-decay`, each tensor's rate is lr · its layer's scale (`lrScale`, timm's `lr_scale`).
/// Frozen parameters (not `trainable`) are left out, as timm leaves out those without `requires_grad`.
public final class Optimizer {
    /// timm's `--opt` names.
    public enum Algorithm: String, Sendable, CaseIterable {
        /// torch.optim.AdamW (decoupled weight decay).
        case adamw
        /// torch.optim.Adam (L2 weight decay in the gradient).
        case adam
        /// timm's `sgd`: SGD with Nesterov momentum.
        case sgd
        /// SGD with (heavy-ball) momentum.
        case momentum
        /// SGD with Nesterov momentum.
        case nesterov
        /// timm's Lamb (layer-wise trust ratio, global gradient clipping at 1).
        case lamb

        /// Whether it keeps Adam's two moments (else one momentum buffer).
        public var isAdam: Bool { self == .adamw || self == .adam || self == .lamb }
    }

    /// Which update rule.
    public let algorithm: Algorithm
    /// SGD's momentum μ (timm's `--momentum`).
    public var momentum: Float
    /// torch.optim.AdamW's betas, eps and weight decay.
    public var beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    /// Updates made (t in the bias corrections).
    public package(set) var step = 0
    /// The first and second moments (torch's `exp_avg`, `exp_avg_sq`), laid out as the parameters; for SGD, `m` is
    /// the momentum buffer and `v` is empty.
    public let m: AlignedBuffer, v: AlignedBuffer

    /// The state a resume needs, by torch's names: `exp_avg` and `exp_avg_sq`, or SGD's `momentum_buffer`.
    public var stateBuffers: [(name: String, buffer: AlignedBuffer)] {
        algorithm.isAdam ? [("exp_avg", m), ("exp_avg_sq", v)] : [("momentum_buffer", m)]
    }
    private let segments: [Segment]
    /// Lamb's update u, laid out as the parameters (empty for the others), and its per-tensor sums.
    private let lambUpdate: AlignedBuffer
    private var lambSums: [Double]

    /// A trainable tensor's range in the flat buffer, whether it decays, and its rate's scale.
    struct Segment { let range: Range<Int>, decays: Bool, lrScale: Float }

    /// An optimiser for the parameters `table` lays out, with zero moments (AdamW unless `algorithm` says);
    /// `lrScale` gives each tensor's learning-rate factor by name (timm's layer decay; 1 by default).
    public init(table: ParameterTable, algorithm: Algorithm = .adamw, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
                weightDecay: Float = 0.01, momentum: Float = 0.9, lrScale: [String: Float] = [:]) {
        self.algorithm = algorithm; self.momentum = momentum
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
        m = AlignedBuffer(count: table.count); v = AlignedBuffer(count: algorithm.isAdam ? table.count : 0)
        segments = table.entries.filter(\.trainable).map {
            Segment(range: $0.offset..<($0.offset + $0.count), decays: $0.decays, lrScale: lrScale[$0.name] ?? 1)
        }
        lambUpdate = AlignedBuffer(count: algorithm == .lamb ? table.count : 0)
        lambSums = [Double](repeating: 0, count: algorithm == .lamb ? 3 * segments.count : 0)
    }

    /// Each trainable tensor's learning-rate factor, by offset order (1 without layer decay).
    public var lrScales: [Float] { segments.map(\.lrScale) }

    /// One update of `params` from `grads` at learning rate `lr`.
    public func update(_ pool: ThreadPool, params: AlignedBuffer, grads: AlignedBuffer, lr: Float) {
        let timer = LayerProfiler.begin(); defer { LayerProfiler.end(.optimizer, timer) }
        step += 1
        let bc1 = 1 - Float(Double(beta1).power(step)), bc2 = 1 - Float(Double(beta2).power(step))
        let bc2Sqrt = bc2.squareRoot()
        let b1 = beta1, b2 = beta2, eps = eps, wd = weightDecay
        let p = params.pointer, g = grads.pointer, mp = m.pointer, vp = v.pointer
        let total = params.count
        let lambU = lambUpdate.pointer
        segments.withUnsafeBufferPointer { segments in
            switch algorithm {
            case .adamw, .adam:
                pool.run(Step(p: p, g: g, m: mp, v: vp, segments: segments, count: total, lr: lr, wd: wd, b1: b1, b2: b2,
                              eps: eps, bc1: bc1, bc2Sqrt: bc2Sqrt, decoupled: algorithm == .adamw))
            case .sgd, .momentum, .nesterov:
                pool.run(SGDStep(p: p, g: g, b: mp, segments: segments, count: total, lr: lr, wd: wd, mu: momentum,
                                 nesterov: algorithm != .momentum))
            case .lamb:
                lambSums.withUnsafeMutableBufferPointer { sums in
                    var job = LambStep(p: p, g: g, m: mp, v: vp, u: lambU, segments: segments, sums: sums.baseAddress!, lr: lr,
                                       wd: wd, b1: b1, b2: b2, eps: eps, bc1: bc1, bc2Sqrt: bc2Sqrt)
                    // the global gradient norm (summed in tensor order), then each tensor's update
                    pool.run(job)
                    let global = (0..<segments.count).reduce(0.0) { $0 + sums[3 * $1] }.squareRoot()
                    job.clip = Float(max(1, global)); job.phase = 1
                    pool.run(job)
                }
            }
        }
    }

    /// timm's Lamb, tensor by tensor (tensor i on thread i mod threads, so the sums do not depend on the thread
    /// count). Phase 0: Σg² per tensor; phase 1: moments, update, its trust ratio, and the step.
    struct LambStep: ParallelJob {
        let p: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>
        let u: UnsafeMutablePointer<Float>, segments: UnsafeBufferPointer<Segment>, sums: UnsafeMutablePointer<Double>
        let lr: Float, wd: Float, b1: Float, b2: Float, eps: Float, bc1: Float, bc2Sqrt: Float
        var phase = 0, clip: Float = 1

        func run(thread th: Int, of threads: Int) {
            for si in stride(from: th, to: segments.count, by: threads) {
                let seg = segments[si], lo = seg.range.lowerBound, n = seg.range.count
                if phase == 0 { sums[3 * si] = Kernels.sumOfSquares(g + lo, n); continue }
                let w = seg.decays ? wd : 0, inv = 1 / clip
                var pp = 0.0, uu = 0.0
                for i in lo..<(lo + n) {
                    let gi = g[i] * inv
                    let mi = m[i] + (gi - m[i]) * (1 - b1)
                    let vi = v[i] * b2 + (1 - b2) * (gi * gi)
                    m[i] = mi; v[i] = vi
                    var ui = (mi / bc1) / (vi.squareRoot() / bc2Sqrt + eps)
                    if w != 0 { ui += w * p[i] }
                    u[i] = ui
                    pp += Double(p[i]) * Double(p[i]); uu += Double(ui) * Double(ui)
                }
                // the trust ratio, only where the tensor decays (timm skips it for the no-decay group)
                var trust: Float = 1
                if w != 0, pp > 0, uu > 0 { trust = Float(pp.squareRoot()) / Float(uu.squareRoot()) }
                let step = lr * seg.lrScale * trust
                for i in lo..<(lo + n) { p[i] -= step * u[i] }
            }
        }
    }

    /// torch.optim.SGD over each thread's slice: g ← g + w·p; b ← μ·b + g; p ← p − lr·(nesterov ? g + μ·b : b).
    struct SGDStep: ParallelRangeJob {
        let p: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, b: UnsafeMutablePointer<Float>
        let segments: UnsafeBufferPointer<Segment>
        let count: Int, lr: Float, wd: Float, mu: Float, nesterov: Bool
        var granule: Int { 16 }

        func run(_ chunk: Range<Int>) {
            for seg in segments {
                let lo = max(seg.range.lowerBound, chunk.lowerBound), hi = min(seg.range.upperBound, chunk.upperBound)
                if lo >= hi { continue }
                let w = seg.decays ? wd : 0, lr = lr * seg.lrScale
                for i in lo..<hi {
                    let gi = g[i] + w * p[i]
                    let bi = mu * b[i] + gi
                    b[i] = bi
                    p[i] -= lr * (nesterov ? gi + mu * bi : bi)
                }
            }
        }
    }

    /// The update over each thread's slice of the flat buffer, segment by segment (decay or not).
    struct Step: ParallelRangeJob {
        let p: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>
        let v: UnsafeMutablePointer<Float>, segments: UnsafeBufferPointer<Segment>
        let count: Int, lr: Float, wd: Float, b1: Float, b2: Float, eps: Float, bc1: Float, bc2Sqrt: Float
        /// AdamW's decay of the weight (else Adam's L2 term in the gradient).
        let decoupled: Bool
        var granule: Int { 16 }

        func run(_ chunk: Range<Int>) {
            for seg in segments {
                let lo = max(seg.range.lowerBound, chunk.lowerBound), hi = min(seg.range.upperBound, chunk.upperBound)
                if lo >= hi { continue }
                let w = seg.decays ? wd : 0, lr = lr * seg.lrScale, stepSize = lr / bc1
                let decay = decoupled ? 1 - lr * w : 1, l2 = decoupled ? 0 : w, l28 = F8(repeating: l2)
                let decay8 = F8(repeating: decay), oneMinusB1 = F8(repeating: 1 - b1), b2v = F8(repeating: b2)
                let oneMinusB2 = F8(repeating: 1 - b2), step8 = F8(repeating: stepSize)
                let bc = F8(repeating: bc2Sqrt), eps8 = F8(repeating: eps)
                var i = lo
                while i + 8 <= hi {
                    let gi = load8(g + i) + l28 * load8(p + i), mOld = load8(m + i)
                    let mi = mOld + (gi - mOld) * oneMinusB1
                    let vi = load8(v + i) * b2v + oneMinusB2 * (gi * gi)
                    store8(m + i, mi); store8(v + i, vi)
                    store8(p + i, load8(p + i) * decay8 - step8 * (mi / (vsqrt(vi) / bc + eps8)))
                    i += 8
                }
                while i < hi {
                    let gi = g[i] + l2 * p[i]
                    let mi = m[i] + (gi - m[i]) * (1 - b1)
                    let vi = v[i] * b2 + (1 - b2) * (gi * gi)
                    m[i] = mi; v[i] = vi
                    p[i] = p[i] * decay - stepSize * (mi / (vi.squareRoot() / bc2Sqrt + eps))
                    i += 1
                }
            }
        }
    }
}

/// The optimiser's old name: an `Optimizer` is AdamW unless its `algorithm` says otherwise.
public typealias AdamW = Optimizer

extension Double {
    fileprivate func power(_ n: Int) -> Double { var r = 1.0; for _ in 0..<n { r *= self }; return r }
}

/// Scales all gradients so their global L2 norm is at most `maxNorm` (torch.nn.utils.clip_grad_norm_).
/// Returns the norm before clipping.
@discardableResult
public func clipGradNorm(_ pool: ThreadPool, grads: AlignedBuffer, maxNorm: Float) -> Float {
        let timer = LayerProfiler.begin(); defer { LayerProfiler.end(.optimizer, timer) }
    // 16 fixed parts (whatever the thread count) summed in order: the norm does not depend on threads
    var partial = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    let sum = withUnsafeMutableBytes(of: &partial) { raw in
        let part = raw.baseAddress!.assumingMemoryBound(to: Double.self)
        pool.run(SumOfSquares(x: grads.pointer, count: grads.count, part: part))
        return (0..<16).reduce(0.0) { $0 + part[$1] }
    }
    let norm = Float(sum.squareRoot())
    let coef = maxNorm / (norm + 1e-6)
    if coef < 1 { pool.run(Scale(x: grads.pointer, count: grads.count, factor: coef)) }
    return norm
}

/// part[p] = Σ x² over the p-th of 16 chunks; thread t does the parts p with p mod threads = t.
private struct SumOfSquares: ParallelJob {
    let x: UnsafePointer<Float>, count: Int, part: UnsafeMutablePointer<Double>

    func run(thread t: Int, of threads: Int) {
        for p in stride(from: t, to: 16, by: threads) {
            let r = ThreadPool.chunk(count, part: p, of: 16, granule: 16)
            part[p] = Kernels.sumOfSquares(x + r.lowerBound, r.count)
        }
    }
}

private struct Scale: ParallelRangeJob {
    let x: UnsafeMutablePointer<Float>, count: Int, factor: Float
    var granule: Int { 16 }
    func run(_ r: Range<Int>) { Kernels.scale(x + r.lowerBound, factor, r.count) }
}
