import Foundation
import ViTKitCore
import ViTKitIO
import ViTKitImaging
import ViTKitNN

/// The paper's structured initialisation (osiriszjq/structured_init `timm/models/vision_transformer.py` L616-653 and `impulse_init`, L869-924): for each head a random offset (m, n) in a K×K window, and
/// Q_h [D × hd], K_h [hd × D] optimised so that softmax(scale · X Q_h K_h Xᵀ) over the pseudo input X (LayerNorm,
/// eps 1e-5, no affine, of the sin-cos position embedding or of one of the other `PseudoInput`s) matches the shift matrix T_h, T_h[r·W+c, (r+m)·W+(c+n)] = 1,
/// with all-zero rows where the source leaves the grid. Loss: mean squared error over all heads·N·N entries;
/// Adam (lr 1e-4), full batch; every `renormEvery` iterations (before the step, Adam state kept) every column of
/// each Q_h and of each K_h is rescaled to the initial mean column norm of Q.
public struct ImpulseInit {
    /// The optimisation's settings (the reference's defaults).
    public struct Options: Sendable, Equatable {
        /// Window size K (offsets in −K/2…K/2 along each axis).
        public var kernel: Int
        /// Adam iterations.
        public var iterations = 10_000
        /// Adam's learning rate.
        public var lr: Float = 1e-4
        /// Iterations between column renormalisations.
        public var renormEvery = 100
        /// What X is LayerNorm of (the reference's default: the sin-cos position embedding).
        public var pseudoInput = PseudoInput.P
        /// The defaults for a `kernel` × `kernel` window.
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
        /// Wall-clock seconds the optimisation took.
        public var seconds: Double
        /// The model layers that received this Q, K (set by `VisionTransformer.initialize`).
        public var layers = 0...0
    }

    /// Patch-grid side, model width and head count the Q, K are made for.
    public let grid: Int, dim: Int, heads: Int
    /// The optimisation's settings.
    public let options: Options
    var headDim: Int { dim / heads }
    var tokens: Int { grid * grid }

    /// An optimisation for a `grid` × `grid` patch grid, `dim` wide with `heads` heads; throws for a window larger than
    /// the grid allows, a `dim` not divisible by `heads` and by 4, or bad settings.
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

    /// The pseudo input: LayerNorm (eps 1e-5, no affine) of `options.pseudoInput`'s tensor, [N × D]; noise (for
    /// U, G, A, B) drawn from `rng`.
    public func pseudoInput(pool: ThreadPool, rng: inout RNG) -> AlignedBuffer {
        let pe = AlignedBuffer(options.pseudoInput.tensor(grid: grid, dim: dim, rng: &rng))
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

    /// Draws the pseudo input (as the reference does, first), the offsets and the starting Q, K from `rng`, then
    /// optimises.
    public func run(pool: ThreadPool, rng: inout RNG) -> Result {
        let x = pseudoInput(pool: pool, rng: &rng)
        let kk = options.kernel
        let offsets = (0..<heads).map { _ -> (Int, Int) in
            let k = rng.int(below: kk * kk)
            return (k / kk - kk / 2, k % kk - kk / 2)
        }
        let bound = (1 / Float(headDim * heads)).squareRoot()
        var table = ParameterTable()
        let qOff = table.add("q", [dim, heads * headDim]), kOff = table.add("k", [heads * headDim, dim])
        let params = AlignedBuffer(count: table.count), grads = AlignedBuffer(count: table.count)
        for i in 0..<(dim * dim) { params[qOff + i] = rng.uniform(-bound, bound) }
        for i in 0..<(dim * dim) { params[kOff + i] = rng.uniform(-bound, bound) }
        return optimise(pool: pool, x: x, offsets: offsets, table: table, params: params, grads: grads)
    }

    func optimise(pool: ThreadPool, x: AlignedBuffer, offsets: [(Int, Int)], table: ParameterTable,
                  params: AlignedBuffer, grads: AlignedBuffer) -> Result {
        let start = Date()
        // noisy pseudo inputs (U, G, A, B) have full rank min(N, D): still exact, just no saving
        let basis = Basis(pool, x: x, tokens: tokens, dim: dim)
        let target = targets(offsets)
        let work = Workspace(tokens: tokens, dim: dim, heads: heads, rank: basis.rank)
        let q = params.pointer + table["q"]!.offset, k = params.pointer + table["k"]!.offset
        let gq = grads.pointer + table["q"]!.offset, gk = grads.pointer + table["k"]!.offset
        let nq = meanColumnNorm(q, rows: dim, cols: dim)
        let adam = AdamW(table: table, eps: 1e-8, weightDecay: 0)
        var loss: Float = 0, initialLoss: Float = 0
        target.withUnsafeBufferPointer { target in
            for i in 0..<options.iterations {
                if i % options.renormEvery == 0 { renormalise(q: q, k: k, to: nq) }
                loss = lossAndGradients(pool: pool, basis: basis, q: q, k: k, target: target.baseAddress!, work: work,
                                        gq: gq, gk: gk)
                if i == 0 { initialLoss = loss }
                adam.update(pool, params: params, grads: grads, lr: options.lr)
            }
        }
        // statistics of the final maps
        let s = attentionMaps(pool: pool, basis: basis, q: q, k: k, work: work)
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

    /// X = U·V with U [N × r] orthonormal columns and V = Uᵀ X [r × D]. The sin-cos pseudo input (P) has rank at most
    /// 2·grid + 1 (every PE column is a function of the token's row or of its column, LayerNorm subtracts such a
    /// function and rescales rows), so every product with X shrinks from D to r ≤ 33 for a 16×16 grid, and
    /// X Q_h K_h Xᵀ = U (V Q_h)(K_h Vᵀ) Uᵀ exactly. Found by Gram-Schmidt in Double precision.
    struct Basis {
        let u: AlignedBuffer, v: AlignedBuffer, rank: Int

        init(_ pool: ThreadPool, x: AlignedBuffer, tokens n: Int, dim d: Int) {
            var basis: [[Double]] = []
            for j in 0..<d {
                let column = (0..<n).map { Double(x[$0 * d + j]) }
                let norm0 = column.reduce(0) { $0 + $1 * $1 }.squareRoot()
                var v = column
                for _ in 0..<2 {  // twice: classical Gram-Schmidt made stable
                    for b in basis {
                        var dot = 0.0
                        for i in 0..<n { dot += b[i] * v[i] }
                        for i in 0..<n { v[i] -= dot * b[i] }
                    }
                }
                let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                if norm > 1e-5 * max(norm0, 1e-30) { basis.append(v.map { $0 / norm }) }
            }
            rank = basis.count
            u = AlignedBuffer(count: n * rank)
            for i in 0..<n { for c in 0..<rank { u[i * rank + c] = Float(basis[c][i]) } }
            v = AlignedBuffer(count: rank * d)
            for c in 0..<rank {
                for j in 0..<d {
                    var dot = 0.0
                    for i in 0..<n { dot += basis[c][i] * Double(x[i * d + j]) }
                    v[c * d + j] = Float(dot)
                }
            }
        }
    }

    /// Buffers for one evaluation of the objective (all heads); r is the pseudo input's rank.
    final class Workspace {
        let p: AlignedBuffer, r: AlignedBuffer, c: AlignedBuffer, e: AlignedBuffer, f: AlignedBuffer
        let dc: AlignedBuffer, dp: AlignedBuffer, dr: AlignedBuffer, s: AlignedBuffer, rowLoss: AlignedBuffer
        init(tokens n: Int, dim: Int, heads: Int, rank: Int) {
            p = AlignedBuffer(count: rank * dim); r = AlignedBuffer(count: dim * rank)
            c = AlignedBuffer(count: heads * rank * rank); dc = AlignedBuffer(count: heads * rank * rank)
            e = AlignedBuffer(count: heads * n * rank); f = AlignedBuffer(count: heads * n * rank)
            dp = AlignedBuffer(count: rank * dim); dr = AlignedBuffer(count: dim * rank)
            s = AlignedBuffer(count: heads * n * n); rowLoss = AlignedBuffer(count: heads * n)
        }
    }

    /// P = V·Q_all [r × D], R = K_all·Vᵀ [D × r], C_h = P_h R_h [r × r], E_h = U C_h [N × r].
    private func project(pool: ThreadPool, basis: Basis, q: UnsafePointer<Float>, k: UnsafePointer<Float>, work: Workspace) {
        let d = dim, hd = headDim, r = basis.rank, n = tokens
        pool.gemm(m: r, n: d, k: d, a: basis.v.pointer, lda: d, b: q, ldb: d, c: work.p.pointer, ldc: d)
        pool.gemm(transB: true, m: d, n: r, k: d, a: k, lda: d, b: basis.v.pointer, ldb: d, c: work.r.pointer, ldc: r)
        for h in 0..<heads {
            BLAS.gemm(m: r, n: r, k: hd, a: work.p.pointer + h * hd, lda: d, b: work.r.pointer + h * hd * r, ldb: r,
                      c: work.c.pointer + h * r * r, ldc: r)
            BLAS.gemm(m: n, n: r, k: r, a: basis.u.pointer, lda: r, b: work.c.pointer + h * r * r, ldb: r,
                      c: work.e.pointer + h * n * r, ldc: r)
        }
    }

    /// Per head S_h = softmax(scale · X Q_h K_h Xᵀ) [N × N], into work.s.
    func attentionMaps(pool: ThreadPool, basis: Basis, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                       work: Workspace) -> UnsafeMutablePointer<Float> {
        project(pool: pool, basis: basis, q: q, k: k, work: work)
        pool.run(Maps(e: work.e.pointer, u: basis.u.pointer, s: work.s.pointer, f: nil, target: nil, rowLoss: nil,
                      tokens: tokens, rank: basis.rank, heads: heads, scale: 1 / Float(headDim).squareRoot(), lossScale: 0))
        return work.s.pointer
    }

    /// The MSE objective and its gradients with respect to Q_all and K_all (written to gq, gk).
    func lossAndGradients(pool: ThreadPool, basis: Basis, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                          target: UnsafePointer<Int32>, work: Workspace, gq: UnsafeMutablePointer<Float>,
                          gk: UnsafeMutablePointer<Float>) -> Float {
        let n = tokens, d = dim, hd = headDim, r = basis.rank
        project(pool: pool, basis: basis, q: q, k: k, work: work)
        // S, the row losses, dM (over S) and F_h = dM_h U, per head and row block
        pool.run(Maps(e: work.e.pointer, u: basis.u.pointer, s: work.s.pointer, f: work.f.pointer, target: target,
                      rowLoss: work.rowLoss.pointer, tokens: n, rank: r, heads: heads,
                      scale: 1 / Float(hd).squareRoot(), lossScale: 2 / Float(heads * n * n)))
        for h in 0..<heads {
            let dc = work.dc.pointer + h * r * r
            // dC_h = Uᵀ F_h; dP_h = dC_h R_hᵀ; dR_h = P_hᵀ dC_h
            BLAS.gemm(transA: true, m: r, n: r, k: n, a: basis.u.pointer, lda: r, b: work.f.pointer + h * n * r, ldb: r,
                      c: dc, ldc: r)
            BLAS.gemm(transB: true, m: r, n: hd, k: r, a: dc, lda: r, b: work.r.pointer + h * hd * r, ldb: r,
                      c: work.dp.pointer + h * hd, ldc: d)
            BLAS.gemm(transA: true, m: hd, n: r, k: r, a: work.p.pointer + h * hd, lda: d, b: dc, ldb: r,
                      c: work.dr.pointer + h * hd * r, ldc: r)
        }
        // gQ = Vᵀ dP [D × D], gK = dR V [D × D]
        pool.gemm(transA: true, m: d, n: d, k: r, a: basis.v.pointer, lda: d, b: work.dp.pointer, ldb: d, c: gq, ldc: d)
        pool.gemm(m: d, n: d, k: r, a: work.dr.pointer, lda: r, b: basis.v.pointer, ldb: d, c: gk, ldc: d)
        var total = 0.0
        for i in 0..<(heads * n) { total += Double(work.rowLoss[i]) }
        return Float(total / Double(heads * n * n))
    }

    /// Per (head, block of 16 rows): M = scale·E_h Uᵀ, S = softmax rows; with a target, also each row's squared
    /// error, dM = scale·S ⊙ (dS − Σ dS⊙S) with dS = c·(S − T) (written over S), and F_h = dM U.
    struct Maps: ParallelJob {
        let e: UnsafePointer<Float>, u: UnsafePointer<Float>, s: UnsafeMutablePointer<Float>
        let f: UnsafeMutablePointer<Float>?, target: UnsafePointer<Int32>?, rowLoss: UnsafeMutablePointer<Float>?
        let tokens: Int, rank: Int, heads: Int, scale: Float, lossScale: Float

        func run(thread: Int, of threads: Int) {
            let n = tokens, r = rank
            let blocksPerHead = (n + 15) / 16
            for block in ThreadPool.chunk(heads * blocksPerHead, part: thread, of: threads) {
                let h = block / blocksPerHead, r0 = block % blocksPerHead * 16, rows = min(16, n - r0)
                let sh = s + (h * n + r0) * n
                BLAS.gemm(transB: true, m: rows, n: n, k: r, alpha: scale, a: e + (h * n + r0) * r, lda: r,
                          b: u, ldb: r, c: sh, ldc: n)
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
                if let f {
                    BLAS.gemm(m: rows, n: r, k: n, a: sh, lda: n, b: u, ldb: r, c: f + (h * n + r0) * r, ldc: r)
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
