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

/// Each layer alone, forward and backward, against PyTorch (float32; tolerance 1e-5 of the tensor's scale).
final class LayerTests: XCTestCase {
    let tol: Float = 1e-5

    func testLinear() {
        for pool in [Pools.one, Pools.two] {
            let x = AlignedBuffer(Fixture.get("linear.x")), w = AlignedBuffer(Fixture.get("linear.w"))
            let b = AlignedBuffer(Fixture.get("linear.b")), dy = AlignedBuffer(Fixture.get("linear.dy"))
            let y = AlignedBuffer(count: 30), dx = AlignedBuffer(count: 35), dw = AlignedBuffer(count: 42), db = AlignedBuffer(count: 6)
            Linear.forward(pool, out: y.pointer, inp: x.pointer, w: w.pointer, b: b.pointer, rows: 5, inF: 7, outF: 6)
            Linear.backward(pool, dinp: dx.pointer, dw: dw.pointer, db: db.pointer, dout: dy.pointer, inp: x.pointer,
                            w: w.pointer, rows: 5, inF: 7, outF: 6)
            assertClose(y.array, Fixture.get("linear.y"), tol: tol, "linear y")
            assertClose(dx.array, Fixture.get("linear.dx"), tol: tol, "linear dx")
            assertClose(dw.array, Fixture.get("linear.dw"), tol: tol, "linear dw")
            assertClose(db.array, Fixture.get("linear.db"), tol: tol, "linear db")
        }
    }

    func testLayerNorm() {
        for dim in [12, 32] {
            for pool in [Pools.one, Pools.two] {
                let f = "layernorm\(dim)."
                let x = AlignedBuffer(Fixture.get(f + "x")), w = AlignedBuffer(Fixture.get(f + "w"))
                let b = AlignedBuffer(Fixture.get(f + "b")), dy = AlignedBuffer(Fixture.get(f + "dy"))
                let y = AlignedBuffer(count: 5 * dim), mean = AlignedBuffer(count: 5), rstd = AlignedBuffer(count: 5)
                let dx = AlignedBuffer(count: 5 * dim), dw = AlignedBuffer(count: dim), db = AlignedBuffer(count: dim)
                let partials = AlignedBuffer(count: 2 * 2 * dim)
                LayerNorm.forward(pool, out: y.pointer, mean: mean.pointer, rstd: rstd.pointer, inp: x.pointer,
                                  w: w.pointer, b: b.pointer, rows: 5, dim: dim, eps: 1e-6)
                LayerNorm.backward(pool, dinp: dx.pointer, accumulate: false, dw: dw.pointer, db: db.pointer,
                                   dout: dy.pointer, inp: x.pointer, mean: mean.pointer, rstd: rstd.pointer,
                                   w: w.pointer, rows: 5, dim: dim, partials: partials.pointer)
                assertClose(y.array, Fixture.get(f + "y"), tol: tol, "layernorm\(dim) y")
                assertClose(dx.array, Fixture.get(f + "dx"), tol: tol, "layernorm\(dim) dx")
                assertClose(dw.array, Fixture.get(f + "dw"), tol: tol, "layernorm\(dim) dw")
                assertClose(db.array, Fixture.get(f + "db"), tol: tol, "layernorm\(dim) db")
                // accumulate mode adds to what is there
                LayerNorm.backward(pool, dinp: dx.pointer, accumulate: true, dw: dw.pointer, db: db.pointer,
                                   dout: dy.pointer, inp: x.pointer, mean: mean.pointer, rstd: rstd.pointer,
                                   w: w.pointer, rows: 5, dim: dim, partials: partials.pointer)
                assertClose(dx.array, Fixture.get(f + "dx").map { 2 * $0 }, tol: tol, "layernorm\(dim) dx accumulated")
            }
        }
    }

    func testGELU() {
        let x = AlignedBuffer(Fixture.get("gelu.x")), n = x.count
        let y = AlignedBuffer(count: n), y2 = AlignedBuffer(count: n), deriv = AlignedBuffer(count: n)
        let d = AlignedBuffer(Fixture.get("gelu.dy"))
        GELU.forward(Pools.two, out: y.pointer, inp: x.pointer, n: n)
        GELU.valueAndDerivative(Pools.two, value: y2.pointer, derivative: deriv.pointer, inp: x.pointer, n: n)
        Kernels.multiply(Pools.two, d.pointer, deriv.pointer, n)
        assertClose(y.array, Fixture.get("gelu.y"), tol: tol, "gelu y")
        XCTAssertEqual(y2.array, y.array, "both GELU kernels give the same values")
        assertClose(d.array, Fixture.get("gelu.dx"), tol: tol, "gelu dx")
    }

    func testAttention() {
        let (b, t, d, h) = (2, 10, 16, 2)
        for pool in [Pools.one, Pools.two] {
            let qkv = AlignedBuffer(Fixture.get("attention.qkv")), dy = AlignedBuffer(Fixture.get("attention.dy"))
            let out = AlignedBuffer(count: b * t * d), lse = AlignedBuffer(count: b * h * t)
            let dqkv = AlignedBuffer(count: b * t * 3 * d)
            let scratch = AlignedBuffer(count: 2 * Attention.scratchPerThread(tokens: t))
            Attention.forward(pool, out: out.pointer, lse: lse.pointer, qkv: qkv.pointer, batch: b, tokens: t, dim: d,
                              heads: h, scratch: scratch.pointer)
            Attention.backward(pool, dqkv: dqkv.pointer, out: out.pointer, dout: dy.pointer, qkv: qkv.pointer, lse: lse.pointer, batch: b,
                               tokens: t, dim: d, heads: h, scratch: scratch.pointer)
            assertClose(out.array, Fixture.get("attention.y"), tol: tol, "attention out")
            assertClose(dqkv.array, Fixture.get("attention.dqkv"), tol: tol, "attention dqkv")
        }
    }

    func testCrossEntropyWithLabelSmoothing() {
        let logits = Fixture.get("xent.logits"), labels = Fixture.get("xent.labels").map { Int32($0) }
        var d = [Float](repeating: 0, count: logits.count)
        let loss = CrossEntropy.forwardBackward(logits: logits, labels: labels, batch: 4, classes: 10, smoothing: 0.1,
                                                dlogits: &d)
        assertClose([loss], Fixture.get("xent.loss"), tol: tol, "loss")
        assertClose(d, Fixture.get("xent.dlogits"), tol: tol, "dlogits")
    }

    func testPatchEmbedAsIm2colGemm() {
        let pool = Pools.two
        let img = AlignedBuffer(Fixture.get("patch.x")), w = AlignedBuffer(Fixture.get("patch.w"))
        let bias = AlignedBuffer(Fixture.get("patch.b")), dy = AlignedBuffer(Fixture.get("patch.dy"))
        let cols = AlignedBuffer(count: 2 * 4 * 48), y = AlignedBuffer(count: 2 * 4 * 5)
        let dw = AlignedBuffer(count: 5 * 48), db = AlignedBuffer(count: 5)
        PatchEmbed.im2col(pool, cols: cols.pointer, images: img.pointer, batch: 2, channels: 3, size: 8, patch: 4)
        Linear.forward(pool, out: y.pointer, inp: cols.pointer, w: w.pointer, b: bias.pointer, rows: 8, inF: 48, outF: 5)
        Linear.backward(pool, dinp: nil, dw: dw.pointer, db: db.pointer, dout: dy.pointer, inp: cols.pointer,
                        w: w.pointer, rows: 8, inF: 48, outF: 5)
        assertClose(y.array, Fixture.get("patch.y"), tol: tol, "patch y")
        assertClose(dw.array, Fixture.get("patch.dw"), tol: tol, "patch dw")
        assertClose(db.array, Fixture.get("patch.db"), tol: tol, "patch db")
    }

    func testSinCosPositionEmbeddingMatchesTimm() {
        assertClose(sincos2DPositionEmbedding(grid: 4, dim: 32), Fixture.get("vit_avg_sincos.sincos_pe"), tol: 1e-6,
                    "sincos pe")
    }

    func testVectorExpAndErfAgainstLibm() {
        var maxRelExp: Float = 0, maxAbsErf: Float = 0
        var x: Float = -80
        while x < 80 {
            maxRelExp = max(maxRelExp, abs(sexp(x) - Foundation.exp(x)) / Foundation.exp(x))
            x += 0.0137
        }
        x = -6
        while x < 6 { maxAbsErf = max(maxAbsErf, abs(serf(x) - Foundation.erf(x))); x += 0.00071 }
        XCTAssertLessThan(maxRelExp, 3e-7)
        XCTAssertLessThan(maxAbsErf, 6e-7)
        XCTAssertEqual(sexp(-200), 0, accuracy: 1e-37)
    }
}

/// Token assembly and pooling (the kernels between the patch embedding and the blocks, and before the head): each
/// backward is the exact adjoint of its forward, ⟨F(x), y⟩ = ⟨x, Fᵀ(y)⟩, for every layout timm has (class
/// token, registers, position embedding over the patches or every token, token or average pooling). The
/// whole-model fixtures check them against timm too.
final class TokenKernelTests: XCTestCase {
    func random(_ n: Int, _ rng: inout RNG) -> [Float] { (0..<n).map { _ in rng.normal() } }
    func dot(_ a: [Float], _ b: [Float]) -> Double { zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) } }

    /// A heap copy of `values`, freed when the test ends.
    func buffer(_ values: [Float]) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: max(values.count, 1))
        p.initialize(from: values, count: values.count)
        addTeardownBlock { p.deallocate() }
        return p
    }

    func testTokenEmbedBackwardIsTheAdjointOfForward() {
        var rng = RNG(seed: 5)
        let batch = 3, n = 4, d = 8
        for (cls, reg, pe, covers) in [(true, 0, true, true), (true, 2, true, false), (false, 0, true, false), (false, 2, false, false), (true, 1, false, true)] {
            let pre = (cls ? 1 : 0) + reg, tk = pre + n
            let patches = random(batch * n * d, &rng), c = random(d, &rng), r = random(max(reg, 1) * d, &rng)
            let p = random((covers ? tk : n) * d, &rng), y = random(batch * tk * d, &rng)
            // without prefix tokens the patch rows are the token rows: the model writes them in place
            let x0 = buffer(pre == 0 ? patches : [Float](repeating: 0, count: batch * tk * d))
            TokenEmbed.forward(x0: x0, patches: pre == 0 ? x0 : buffer(patches), cls: cls ? buffer(c) : nil,
                               reg: reg > 0 ? buffer(r) : nil, regTokens: reg, pe: pe ? buffer(p) : nil,
                               peCoversPrefix: covers, batch: batch, patchCount: n, dim: d)
            let dPatches = buffer([Float](repeating: 0, count: batch * n * d)), dc = buffer([Float](repeating: 0, count: d))
            let dr = buffer([Float](repeating: 0, count: max(reg, 1) * d)), dp = buffer([Float](repeating: 0, count: p.count))
            let dy = buffer(y)
            TokenEmbed.backward(dPatches: pre == 0 ? dy : dPatches, dCls: cls ? dc : nil, dReg: reg > 0 ? dr : nil, regTokens: reg,
                                dPe: pe ? dp : nil, peCoversPrefix: covers, dx0: dy, batch: batch, patchCount: n, dim: d)
            func array(_ q: UnsafeMutablePointer<Float>, _ count: Int) -> [Float] { Array(UnsafeBufferPointer(start: q, count: count)) }
            // as in the model: without prefix tokens the token gradient is the patch gradient
            let dPatchValues = pre == 0 ? y : array(dPatches, batch * n * d)
            let lhs = dot(array(x0, batch * tk * d), y)
            let rhs = dot(patches, dPatchValues) + (cls ? dot(c, array(dc, d)) : 0) + (reg > 0 ? dot(r, array(dr, reg * d)) : 0)
                + (pe ? dot(p, array(dp, p.count)) : 0)
            XCTAssertEqual(lhs, rhs, accuracy: 1e-4 * max(1, abs(lhs)), "cls \(cls) reg \(reg) pe \(pe) covers \(covers)")
        }
    }

    func testTokenPoolBackwardIsTheAdjointOfForward() {
        var rng = RNG(seed: 6)
        let batch = 2, tk = 6, d = 16
        for (first, pre) in [(true, 1), (false, 0), (false, 3)] {
            let x = random(batch * tk * d, &rng), y = random(batch * d, &rng)
            var out = [Float](repeating: 0, count: batch * d), dx = [Float](repeating: 7, count: batch * tk * d)
            TokenPool.forward(out: &out, x: x, firstToken: first, batch: batch, tokens: tk, prefix: pre, dim: d)
            TokenPool.backward(dx: &dx, dout: y, firstToken: first, batch: batch, tokens: tk, prefix: pre, dim: d)
            XCTAssertEqual(dot(out, y), dot(x, dx), accuracy: 1e-4, "first \(first) prefix \(pre)")
            if !first { XCTAssertEqual(out[0], (pre..<tk).map { x[$0 * d] }.reduce(0, +) / Float(tk - pre), accuracy: 1e-5) }
        }
    }

    /// timm's accuracy(topk=(1, 2)) on logits with a tie: torch.topk on these rows ranks the tied lower index first.
    func testTopKCountsRanksWithTiesToTheLowerClass() {
        let logits: [Float] = [0.1, 0.9, 0.3,   // label 1: rank 0
                               0.5, 0.5, 0.2,   // label 1: tied with class 0, rank 1
                               0.5, 0.5, 0.2,   // label 0: tied with class 1, rank 0
                               0.7, 0.8, 0.1,   // label 2: rank 2
                               0.2, 0.1, 0.3]   // label 0: rank 1
        let labels: [Int32] = [1, 1, 0, 2, 0]
        var counts = [0, 0, 0]
        TopK.count(&counts, ks: [1, 2, 3], logits: logits, labels: labels, batch: 5, classes: 3)
        XCTAssertEqual(counts, [2, 4, 5])
        TopK.count(&counts, ks: [1, 2, 3], logits: logits, labels: labels, batch: 1, classes: 3)
        XCTAssertEqual(counts, [3, 5, 6], "counts accumulate over calls")
    }

    /// A model gone NaN scores 0, not 100: a NaN true class is never right, and a NaN logit ranks above the rest
    /// (torch's topk); and the curves of a run with a NaN loss still draw (the point left out), rather than hang.
    func testNaNLogitsAreNeverCountedRight() {
        let nan = Float.nan
        let logits: [Float] = [nan, nan, nan,     // label 0: not right at any k
                               0.1, nan, 0.9,     // label 2: one NaN above it, rank 1
                               0.5, 0.2, 0.1]     // label 0: rank 0
        var counts = [0, 0, 0]
        TopK.count(&counts, ks: [1, 2, 3], logits: logits, labels: [0, 2, 0], batch: 3, classes: 3)
        XCTAssertEqual(counts, [1, 2, 2])
        let history = [CurvePlot.Point(epoch: 1, trainLoss: 2.3, testLoss: 2.2, testTop1: 10),
                       CurvePlot.Point(epoch: 2, trainLoss: 2.4, testLoss: .nan, testTop1: 0),
                       CurvePlot.Point(epoch: 3, trainLoss: .infinity, testLoss: .nan, testTop1: 0)]
        let image = CurvePlot.render(history)
        XCTAssertGreaterThan(image.width, 320)
    }
}
