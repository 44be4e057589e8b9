import Foundation
import ViTKitCore
import ViTKitNN

/// The follow-up paper's init ("Structured Initialization for Vision Transformers", Zheng, Li, Saratchandran,
/// Lucey, NeurIPS 2025; osiriszjq/structured_initialization, commit 7cd02f1,
/// `pytorch-image-models-1.0.22/timm/models/vision_transformer.py` L684-728 `post_init_weights`, L85-131
/// `get_ortho_like` and `impulse_init`): after PyTorch's defaults (`weight_init='skip'`), one of three
/// `post_weight_init` modes with scales (norm_p, norm_q, norm_v):
///
/// - `default` (1, 1, 1): pos_embed ×norm_p, the q and k rows of every qkv ×norm_q, the v rows and proj ×norm_v;
/// - `mimetic` (1, 1, 1): per head, q/k rows from the factors of 0.7·Z + 0.7·I; per block, v/proj the factors
///   of 0.4·Z − 0.4·I (not transposed); all times their scales;
/// - `impulse` (18, 7, 1): pos_embed ×18; per block and head, Q, K in closed form: the rank-hd least-squares
///   fit, through the pseudo input P = LN(pos_embed's patch rows), of a logit target with 1000 on the head's
///   impulse (a fixed 3×3 tap order) and noise elsewhere; ×7; v/proj the (transposed) factors of 0.4·Z − 0.4·I.
///
/// Named `post-<mode>` (with an optional `<p>_<q>_<v>` suffix, as the reference's `impulse18_7_1`), so it
/// cannot be taken for the first paper's `mimetic<α>_<β>` and `impulse<K>`.
public struct PostInit: Sendable, Equatable, CustomStringConvertible {
    /// The reference's three `post_weight_init` modes.
    public enum Kind: String, Sendable, CaseIterable {
        /// Timm's structure, rescaled.
        case `default`
        /// Mimetic Q/K and V/proj, as the first paper's `mimetic0.7_0.7`.
        case mimetic
        /// The closed-form impulse Q/K.
        case impulse
    }

    /// Which mode.
    public var kind: Kind
    /// The position embedding's scale (norm_p).
    public var normP: Double
    /// The q and k rows' scale (norm_q).
    public var normQ: Double
    /// The v rows' and proj's scale (norm_v).
    public var normV: Double

    /// The mode with its reference scales: (1, 1, 1), or (18, 7, 1) for `impulse`.
    public init(_ kind: Kind) {
        self.kind = kind
        (normP, normQ, normV) = kind == .impulse ? (18, 7, 1) : (1, 1, 1)
    }

    /// The mode with these scales.
    public init(_ kind: Kind, normP: Double, normQ: Double, normV: Double) {
        self.kind = kind; self.normP = normP; self.normQ = normQ; self.normV = normV
    }

    /// `post-impulse`, or with scales other than the mode's own `post-impulse18_7_2`.
    public var description: String {
        let own = PostInit(kind)
        if own == self { return "post-\(kind.rawValue)" }
        func n(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v) }
        return "post-\(kind.rawValue)\(n(normP))_\(n(normQ))_\(n(normV))"
    }

    /// Head j's impulse: the kernel tap `[4, 1, 5, 3, 7, 0, 2, 6, 8][j % 9]` of a 3×3 window, as a (row, column)
    /// offset: head 0 the identity, head 1 (−1, 0), head 2 (0, +1), …
    public static func offset(head j: Int) -> (Int, Int) {
        let tap = [4, 1, 5, 3, 7, 0, 2, 6, 8][j % 9]
        return (tap / 3 - 1, tap % 3 - 1)
    }
}

extension VisionTransformer {
    /// The follow-up's init: `skip`'s defaults as its timm copy makes them (Linear U(±1/√fan_in), LayerNorm 1/0,
    /// class, distillation and register tokens 0, a learned pos_embed plain normal(0.02)), then the mode. With a fixed sin-cos
    /// table the position embedding is not a parameter and stays as it is (×norm_p would not be in a checkpoint);
    /// the impulse's pseudo input LN(norm_p·PE) = LN(PE) is the same either way.
    func initializePost(_ post: PostInit, rng: inout RNG) throws {
        let c = config, d = c.embedDim, heads = c.numHeads, hd = d / heads, p = params.pointer
        initializeDefaults(timm: false, rng: &rng)
        for name in ["cls_token", "dist_token", "reg_token"] {
            if let e = table[name] { (p + e.offset).update(repeating: 0, count: e.count) }
        }
        if let pe = posEmbed, let e = table["pos_embed"] {
            for i in 0..<e.count { p[pe + i] = 0.02 * rng.normal() * Float(post.normP) }
        }
        let nq = Float(post.normQ), nv = Float(post.normV)
        switch post.kind {
        case .default:
            for blk in blocks {
                Kernels.scale(p + blk.qkvw, nq, 2 * d * d)
                Kernels.scale(p + blk.qkvw + 2 * d * d, nv, d * d)
                Kernels.scale(p + blk.projw, nv, d * d)
            }
        case .mimetic:
            for blk in blocks {
                let qkv = p + blk.qkvw
                for h in 0..<heads {
                    let (_, l, r) = Self.orthoLike(dim: d, alpha: 0.7, beta: 0.7, sign: 1, rng: &rng)
                    for j in 0..<hd {
                        for col in 0..<d {
                            qkv[(h * hd + j) * d + col] = nq * Float(l[col * d + j])      // q rows = norm_q·L[:, :hd]ᵀ
                            qkv[(d + h * hd + j) * d + col] = nq * Float(r[j * d + col])  // k rows = norm_q·R[:hd, :]
                        }
                    }
                }
                let (_, l, r) = Self.orthoLike(dim: d, alpha: 0.4, beta: 0.4, sign: -1, rng: &rng)
                for i in 0..<(d * d) {
                    qkv[2 * d * d + i] = nv * Float(l[i])          // v rows = norm_v·V
                    p[blk.projw + i] = nv * Float(r[i])            // proj = norm_v·P
                }
            }
        case .impulse:
            guard c.isSquare else {
                throw ViTKitError("init post-impulse places its impulses on a square patch grid; the model's is \(c.gridHeight)×\(c.gridWidth)")
            }
            let pseudo = try impulsePseudoInverse(hd: hd)
            for blk in blocks {
                let (q, k) = Self.closedFormImpulse(pseudoInverse: pseudo, grid: c.gridSize, dim: d, heads: heads, rng: &rng)
                let qkv = p + blk.qkvw
                for h in 0..<heads {
                    for j in 0..<hd {
                        for col in 0..<d {
                            qkv[(h * hd + j) * d + col] = nq * Float(q[h][col * hd + j])      // q rows = 7·Q_hᵀ
                            qkv[(d + h * hd + j) * d + col] = nq * Float(k[h][j * d + col])   // k rows = 7·K_h
                        }
                    }
                }
                let (_, l, r) = Self.orthoLike(dim: d, alpha: 0.4, beta: 0.4, sign: -1, rng: &rng)
                for i in 0..<d {
                    for col in 0..<d {
                        qkv[(2 * d + i) * d + col] = nv * Float(l[col * d + i])   // v rows = norm_v·Vᵀ
                        p[blk.projw + i * d + col] = nv * Float(r[col * d + i])   // proj = norm_v·Pᵀ
                    }
                }
            }
        }
    }

    /// The pseudo input's rank-hd pseudo-inverse P⁺ [D × N]: P = LN(the position embedding's patch rows) (no
    /// affine, eps 1e-5), P⁺ = (PᵀP)⁺_hd · Pᵀ with only the top hd singular values of PᵀP inverted.
    func impulsePseudoInverse(hd: Int) throws -> [Double] {
        Self.pseudoInverse(try pseudoInput(), rows: config.numPatches, cols: config.embedDim, rank: hd)
    }

    /// The follow-up's pseudo input [N × D]: LN (eps 1e-5, no affine) of the position embedding's patch rows (after
    /// the prefix rows when the embedding covers them), learned or the fixed sin-cos table.
    func pseudoInput() throws -> [Double] {
        let c = config, d = c.embedDim, n = c.numPatches
        var pe = [Double](repeating: 0, count: n * d)
        if let at = posEmbed {
            let first = c.noEmbedClass ? 0 : c.numPrefixTokens
            for i in 0..<(n * d) { pe[i] = Double(params.pointer[at + first * d + i]) }
        } else if let fixed = fixedPosEmbed {
            for i in 0..<(n * d) { pe[i] = Double(fixed.pointer[i]) }
        } else {
            throw ViTKitError("init post-impulse needs a position embedding (its pseudo input), but the model has none")
        }
        return layerNormRows(pe, rows: n, cols: d)
    }

    /// Each row of x [rows × cols] normalised to mean 0 and variance 1 (torch's layer_norm, eps 1e-5, no affine).
    func layerNormRows(_ x: [Double], rows: Int, cols: Int) -> [Double] {
        var out = x
        for r in 0..<rows {
            let row = x[(r * cols)..<((r + 1) * cols)]
            let mean = row.reduce(0, +) / Double(cols)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(cols)
            let inv = 1 / (variance + 1e-5).squareRoot()
            for j in 0..<cols { out[r * cols + j] = (x[r * cols + j] - mean) * inv }
        }
        return out
    }

    /// P⁺ = (PᵀP)⁺ · Pᵀ [cols × rows] for P [rows × cols], inverting only the `rank` largest singular values of
    /// PᵀP (torch.svd's order: descending).
    static func pseudoInverse(_ p: [Double], rows n: Int, cols d: Int, rank: Int) -> [Double] {
        let ptp = BLAS.dgemm(transA: true, m: d, n: d, k: n, p, p)
        let (u, s, vh) = svd(ptp, n: d)
        // (PᵀP)⁺ = V diag(1/s) Uᵀ over the top `rank`: V = Vhᵀ
        var inv = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for j in 0..<d {
                var acc = 0.0
                for t in 0..<min(rank, d) where s[t] > 0 { acc += vh[t * d + i] / s[t] * u[j * d + t] }
                inv[i * d + j] = acc
            }
        }
        return BLAS.dgemm(transB: true, m: d, n: n, k: d, inv, p)  // inv · Pᵀ
    }

    /// Per head h: Q_h [D × hd] and K_h [hd × D], each of unit Frobenius norm, with Q_h K_h the rank-hd part of
    /// A_h = P⁺ W_h P⁺ᵀ, W_h = 1000·H_h + 3·T_h·(H_h = 0), H_h the head's impulse on the grid, T ~ timm's
    /// trunc_normal(std 0.6, cut at ±2) over [heads × N × N] (fresh per call).
    static func closedFormImpulse(pseudoInverse pinv: [Double], grid: Int, dim d: Int, heads: Int, rng: inout RNG)
        -> (q: [[Double]], k: [[Double]]) {
        let n = grid * grid, hd = d / heads
        var noise = [Double](repeating: 0, count: heads * n * n)
        for i in noise.indices { noise[i] = Double(rng.truncatedNormal(std: 0.6)) }
        var qs: [[Double]] = [], ks: [[Double]] = []
        for h in 0..<heads {
            var w = [Double](repeating: 0, count: n * n)
            let (dr, dc) = PostInit.offset(head: h)
            for i in 0..<(n * n) { w[i] = 3 * noise[h * n * n + i] }
            for r in 0..<grid {
                for c in 0..<grid where (0..<grid).contains(r + dr) && (0..<grid).contains(c + dc) {
                    w[(r * grid + c) * n + (r + dr) * grid + (c + dc)] = 1000
                }
            }
            // A = P⁺ W P⁺ᵀ [D × D]
            let pw = BLAS.dgemm(m: d, n: n, k: n, pinv, w)
            let a = BLAS.dgemm(transB: true, m: d, n: d, k: n, pw, pinv)
            let (u, s, vh) = svd(a, n: d)
            var q = [Double](repeating: 0, count: d * hd), k = [Double](repeating: 0, count: hd * d)
            for j in 0..<hd {
                let root = s[j].squareRoot()
                for i in 0..<d { q[i * hd + j] = u[i * d + j] * root; k[j * d + i] = vh[j * d + i] * root }
            }
            let qn = q.reduce(0) { $0 + $1 * $1 }.squareRoot(), kn = k.reduce(0) { $0 + $1 * $1 }.squareRoot()
            qs.append(q.map { $0 / qn }); ks.append(k.map { $0 / kn })
        }
        return (qs, ks)
    }
}

extension PostInit {
    /// How close one head's attention on the pseudo input is to its impulse.
    public struct HeadStatistics: Sendable, Equatable {
        /// The head's target offset (row, column).
        public var offset: (Int, Int)
        /// Mean attention on the target token, over the rows whose target is inside the grid.
        public var targetMass: Double
        /// Share of those rows whose largest attention is on the target.
        public var argmaxOnTarget: Double
        /// Mean squared difference between the attention and the impulse matrix, over all rows.
        public var mse: Double

        /// Equal numbers.
        public static func == (a: HeadStatistics, b: HeadStatistics) -> Bool {
            a.offset == b.offset && a.targetMass == b.targetMass && a.argmaxOnTarget == b.argmaxOnTarget && a.mse == b.mse
        }
    }
}

extension VisionTransformer {
    /// Per head of block `layer`, the attention on the follow-up's pseudo input (LN of the position embedding's
    /// patch rows, eps 1e-5, no affine; q, k without their biases; logits scaled by hd^-½) against head h's
    /// impulse at `PostInit.offset(head: h)`: what `vitkit init` reports for `post-impulse`, measured as the
    /// reference's statistics are.
    public func impulseStatistics(layer: Int) throws -> [PostInit.HeadStatistics] {
        let c = config, d = c.embedDim, heads = c.numHeads, hd = d / heads, n = c.numPatches, g = c.gridSize
        guard c.isSquare else { throw ViTKitError("the impulse statistics need a square patch grid; the model's is \(c.gridHeight)×\(c.gridWidth)") }
        let x = try pseudoInput()
        let w = (0..<(3 * d * d)).map { Double(params.pointer[blocks[layer].qkvw + $0]) }
        var out: [PostInit.HeadStatistics] = []
        for h in 0..<heads {
            let wq = Array(w[(h * hd * d)..<((h + 1) * hd * d)]), wk = Array(w[((d + h * hd) * d)..<((d + (h + 1) * hd) * d)])
            let q = BLAS.dgemm(transB: true, m: n, n: hd, k: d, x, wq), k = BLAS.dgemm(transB: true, m: n, n: hd, k: d, x, wk)
            var logits = BLAS.dgemm(transB: true, m: n, n: n, k: hd, q, k)
            let (dr, dc) = PostInit.offset(head: h)
            var mass = 0.0, hits = 0, inside = 0, sq = 0.0
            for r in 0..<n {
                let row = r * n
                var mx = -Double.infinity
                for j in 0..<n { logits[row + j] /= Double(hd).squareRoot(); mx = max(mx, logits[row + j]) }
                var sum = 0.0
                for j in 0..<n { logits[row + j] = Foundation.exp(logits[row + j] - mx); sum += logits[row + j] }
                for j in 0..<n { logits[row + j] /= sum }
                let (gr, gc) = (r / g + dr, r % g + dc)
                let target = (0..<g).contains(gr) && (0..<g).contains(gc) ? gr * g + gc : nil
                for j in 0..<n { let e = logits[row + j] - (j == target ? 1 : 0); sq += e * e }
                if let target {
                    inside += 1; mass += logits[row + target]
                    let best = (0..<n).max { logits[row + $0] < logits[row + $1] }!
                    if best == target { hits += 1 }
                }
            }
            out.append(PostInit.HeadStatistics(offset: (dr, dc), targetMass: mass / Double(max(inside, 1)),
                                               argmaxOnTarget: Double(hits) / Double(max(inside, 1)), mse: sq / Double(n * n)))
        }
        return out
    }
}
