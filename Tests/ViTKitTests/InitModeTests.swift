import XCTest
@testable import ViTKit
@testable import ViTKitCore
@testable import ViTKitData
@testable import ViTKitIO
@testable import ViTKitImaging
@testable import ViTKitModels
@testable import ViTKitNN
@testable import ViTKitPictures
@testable import ViTKitTraining

/// The init modes of spec §3c on a ViT: statistics, exact structure, and errors.
final class InitModeTests: XCTestCase {
    static func config() -> ViTConfig {
        var c = ViTConfig(name: "t", imgSize: 32, patchSize: 4, numClasses: 10, embedDim: 48, depth: 2, numHeads: 3)
        c.posEmbed = .sincos
        return c
    }

    func matmul(_ a: [Double], _ b: [Double], _ n: Int, _ k: Int, _ m: Int) -> [Double] {
        var c = [Double](repeating: 0, count: n * m)
        for i in 0..<n { for p in 0..<k { let v = a[i * k + p]; for j in 0..<m { c[i * m + j] += v * b[p * m + j] } } }
        return c
    }

    func testSkipKeepsPyTorchDefaults() throws {
        let m = try VisionTransformer(config: Self.config(), pool: Pools.one)
        var rng = RNG(seed: 1)
        try m.initialize(.skip, rng: &rng)
        for (name, fanIn) in [("blocks.0.attn.qkv.weight", 48), ("blocks.1.mlp.fc2.bias", 192), ("head.weight", 48),
                              ("patch_embed.proj.weight", 48)] {
            let v = Array(m.parameter(name)!), bound = 1 / Float(fanIn).squareRoot()
            XCTAssert(v.allSatisfy { abs($0) <= bound }, name)
            XCTAssertGreaterThan(v.map(abs).max()!, 0.9 * bound, name)
        }
        XCTAssert(m.parameter("blocks.0.norm1.weight")!.allSatisfy { $0 == 1 })
        XCTAssert(m.parameter("fc_norm.bias")!.allSatisfy { $0 == 0 })
    }

    func testOrthoLikeFactorsAndTruncation() {
        var rng = RNG(seed: 5)
        let d = 24, hd = 8
        let (a, l, r) = VisionTransformer.orthoLike(dim: d, alpha: 0.7, beta: 0.7, sign: 1, rng: &rng)
        let lr = matmul(l, r, d, d, d)
        for i in 0..<(d * d) { XCTAssertEqual(lr[i], a[i], accuracy: 1e-10) }
        // L[:, :hd]·R[:hd, :] is the best rank-hd approximation U_hd S_hd Vh_hd
        let (u, s, vh) = svd(a, n: d)
        for i in 0..<d {
            for j in 0..<d {
                var trunc = 0.0, prod = 0.0
                for p in 0..<hd { trunc += u[i * d + p] * s[p] * vh[p * d + j]; prod += l[i * d + p] * r[p * d + j] }
                XCTAssertEqual(prod, trunc, accuracy: 1e-10)
            }
        }
        XCTAssert(s.allSatisfy { $0 >= 0 } && zip(s, s.dropFirst()).allSatisfy { $0 >= $1 }, "singular values sorted")
    }

    /// Replays the RNG: every head's W_qᵀW_k is the rank-hd truncation of its own A, and every layer's W_proj·W_v
    /// has the eigenvalues of its A = 0.4Z − 0.4I (checked through the traces of its first three powers).
    func testMimeticOnTheModel() throws {
        let c = Self.config(), d = c.embedDim, hd = d / c.numHeads
        let m = try VisionTransformer(config: c, pool: Pools.one)
        var rng = RNG(seed: 9)
        try m.initialize(.mimetic(alpha: 0.7, beta: 0.7), rng: &rng)
        var replay = RNG(seed: 9)
        try VisionTransformer(config: c, pool: Pools.one).initializeDefaults(timm: false, rng: &replay)  // same draws
        for l in 0..<c.depth {
            let qkv = Array(m.parameter("blocks.\(l).attn.qkv.weight")!).map(Double.init)
            for h in 0..<c.numHeads {
                let (a, _, _) = VisionTransformer.orthoLike(dim: d, alpha: 0.7, beta: 0.7, sign: 1, rng: &replay)
                let wq = Array(qkv[(h * hd * d)..<((h + 1) * hd * d)])
                let wk = Array(qkv[((d + h * hd) * d)..<((d + (h + 1) * hd) * d)])
                let wqT = (0..<(d * hd)).map { wq[($0 % hd) * d + $0 / hd] }
                let qk = matmul(wqT, wk, d, hd, d)
                let (u, s, vh) = svd(a, n: d)
                var maxErr = 0.0
                for i in 0..<d { for j in 0..<d {
                    var t = 0.0
                    for p in 0..<hd { t += u[i * d + p] * s[p] * vh[p * d + j] }
                    maxErr = max(maxErr, abs(qk[i * d + j] - t))
                } }
                XCTAssertLessThan(maxErr, 1e-5, "layer \(l) head \(h)")
            }
            let (a, _, _) = VisionTransformer.orthoLike(dim: d, alpha: 0.4, beta: 0.4, sign: -1, rng: &replay)
            let wv = Array(qkv[(2 * d * d)...]), proj = Array(m.parameter("blocks.\(l).attn.proj.weight")!).map(Double.init)
            let pv = matmul(proj, wv, d, d, d)
            var pa = a, pp = pv
            for power in 1...3 {
                let ta = (0..<d).reduce(0.0) { $0 + pa[$1 * d + $1] }, tp = (0..<d).reduce(0.0) { $0 + pp[$1 * d + $1] }
                XCTAssertEqual(tp, ta, accuracy: 1e-4 * max(1, abs(ta)), "layer \(l): trace of power \(power)")
                pa = matmul(pa, a, d, d, d); pp = matmul(pp, pv, d, d, d)
            }
            XCTAssertNotEqual(pv[1], a[1], accuracy: 1e-6, "W_proj·W_v is similar to A, not equal to it (spec §3a)")
        }
        // the MLP keeps PyTorch's default
        let fc1 = Array(m.parameter("blocks.0.mlp.fc1.bias")!)
        XCTAssert(fc1.contains { $0 != 0 } && fc1.allSatisfy { abs($0) <= 1 / Float(d).squareRoot() })
    }

    func testImpulseWritesTheOptimisedQKIntoEveryLayer() throws {
        let c = Self.config(), d = c.embedDim
        let m = try VisionTransformer(config: c, pool: Pools.two)
        var rng = RNG(seed: 4)
        var o = InitOptions(); o.impulseIterations = 300
        let results = try m.initialize(.impulse(kernel: 3), options: o, rng: &rng)
        XCTAssertEqual(results.count, 1, "optimised once, shared by all layers (the reference's default)")
        let r = results[0]
        XCTAssertLessThan(r.finalLoss, r.initialLoss)
        for l in 0..<c.depth {
            let qkv = m.parameter("blocks.\(l).attn.qkv.weight")!
            XCTAssertEqual(qkv[5 * d + 7], r.q[7 * d + 5])           // Q row 5 = column 5 of Q_all
            XCTAssertEqual(qkv[(d + 9) * d + 2], r.k[9 * d + 2])     // K row 9
            XCTAssertLessThanOrEqual(abs(qkv[(2 * d + 3) * d]), 1 / Float(d).squareRoot(), "V keeps PyTorch's default")
        }
        var perLayer = InitOptions(); perLayer.impulseIterations = 10; perLayer.impulsePerLayer = true
        XCTAssertEqual(try m.initialize(.impulse(kernel: 3), options: perLayer, rng: &rng).count, c.depth)
    }

    /// The pseudo-input codes of spec §3b: P has no randomness; U is U(−1, 1); G a normal of std √½ cut at ±2;
    /// A and B add those noises to P.
    func testPseudoInputTensors() throws {
        let grid = 8, d = 48, pe = sincos2DPositionEmbedding(grid: grid, dim: d)
        var rng = RNG(seed: 9)
        var before = rng
        XCTAssertEqual(PseudoInput.P.tensor(grid: grid, dim: d, rng: &rng), pe)
        XCTAssertEqual(rng.next(), before.next(), "P draws nothing")
        func moments(_ x: [Float]) -> (mean: Double, std: Double) {
            let m = x.reduce(0) { $0 + Double($1) } / Double(x.count)
            return (m, (x.reduce(0) { $0 + (Double($1) - m) * (Double($1) - m) } / Double(x.count)).squareRoot())
        }
        let u = PseudoInput.U.tensor(grid: grid, dim: d, rng: &rng)
        XCTAssert(u.allSatisfy { abs($0) <= 1 })
        XCTAssertEqual(moments(u).mean, 0, accuracy: 0.03)
        XCTAssertEqual(moments(u).std, (1.0 / 3).squareRoot(), accuracy: 0.02)
        let g = PseudoInput.G.tensor(grid: grid, dim: d, rng: &rng)
        XCTAssert(g.allSatisfy { abs($0) <= 2 } && g.contains { abs($0) > 1.5 })
        // std √½ truncated at ±2/√½ ≈ ±2.83σ keeps about 0.977 of the variance
        XCTAssertEqual(moments(g).std, (0.5 * 0.977).squareRoot(), accuracy: 0.02)
        let a = PseudoInput.A.tensor(grid: grid, dim: d, rng: &rng), b = PseudoInput.B.tensor(grid: grid, dim: d, rng: &rng)
        let an = zip(a, pe).map { $0 - $1 }, bn = zip(b, pe).map { $0 - $1 }
        XCTAssert(an.allSatisfy { abs($0) <= 1 + 1e-6 })
        XCTAssertEqual(moments(an).std, (1.0 / 3).squareRoot(), accuracy: 0.02)
        XCTAssertEqual(moments(bn).std, (0.5 * 0.977).squareRoot(), accuracy: 0.02)
        XCTAssertThrowsError(try PseudoInput(parsing: "Z")) { XCTAssert("\($0)".contains("expected one of P (sin-cos"), "\($0)") }
    }

    /// The reference's schedule with two pseudo inputs: layer 0 optimised on the first, layer 1 on the second, and
    /// layers 2… share layer 1's Q, K; a noise input still fits its targets.
    func testImpulseWithASecondPseudoInput() throws {
        var c = Self.config(); c.depth = 4
        let d = c.embedDim
        let m = try VisionTransformer(config: c, pool: Pools.two)
        var rng = RNG(seed: 5)
        var o = InitOptions(); o.impulseIterations = 300; o.impulseInput = .P; o.impulseInput2 = .U
        let results = try m.initialize(.impulse(kernel: 3), options: o, rng: &rng)
        XCTAssertEqual(results.map(\.layers), [0...0, 1...3])
        let q = (0..<c.depth).map { Array(m.parameter("blocks.\($0).attn.qkv.weight")![0..<(2 * d * d)]) }
        XCTAssertNotEqual(q[0], q[1])
        XCTAssertEqual(q[1], q[2]); XCTAssertEqual(q[1], q[3])
        XCTAssertLessThan(results[1].finalLoss, results[1].initialLoss)
        o.impulseInput2 = nil; o.impulseInput = .G
        XCTAssertEqual(try m.initialize(.impulse(kernel: 3), options: o, rng: &rng).map(\.layers), [0...3])
    }

    func testInitModeParsingAndErrors() throws {
        XCTAssertEqual(try InitMode(parsing: "mimetic0.7_0.7"), .mimetic(alpha: 0.7, beta: 0.7))
        XCTAssertEqual(try InitMode(parsing: "impulse5"), .impulse(kernel: 5))
        XCTAssertEqual(try InitMode(parsing: "mimetic0.7_0.7").description, "mimetic0.7_0.7")
        for (text, why) in [("impulse0", "at least 1"), ("impulseX", "whole-number"), ("mimetic", "two numbers"),
                            ("mimetic-0.5_0.7", "0 or more"), ("xavier", "unknown")] {
            XCTAssertThrowsError(try InitMode(parsing: text)) {
                XCTAssert("\($0)".contains(why) && "\($0)".contains("expected timm, skip, mimetic<alpha>_<beta>"), "\($0)")
            }
        }
        var c = Self.config()
        var rng = RNG(seed: 1)
        XCTAssertThrowsError(try VisionTransformer(config: c, pool: Pools.one).initialize(.impulse(kernel: 17), rng: &rng)) {
            XCTAssert("\($0)".contains("larger than the 8×8 token grid allows"), "\($0)")
        }
        c.posEmbed = .learn
        XCTAssertThrowsError(try VisionTransformer(config: c, pool: Pools.one).initialize(.impulse(kernel: 3), rng: &rng)) {
            XCTAssert("\($0)".contains("needs the fixed sin-cos position embedding"), "\($0)")
        }
        c.posEmbed = .sincos; c.classToken = true
        XCTAssertThrowsError(try VisionTransformer(config: c, pool: Pools.one).initialize(.impulse(kernel: 3), rng: &rng)) {
            XCTAssert("\($0)".contains("class/register token"), "\($0)")
        }
    }
}
