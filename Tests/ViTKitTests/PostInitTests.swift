import Foundation
import XCTest
@testable import ViTKit
@testable import ViTKitCore
@testable import ViTKitModels

/// The follow-up paper's closed-form init (`post-default`, `post-mimetic`, `post-impulse`): names, the algebra,
/// and the attention it gives at init against PyTorch (`scripts/make_post_init_fixtures.py`).
final class PostInitTests: XCTestCase {
    func testNamesCannotBeTakenForTheFirstPapers() throws {
        XCTAssertEqual(try InitMode(parsing: "post-impulse"), .post(PostInit(.impulse)))
        XCTAssertEqual(PostInit(.impulse).normP, 18); XCTAssertEqual(PostInit(.impulse).normQ, 7); XCTAssertEqual(PostInit(.impulse).normV, 1)
        XCTAssertEqual(PostInit(.mimetic).normQ, 1)
        XCTAssertEqual(try InitMode(parsing: "post-impulse18_7_2"), .post(PostInit(.impulse, normP: 18, normQ: 7, normV: 2)))
        XCTAssertEqual(try InitMode(parsing: "post-default2_0.5_1"), .post(PostInit(.default, normP: 2, normQ: 0.5, normV: 1)))
        for text in ["post-impulse", "post-mimetic", "post-default", "post-impulse18_7_2", "post-default2_0.5_1"] {
            XCTAssertEqual(try InitMode(parsing: text).description, text)
        }
        XCTAssertEqual(try InitMode(parsing: "impulse3"), .impulse(kernel: 3), "the first paper's keeps its name")
        XCTAssertEqual(try InitMode(parsing: "mimetic0.7_0.7"), .mimetic(alpha: 0.7, beta: 0.7))
        XCTAssertThrowsError(try InitMode(parsing: "post-impulse18_7")) { XCTAssert("\($0)".contains("three scales"), "\($0)") }
        XCTAssertThrowsError(try InitMode(parsing: "post-fancy")) { XCTAssert("\($0)".contains("post-impulse18_7_1"), "\($0)") }
    }

    /// Head j's target is tap [4, 1, 5, 3, 7, 0, 2, 6, 8][j mod 9] of the 3×3 window: not random.
    func testTheFixedKernelOrder() {
        let offsets = (0..<10).map { PostInit.offset(head: $0) }
        let expected = [(0, 0), (-1, 0), (0, 1), (0, -1), (1, 0), (-1, -1), (-1, 1), (1, -1), (1, 1), (0, 0)]
        for (a, b) in zip(offsets, expected) { XCTAssert(a == b, "\(offsets)") }
    }

    /// P⁺ inverts P on its top-hd subspace: for P of rank hd, P·P⁺·P = P; Q_h, K_h have unit Frobenius norm and
    /// Q_h·K_h has rank hd.
    func testPseudoInverseAndUnitNorms() {
        var rng = RNG(seed: 4)
        let n = 36, d = 24, hd = 6
        let left = (0..<(n * hd)).map { _ in Double(rng.normal()) }, right = (0..<(hd * d)).map { _ in Double(rng.normal()) }
        let p = BLAS.dgemm(m: n, n: d, k: hd, left, right)
        let pinv = VisionTransformer.pseudoInverse(p, rows: n, cols: d, rank: hd)
        let ppp = BLAS.dgemm(m: n, n: d, k: n, BLAS.dgemm(m: n, n: n, k: d, p, pinv), p)
        let scale = p.map(abs).max()!
        XCTAssertLessThan(zip(ppp, p).map { abs($0 - $1) }.max()!, 1e-9 * scale * 100, "P P⁺ P = P")

        let full = (0..<(n * d)).map { _ in Double(rng.normal()) }
        let pinvFull = VisionTransformer.pseudoInverse(full, rows: n, cols: d, rank: hd)
        let (q, k) = VisionTransformer.closedFormImpulse(pseudoInverse: pinvFull, grid: 6, dim: d, heads: 4, rng: &rng)
        for h in 0..<4 {
            XCTAssertEqual(q[h].reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-12)
            XCTAssertEqual(k[h].reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-12)
            let qk = BLAS.dgemm(m: d, n: d, k: hd, q[h], k[h])
            let s = svd(qk, n: d).s
            XCTAssertGreaterThan(s[hd - 1], 1e-6 * s[0]); XCTAssertLessThan(s[hd], 1e-9 * s[0], "rank hd")
        }
    }

    func vit(grid: Int, patch: Int, dim: Int, heads: Int, classToken: Bool = false, sincos: Bool = false) throws -> VisionTransformer {
        var c = ViTConfig(name: "t", imgSize: grid * patch, patchSize: patch, numClasses: 10, embedDim: dim, depth: 2, numHeads: heads)
        c.posEmbed = sincos ? .sincos : .learn
        if classToken { c.classToken = true; c.globalPool = .token; c.noEmbedClass = false }
        return try VisionTransformer(config: c, pool: Pools.one)
    }

    /// What the modes write: the scales, the skip defaults of the follow-up's timm copy, and the transposes that
    /// differ (mimetic: v rows = V, proj = P; impulse: Vᵀ and Pᵀ; with V·P = 0.4·Z − 0.4·I either way).
    func testWhatEachModeWrites() throws {
        let d = 48, heads = 4, hd = 12, bound = 0.4 * (3.0 / Double(d)).squareRoot() + 1e-5
        for kind in PostInit.Kind.allCases {
            let m = try vit(grid: 4, patch: 4, dim: d, heads: heads, classToken: true)
            var rng = RNG(seed: 9)
            try m.initialize(.post(PostInit(kind)), options: InitOptions(), rng: &rng)
            XCTAssertEqual(m.parameter("cls_token")!.max(), 0, "\(kind): class token zero")
            let pe = Array(m.parameter("pos_embed")!)
            let std = (pe.reduce(0) { $0 + Double($1 * $1) } / Double(pe.count)).squareRoot()
            XCTAssertEqual(std, 0.02 * PostInit(kind).normP, accuracy: 0.1 * 0.02 * PostInit(kind).normP, "\(kind): pos_embed ~ N(0, .02)·norm_p")
            let qkv = m.parameter("blocks.0.attn.qkv.weight")!, proj = m.parameter("blocks.0.attn.proj.weight")!
            let wv = (0..<(d * d)).map { Double(qkv[2 * d * d + $0]) }, wo = proj.map(Double.init)
            switch kind {
            case .default:
                let bound = 1 / Double(d).squareRoot()
                XCTAssertLessThanOrEqual(qkv.map { abs(Double($0)) }.max()!, bound, "PyTorch's default U(±1/√fan_in), ×1")
            case .mimetic:
                let vp = BLAS.dgemm(m: d, n: d, k: d, wv, wo)   // V·P = L·R = A
                for i in 0..<d { for j in 0..<d { XCTAssertLessThan(abs(vp[i * d + j] + (i == j ? 0.4 : 0)), bound) } }
            case .impulse:
                let vp = BLAS.dgemm(transA: true, transB: true, m: d, n: d, k: d, wv, wo)   // (Vᵀ)ᵀ·(Pᵀ)ᵀ = L·R = A
                for i in 0..<d { for j in 0..<d { XCTAssertLessThan(abs(vp[i * d + j] + (i == j ? 0.4 : 0)), bound) } }
                for h in 0..<heads {
                    let rows = qkv[(h * hd * d)..<((h + 1) * hd * d)], kRows = qkv[((d + h * hd) * d)..<((d + (h + 1) * hd) * d)]
                    XCTAssertEqual(rows.reduce(0) { $0 + Double($1 * $1) }.squareRoot(), 7, accuracy: 1e-4, "q rows = 7·Q_hᵀ, ‖Q_h‖ = 1")
                    XCTAssertEqual(kRows.reduce(0) { $0 + Double($1 * $1) }.squareRoot(), 7, accuracy: 1e-4)
                }
            }
        }
    }

    struct Fixture: Decodable {
        struct Case: Decodable {
            let grid: Int, dim: Int, heads: Int, prefix: Int, seeds: Int
            let mean_target_mass_argmax_mse: [[Double]], range_over_seeds: [[Double]]
        }
        let torch: String, cases: [Case]
    }

    /// Per head, the attention on the pseudo input at init, averaged over 8 seeds, against PyTorch's average over
    /// its own 8 seeds (a re-derivation of the reference function): target mass and argmax share within 0.03 or
    /// half their range over seeds, whichever is larger; the MSE within a factor of 2 (it is ~1e-4, or ~1e-8 where
    /// the fit is exact).
    func testAttentionStatisticsMatchPyTorch() throws {
        let url = Bundle.module.url(forResource: "post_impulse_stats", withExtension: "json", subdirectory: "Fixtures")!
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        for c in fixture.cases {
            var sums = [[Double]](repeating: [0, 0, 0], count: c.heads)
            let patch = c.grid == 14 ? 16 : (c.grid == 16 ? 2 : 4)
            for seed in 0..<c.seeds {
                let m = try vit(grid: c.grid, patch: patch, dim: c.dim, heads: c.heads, classToken: c.prefix == 1)
                var rng = RNG(seed: UInt64(100 + seed))
                try m.initialize(.post(PostInit(.impulse)), options: InitOptions(), rng: &rng)
                for (h, s) in try m.impulseStatistics(layer: 0).enumerated() {
                    sums[h][0] += s.targetMass; sums[h][1] += s.argmaxOnTarget; sums[h][2] += s.mse
                }
            }
            for h in 0..<c.heads {
                let ours = sums[h].map { $0 / Double(c.seeds) }, theirs = c.mean_target_mass_argmax_mse[h]
                let what = "grid \(c.grid) dim \(c.dim) heads \(c.heads) head \(h): ours \(ours), torch \(theirs)"
                for i in 0..<2 { XCTAssertEqual(ours[i], theirs[i], accuracy: max(0.03, c.range_over_seeds[h][i] / 2), what) }
                XCTAssert(ours[2] <= 2 * theirs[2] + 1e-9 && ours[2] >= theirs[2] / 2 - 1e-9, what)
            }
        }
    }

    /// A fixed sin-cos table keeps its values (it is not a parameter); the pseudo input is LN of it either way.
    func testSinCosTableStaysAndStillGivesImpulses() throws {
        let m = try vit(grid: 8, patch: 4, dim: 192, heads: 3, sincos: true)
        let before = m.fixedPosEmbed!.array
        var rng = RNG(seed: 1)
        try m.initialize(.post(PostInit(.impulse)), options: InitOptions(), rng: &rng)
        XCTAssertEqual(m.fixedPosEmbed!.array, before)
        for s in try m.impulseStatistics(layer: 1) { XCTAssertGreaterThan(s.argmaxOnTarget, 0.99, "\(s)") }
    }
}
