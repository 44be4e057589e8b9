import Foundation

/// The paper's structured initialisation (spec §3b): for each head a random offset (m, n) in a K×K window, and
/// Q_h [D × hd], K_h [hd × D] optimised so that softmax(scale · X Q_h K_h Xᵀ) over the pseudo input X (LayerNorm
/// of the sin-cos position embedding, eps 1e-5, no affine) matches the shift matrix T_h, T_h[r·W+c, (r+m)·W+(c+n)] = 1,
/// with all-zero rows where the source leaves the grid. Loss: mean squared error over all heads·N·N entries;
/// Adam (lr 1e-4), full batch; every `renormEvery` iterations (before the step, Adam state kept) every column of
/// each Q_h and of each K_h is rescaled to the initial mean column norm of Q.
public struct ImpulseInit {
    public struct Options: Sendable, Equatable {
        /// Window size K (offsets in −K/2…K/2 along each axis).
        public var kernel: Int
        public var iterations = 10_000
        public var lr: Float = 1e-4
        public var renormEvery = 100
        public init(kernel: Int) { self.kernel = kernel }
    }

    /// What the optimisation produced, per head.
    public struct Result {
        /// Q for all heads side by side: [D × heads·hd], column h·hd + j is column j of Q_h.
        public var q: [Float]
        /// K for all heads stacked: [heads·hd × D], row h·hd + j is row j of K_h.
        public var k: [Float]
        /// (row, column) offset of each head's target.
        public var offsets: [(Int, Int)]
        /// Loss of the last iteration, before its step (what the reference code prints).
        public var finalLoss: Float
        /// Loss at iteration 0.
        public var initialLoss: Float
        /// Per head: mean attention on the target over rows that have one.
        public var targetMass: [Float]
        /// Per head: share of rows with a target whose argmax is the target.
        public var argmaxOnTarget: [Float]
        public var seconds: Double
    }

    public let grid: Int, dim: Int, heads: Int
    public let options: Options
    var headDim: Int { dim / heads }
    var tokens: Int { grid * grid }

    public init(grid: Int, dim: Int, heads: Int, options: Options) throws {
        if options.kernel < 1 { throw ViTKitError("impulse kernel size must be at least 1, got \(options.kernel)") }
        if options.kernel > 2 * grid - 1 {
            throw ViTKitError("impulse kernel size \(options.kernel) is larger than the \(grid)×\(grid) token grid allows "
                + "(at most \(2 * grid - 1))")
        }
        if dim % heads != 0 || dim % 4 != 0 {
            throw ViTKitError("impulse init needs embed dim divisible by num heads and by 4, got dim \(dim), heads \(heads)")
        }
        if options.iterations < 0 || options.renormEvery < 1 || !(options.lr > 0) {
            throw ViTKitError("impulse init needs iterations ≥ 0, renorm period ≥ 1 and lr > 0")
        }
        self.grid = grid; self.dim = dim; self.heads = heads; self.options = options
    }

    /// The pseudo input: LayerNorm (eps 1e-5, no affine) of the sin-cos position embedding, [N × D].
    public func pseudoInput(pool: ThreadPool) -> AlignedBuffer {
        let pe = AlignedBuffer(sincos2DPositionEmbedding(grid: grid, dim: dim))
        let x = AlignedBuffer(count: tokens * dim), mean = AlignedBuffer(count: tokens), rstd = AlignedBuffer(count: tokens)
        LayerNorm.forward(pool, out: x.pointer, mean: mean.pointer, rstd: rstd.pointer, inp: pe.pointer, w: nil, b: nil,
                          rows: tokens, dim: dim, eps: 1e-5)
        return x
    }

    /// For each head and token row, the target column (or −1 when the shifted source is off the grid).
    func targets(_ offsets: [(Int, Int)]) -> [Int32] {
        var t = [Int32](repeating: -1, count: heads * tokens)
        for (h, (m, n)) in offsets.enumerated() {
            for r in 0..<grid { for c in 0..<grid where (0..<grid).contains(r + m) && (0..<grid).contains(c + n) {
                t[h * tokens + r * grid + c] = Int32((r + m) * grid + c + n)
            } }
        }
        return t
    }

    /// Draws the offsets and the starting Q, K from `rng`, then optimises.
    public func run(pool: ThreadPool, rng: inout RNG) -> Result {
        let kk = options.kernel
        let offsets = (0..<heads).map { _ -> (Int, Int) in
            let k = rng.int(below: kk * kk)
            return (k / kk - kk / 2, k % kk - kk / 2)
        }
        let bound = (1 / Float(headDim * heads)).squareRoot()
        var table = ParameterTable()
        let qOff = table.add("q", [dim, heads * headDim]), kOff = table.add("k", [heads * headDim, dim])
        let params = AlignedBuffer(count: table.count), grads = AlignedBuffer(count: table.count)
        for i in 0..<(2 * dim * dim) { (i < dim * dim ? params.pointer + qOff + i : params.pointer + kOff + i - dim * dim).pointee = rng.uniform(-bound, bound) }
        return optimise(pool: pool, offsets: offsets, table: table, params: params, grads: grads)
    }

    func optimise(pool: ThreadPool, offsets: [(Int, Int)], table: ParameterTable, params: AlignedBuffer,
                  grads: AlignedBuffer) -> Result {
        let start = Date()
        let x = pseudoInput(pool: pool)
        let target = targets(offsets)
        let work = Workspace(tokens: tokens, dim: dim, heads: heads)
        let q = params.pointer + table["q"]!.offset, k = params.pointer + table["k"]!.offset
        let nq = meanColumnNorm(q, rows: dim, cols: dim)
        let adam = AdamW(table: table, eps: 1e-8, weightDecay: 0)
        var loss: Float = 0, initialLoss: Float = 0
        target.withUnsafeBufferPointer { target in
            for i in 0..<options.iterations {
                if i % options.renormEvery == 0 { renormalise(q: q, k: k, to: nq) }
                loss = lossAndGradients(pool: pool, x: x.pointer, q: q, k: k, target: target.baseAddress!, work: work,
                                        gq: grads.pointer + table["q"]!.offset, gk: grads.pointer + table["k"]!.offset)
                if i == 0 { initialLoss = loss }
                adam.update(pool, params: params, grads: grads, lr: options.lr)
            }
        }
        // statistics of the final maps
        let s = attentionMaps(pool: pool, x: x.pointer, q: q, k: k, work: work)
        var mass = [Float](repeating: 0, count: heads), hits = [Float](repeating: 0, count: heads)
        for h in 0..<heads {
            var rows = 0
            for r in 0..<tokens where target[h * tokens + r] >= 0 {
                let row = s + (h * tokens + r) * tokens, t = Int(target[h * tokens + r])
                mass[h] += row[t]
                var best = 0
                for j in 1..<tokens where row[j] > row[best] { best = j }
                if best == t { hits[h] += 1 }
                rows += 1
            }
            mass[h] /= Float(max(rows, 1)); hits[h] /= Float(max(rows, 1))
        }
        return Result(q: Array(UnsafeBufferPointer(start: q, count: dim * dim)),
                      k: Array(UnsafeBufferPointer(start: k, count: dim * dim)), offsets: offsets, finalLoss: loss,
                      initialLoss: initialLoss, targetMass: mass, argmaxOnTarget: hits,
                      seconds: Date().timeIntervalSince(start))
    }

    /// Buffers for one evaluation of the objective (all heads).
    final class Workspace {
        let a: AlignedBuffer, b: AlignedBuffer, s: AlignedBuffer, da: AlignedBuffer, db: AlignedBuffer
        let rowLoss: AlignedBuffer
        init(tokens n: Int, dim: Int, heads: Int) {
            a = AlignedBuffer(count: n * dim); b = AlignedBuffer(count: dim * n)
            s = AlignedBuffer(count: heads * n * n)
            da = AlignedBuffer(count: n * dim); db = AlignedBuffer(count: dim * n)
            rowLoss = AlignedBuffer(count: heads * n)
        }
    }

    /// A = X·Q_all [N × h·hd], B = K_all·Xᵀ [h·hd × N]; then per head S_h = softmax(scale · A_h B_h) into work.s.
    func attentionMaps(pool: ThreadPool, x: UnsafePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                       work: Workspace) -> UnsafeMutablePointer<Float> {
        let n = tokens, d = dim
        pool.gemm(m: n, n: d, k: d, a: x, lda: d, b: q, ldb: d, c: work.a.pointer, ldc: d)
        pool.gemm(transB: true, m: d, n: n, k: d, a: k, lda: d, b: x, ldb: d, c: work.b.pointer, ldc: n)
        pool.run(Maps(a: work.a.pointer, b: work.b.pointer, s: work.s.pointer, target: nil, rowLoss: nil,
                      tokens: n, dim: d, heads: heads, lossScale: 0))
        return work.s.pointer
    }

    /// The MSE objective and its gradients with respect to Q_all and K_all (written to gq, gk).
    func lossAndGradients(pool: ThreadPool, x: UnsafePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                          target: UnsafePointer<Int32>, work: Workspace, gq: UnsafeMutablePointer<Float>,
                          gk: UnsafeMutablePointer<Float>) -> Float {
        let n = tokens, d = dim, hd = headDim
        pool.gemm(m: n, n: d, k: d, a: x, lda: d, b: q, ldb: d, c: work.a.pointer, ldc: d)
        pool.gemm(transB: true, m: d, n: n, k: d, a: k, lda: d, b: x, ldb: d, c: work.b.pointer, ldc: n)
        let c = 2 / Float(heads * n * n)
        // S, the row losses, and dM (written over S), per head and row block
        pool.run(Maps(a: work.a.pointer, b: work.b.pointer, s: work.s.pointer, target: target,
                      rowLoss: work.rowLoss.pointer, tokens: n, dim: d, heads: heads, lossScale: c))
        for h in 0..<heads {
            let dm = work.s.pointer + h * n * n
            // dA_h = dM·B_hᵀ [N × hd], dB_h = A_hᵀ·dM [hd × N]
            pool.gemm(transB: true, m: n, n: hd, k: n, a: dm, lda: n, b: work.b.pointer + h * hd * n, ldb: n,
                      c: work.da.pointer + h * hd, ldc: d)
            pool.gemm(transA: true, m: hd, n: n, k: n, a: work.a.pointer + h * hd, lda: d, b: dm, ldb: n,
                      c: work.db.pointer + h * hd * n, ldc: n)
        }
        // gQ = Xᵀ·dA [D × h·hd], gK = dB·X [h·hd × D]
        pool.gemm(transA: true, m: d, n: d, k: n, a: x, lda: d, b: work.da.pointer, ldb: d, c: gq, ldc: d)
        pool.gemm(m: d, n: d, k: n, a: work.db.pointer, lda: n, b: x, ldb: d, c: gk, ldc: d)
        var total = 0.0
        for r in 0..<(heads * n) { total += Double(work.rowLoss[r]) }
        return Float(total / Double(heads * n * n))
    }

    /// Per (head, row): S = softmax(scale·A_h[r]·B_h); with a target, also the row's squared error and
    /// dM = scale·S ⊙ (dS − Σ dS⊙S), dS = c·(S − T), written over S.
    struct Maps: ParallelJob {
        let a: UnsafePointer<Float>, b: UnsafePointer<Float>, s: UnsafeMutablePointer<Float>
        let target: UnsafePointer<Int32>?, rowLoss: UnsafeMutablePointer<Float>?
        let tokens: Int, dim: Int, heads: Int, lossScale: Float

        func run(thread: Int, of threads: Int) {
            let n = tokens, hd = dim / heads, scale = 1 / Float(hd).squareRoot()
            let blocksPerHead = (n + 15) / 16
            for block in ThreadPool.chunk(heads * blocksPerHead, part: thread, of: threads) {
                let h = block / blocksPerHead, r0 = block % blocksPerHead * 16, rows = min(16, n - r0)
                let sh = s + (h * n + r0) * n
                BLAS.gemm(m: rows, n: n, k: hd, alpha: scale, a: a + r0 * dim + h * hd, lda: dim,
                          b: b + h * hd * n, ldb: n, c: sh, ldc: n)
                for i in 0..<rows {
                    let row = sh + i * n
                    _ = Attention.softmaxRow(row, n)
                    guard let target, let rowLoss else { continue }
                    let t = Int(target[h * n + r0 + i])
                    let ss = Float(Kernels.sumOfSquares(row, n))
                    let st: Float = t >= 0 ? row[t] : 0
                    rowLoss[h * n + r0 + i] = ss - 2 * st + (t >= 0 ? 1 : 0)
                    // dM_j = scale·S_j·(c(S_j − [j = t]) − c(ΣS² − S_t))
                    let c = lossScale, dot = c * (ss - st)
                    let cv = F8(repeating: c * scale), dv = F8(repeating: dot * scale)
                    var j = 0
                    while j + 8 <= n { let v = load8(row + j); store8(row + j, v * (cv * v - dv)); j += 8 }
                    while j < n { row[j] = row[j] * (c * scale * row[j] - dot * scale); j += 1 }
                    if t >= 0 { row[t] -= c * scale * st }
                }
            }
        }
    }

    /// Mean L2 norm of the columns of a [rows × cols] matrix.
    func meanColumnNorm(_ m: UnsafePointer<Float>, rows: Int, cols: Int) -> Float {
        var total = 0.0
        for c in 0..<cols {
            var s = 0.0
            for r in 0..<rows { s += Double(m[r * cols + c] * m[r * cols + c]) }
            total += s.squareRoot()
        }
        return Float(total / Double(cols))
    }

    /// Every column of each Q_h (over D) and every column of each K_h (over hd) rescaled to norm `target`.
    func renormalise(q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>, to target: Float) {
        let d = dim, hd = headDim
        for c in 0..<d {
            var s: Float = 0
            for r in 0..<d { s += q[r * d + c] * q[r * d + c] }
            let f = target / s.squareRoot()
            for r in 0..<d { q[r * d + c] *= f }
        }
        for h in 0..<heads {
            for c in 0..<d {
                var s: Float = 0
                for j in 0..<hd { s += k[(h * hd + j) * d + c] * k[(h * hd + j) * d + c] }
                let f = target / s.squareRoot()
                for j in 0..<hd { k[(h * hd + j) * d + c] *= f }
            }
        }
    }
}
