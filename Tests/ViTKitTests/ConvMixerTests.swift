import Foundation
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
@testable import ViTKitCLI

/// ConvMixer layers and the whole model against PyTorch + timm (scripts/make_convmixer_fixtures.py), the spatial
/// inits' statistics, frozen filters, checkpoints and the CLI.
final class ConvMixerTests: XCTestCase {
    static let fixture: [String: SafeTensors.Tensor] = {
        let url = Bundle.module.url(forResource: "torch_convmixer", withExtension: "safetensors", subdirectory: "Fixtures")!
        return try! SafeTensors.read(path: url.path).tensors
    }()

    func get(_ name: String, file: StaticString = #filePath, line: UInt = #line) -> [Float] {
        guard let t = Self.fixture[name] else { XCTFail("fixture has no \(name)", file: file, line: line); return [] }
        return t.values
    }

    /// [B, C, H, W] (torch) → [B·H·W × C] (ViTKit's channels-last), and back.
    static func channelsLast(_ v: [Float], _ s: [Int]) -> [Float] {
        let (b, c, h, w) = (s[0], s[1], s[2], s[3])
        var o = [Float](repeating: 0, count: v.count)
        for i in 0..<b { for ch in 0..<c { for p in 0..<(h * w) { o[(i * h * w + p) * c + ch] = v[(i * c + ch) * h * w + p] } } }
        return o
    }

    /// [C × K] → [K × C] (conv weights [C, 1, k, k] ↔ taps [k·k × C]).
    static func transpose(_ v: [Float], rows: Int, cols: Int) -> [Float] {
        var o = [Float](repeating: 0, count: v.count)
        for r in 0..<rows { for c in 0..<cols { o[c * rows + r] = v[r * cols + c] } }
        return o
    }

    func testDepthwiseConvMatchesTorchForEveryKernelSize() {
        for k in [3, 5, 7, 9] {
            let s = Self.fixture["dw\(k).x"]!.shape, (b, c, h, w) = (s[0], s[1], s[2], s[3])
            let x = Self.channelsLast(get("dw\(k).x"), s), dy = Self.channelsLast(get("dw\(k).dy"), s)
            let taps = Self.transpose(get("dw\(k).w"), rows: c, cols: k * k)
            for pool in [Pools.one, Pools.two] {
                var y = [Float](repeating: .nan, count: x.count), dx = y
                var dtaps = [Float](repeating: .nan, count: taps.count), db = [Float](repeating: .nan, count: c)
                var flipped = [Float](repeating: 0, count: taps.count)
                var scratch = [Float](repeating: .nan, count: DepthwiseConv2d.scratchCount(threads: pool.threadCount, channels: c, kernel: k))
                DepthwiseConv2d.forward(pool, out: &y, inp: x, taps: taps, bias: get("dw\(k).b"), batch: b, height: h, width: w,
                                        channels: c, kernel: k)
                DepthwiseConv2d.backwardInput(pool, dinp: &dx, dout: dy, taps: taps, flipped: &flipped, batch: b, height: h,
                                              width: w, channels: c, kernel: k)
                DepthwiseConv2d.backwardWeights(pool, dtaps: &dtaps, dbias: &db, dout: dy, inp: x, scratch: &scratch, batch: b,
                                                height: h, width: w, channels: c, kernel: k)
                let what = "k=\(k) C=\(c) threads=\(pool.threadCount)"
                assertClose(y, Self.channelsLast(get("dw\(k).y"), s), tol: 1e-5, "\(what) y")
                assertClose(dx, Self.channelsLast(get("dw\(k).dx"), s), tol: 1e-5, "\(what) dx")
                assertClose(Self.transpose(dtaps, rows: k * k, cols: c), get("dw\(k).dw"), tol: 1e-5, "\(what) dw")
                assertClose(db, get("dw\(k).db"), tol: 1e-5, "\(what) db")
            }
        }
    }

    /// The reference's softmax-reparametrised filters, 3 shared by 10 channels through `choice_idx`.
    func testSoftmaxFiltersSharedByChannelsMatchTorch() {
        let s = Self.fixture["softmax.x"]!.shape, (b, c, h, w) = (s[0], s[1], s[2], s[3]), k = 3, kk = 9, heads = 3
        let choice = get("softmax.choice").map { Int($0) }
        var taps = [Float](repeating: 0, count: kk * c), sm = [Float](repeating: 0, count: heads * kk)
        let weight = get("softmax.w")
        choice.withUnsafeBufferPointer { ch in
            SharedFilters.expand(taps: &taps, softmaxed: &sm, weight: weight, filters: heads, choice: ch, taps: kk)
        }
        let x = Self.channelsLast(get("softmax.x"), s), dy = Self.channelsLast(get("softmax.dy"), s)
        var y = [Float](repeating: 0, count: x.count), dx = y, flipped = taps, dtaps = taps, db = [Float](repeating: 0, count: c)
        var scratch = [Float](repeating: 0, count: DepthwiseConv2d.scratchCount(threads: 2, channels: c, kernel: k))
        DepthwiseConv2d.forward(Pools.two, out: &y, inp: x, taps: taps, bias: get("softmax.b"), batch: b, height: h, width: w,
                                channels: c, kernel: k)
        DepthwiseConv2d.backwardInput(Pools.two, dinp: &dx, dout: dy, taps: taps, flipped: &flipped, batch: b, height: h,
                                      width: w, channels: c, kernel: k)
        DepthwiseConv2d.backwardWeights(Pools.two, dtaps: &dtaps, dbias: &db, dout: dy, inp: x, scratch: &scratch, batch: b,
                                        height: h, width: w, channels: c, kernel: k)
        var dw = [Float](repeating: .nan, count: heads * kk)
        choice.withUnsafeBufferPointer { ch in
            SharedFilters.backward(&dw, filters: heads, dTaps: dtaps, softmaxed: sm, choice: ch, taps: kk)
        }
        assertClose(y, Self.channelsLast(get("softmax.y"), s), tol: 1e-5, "y")
        assertClose(dx, Self.channelsLast(get("softmax.dx"), s), tol: 1e-5, "dx")
        assertClose(dw, get("softmax.dw"), tol: 1e-5, "d weight (through softmax, summed over sharing channels)")
        assertClose(db, get("softmax.db"), tol: 1e-5, "d bias")
    }

    func testPatchStemAndPointwiseConvMatchTorch() {
        // stem: Conv2d(3, 16, 2, stride 2) as im2col + GEMM; output channels-last
        let xs = Self.fixture["stem.x"]!.shape, ys = Self.fixture["stem.y"]!.shape
        let rows = ys[0] * ys[2] * ys[3], kp = 3 * 4
        var cols = [Float](repeating: 0, count: rows * kp), y = [Float](repeating: 0, count: rows * 16)
        var dw = [Float](repeating: 0, count: 16 * kp), db = [Float](repeating: 0, count: 16)
        PatchEmbed.im2col(Pools.two, cols: &cols, images: get("stem.x"), batch: xs[0], channels: 3, size: xs[2], patch: 2)
        Linear.forward(Pools.two, out: &y, inp: cols, w: get("stem.w"), b: get("stem.b"), rows: rows, inF: kp, outF: 16)
        assertClose(y, Self.channelsLast(get("stem.y"), ys), tol: 1e-5, "stem y")
        Linear.backward(Pools.two, dinp: nil, dw: &dw, db: &db, dout: Self.channelsLast(get("stem.dy"), ys), inp: cols,
                        w: get("stem.w"), rows: rows, inF: kp, outF: 16)
        assertClose(dw, get("stem.dw"), tol: 1e-5, "stem dw")
        assertClose(db, get("stem.db"), tol: 1e-5, "stem db")
        // 1×1 conv: a Linear over the channels of every pixel
        let s = Self.fixture["pw.x"]!.shape, so = Self.fixture["pw.y"]!.shape, n = s[0] * s[2] * s[3]
        var py = [Float](repeating: 0, count: n * 12), pdx = [Float](repeating: 0, count: n * 16)
        var pdw = [Float](repeating: 0, count: 12 * 16), pdb = [Float](repeating: 0, count: 12)
        let px = Self.channelsLast(get("pw.x"), s)
        Linear.forward(Pools.two, out: &py, inp: px, w: get("pw.w"), b: get("pw.b"), rows: n, inF: 16, outF: 12)
        Linear.backward(Pools.two, dinp: &pdx, dw: &pdw, db: &pdb, dout: Self.channelsLast(get("pw.dy"), so), inp: px,
                        w: get("pw.w"), rows: n, inF: 16, outF: 12)
        assertClose(py, Self.channelsLast(get("pw.y"), so), tol: 1e-5, "1×1 y")
        assertClose(pdx, Self.channelsLast(get("pw.dx"), s), tol: 1e-5, "1×1 dx")
        assertClose(pdw, get("pw.dw"), tol: 1e-5, "1×1 dw")
        assertClose(pdb, get("pw.db"), tol: 1e-5, "1×1 db")
    }

    /// Two training steps (outputs, gradients, then the running statistics they leave), then eval mode.
    func testBatchNormTwoTrainingStepsThenEvalMatchTorch() {
        let c = 12
        let w = get("bn.w"), b = get("bn.b")
        for pool in [Pools.one, Pools.two] {
            var runningMean = [Float](repeating: 0, count: c), runningVar = [Float](repeating: 1, count: c)
            var partials = [Double](repeating: 0, count: BatchNorm2d.partialsCount(threads: pool.threadCount, channels: c))
            var coef = [Float](repeating: 0, count: BatchNorm2d.coefficientsCount(channels: c))
            for step in 1...2 {
                let p = "bn.step\(step).", s = Self.fixture[p + "x"]!.shape, rows = s[0] * s[2] * s[3]
                let x = Self.channelsLast(get(p + "x"), s)
                var y = [Float](repeating: 0, count: x.count), dx = y
                var mean = [Float](repeating: 0, count: c), rstd = mean, dw = mean, db = mean
                BatchNorm2d.forwardTraining(pool, out: &y, inp: x, w: w, b: b, mean: &mean, rstd: &rstd, runningMean: &runningMean,
                                            runningVar: &runningVar, rows: rows, channels: c, eps: 1e-5, momentum: 0.1,
                                            partials: &partials, coefficients: &coef)
                BatchNorm2d.backward(pool, dinp: &dx, dw: &dw, db: &db, dout: Self.channelsLast(get(p + "dy"), s), inp: x,
                                     mean: mean, rstd: rstd, w: w, rows: rows, channels: c, partials: &partials, coefficients: &coef)
                let what = "threads=\(pool.threadCount) step \(step)"
                assertClose(y, Self.channelsLast(get(p + "y"), s), tol: 2e-5, "\(what) y")
                assertClose(dx, Self.channelsLast(get(p + "dx"), s), tol: 2e-5, "\(what) dx")
                assertClose(dw, get(p + "dw"), tol: 2e-5, "\(what) dweight")
                assertClose(db, get(p + "db"), tol: 2e-5, "\(what) dbias")
            }
            assertClose(runningMean, get("bn.running_mean"), tol: 1e-5, "running mean after two steps")
            assertClose(runningVar, get("bn.running_var"), tol: 1e-5, "running var (unbiased) after two steps")
            let s = Self.fixture["bn.eval.x"]!.shape
            var y = [Float](repeating: 0, count: s.reduce(1, *))
            BatchNorm2d.forwardEval(pool, out: &y, inp: Self.channelsLast(get("bn.eval.x"), s), w: w, b: b, runningMean: runningMean,
                                    runningVar: runningVar, rows: s[0] * s[2] * s[3], channels: c, eps: 1e-5, coefficients: &coef)
            assertClose(y, Self.channelsLast(get("bn.eval.y"), s), tol: 1e-5, "eval mode")
        }
    }

    static func smallConfig() -> ConvMixerConfig {
        ConvMixerConfig(name: "convmixer", imgSize: 8, patchSize: 2, numClasses: 5, dim: 16, depth: 2, kernelSize: 3)
    }

    /// timm's ConvMixer(dim 16, depth 2, k 3, p 2) with its state_dict loaded: training-mode logits, the
    /// label-smoothed loss, every parameter's gradient, the running statistics after the step, eval logits.
    func testWholeConvMixerMatchesTimm() throws {
        for pool in [Pools.one, Pools.two] {
            let model = try ConvMixer(config: Self.smallConfig(), pool: pool)
            try Checkpoint.load(model, tensors: Self.fixture, prefix: "cm.sd.", what: "fixture")
            let x = get("cm.x"), labels = get("cm.y").map { Int32($0) }
            let loss = model.lossAndGradients(images: x, labels: labels, batch: 4, smoothing: 0.1)
            let what = "threads=\(pool.threadCount)"
            assertClose(Array(UnsafeBufferPointer(start: model.logits, count: 20)), get("cm.logits"), tol: 1e-5, "\(what) logits")
            XCTAssertEqual(loss, get("cm.loss")[0], accuracy: 1e-5, "\(what) loss")
            for e in model.table.entries {
                assertClose(Array(model.gradient(e.name)!), get("cm.grad." + e.name), tol: 1e-4, "\(what) d \(e.name)")
            }
            for e in model.stateTable.entries {
                assertClose(Array(model.buffer(e.name)!), get("cm.after." + e.name), tol: 1e-5, "\(what) \(e.name) after the step")
            }
            let eval = model.forward(images: x, batch: 4)
            assertClose(Array(UnsafeBufferPointer(start: eval, count: 20)), get("cm.eval_logits"), tol: 1e-5, "\(what) eval logits")
        }
    }

    /// Central differences in float64-free form: a few gradient entries of each tensor against (L(p+h) − L(p−h))/2h,
    /// with batch statistics, through a softmax-reparametrised model with shared filters.
    func testGradientsMatchFiniteDifferences() throws {
        var cfg = Self.smallConfig()
        cfg.spatialInit = .softmax; cfg.spatialHeads = 5; cfg.choiceSeed = 3
        let model = try ConvMixer(config: cfg, pool: Pools.two)
        var rng = RNG(seed: 9)
        model.initialize(rng: &rng)
        let x = (0..<(4 * 3 * 64)).map { _ in rng.normal() }, labels: [Int32] = [0, 1, 2, 3]
        func loss() -> Double {
            let saved = model.state.array  // the running statistics move with every training forward
            defer { model.state.pointer.update(from: saved, count: saved.count) }
            let logits = model.forward(images: x, batch: 4, training: true)
            return Double(CrossEntropy.forwardBackward(logits: logits, labels: labels, batch: 4, classes: 5, smoothing: 0.1, dlogits: nil))
        }
        _ = model.lossAndGradients(images: x, labels: labels, batch: 4, smoothing: 0.1)
        let analytic = model.grads.array
        for e in model.table.entries {
            for i in [0, e.count / 2, e.count - 1] {
                let at = e.offset + i, keep = model.params[at], h: Float = 1e-2
                model.params[at] = keep + h; let up = loss()
                model.params[at] = keep - h; let down = loss()
                model.params[at] = keep
                let numeric = (up - down) / (2 * Double(h))
                XCTAssertEqual(Double(analytic[at]), numeric, accuracy: 2e-3 + 0.03 * abs(numeric), "\(e.name)[\(i)]")
            }
        }
    }

    // MARK: spatial inits

    func testSpatialInitStatistics() throws {
        let c = 256, k = 5, kk = 25
        func filters(_ text: String, seed: UInt64 = 1) throws -> [[Float]] {
            var rng = RNG(seed: seed)
            let w = try SpatialInit(parsing: text).filters(channels: c, kernel: k, rng: &rng)
            return (0..<c).map { Array(w[($0 * kk)..<(($0 + 1) * kk)]) }
        }
        // impulse = box1: one nonzero tap of √(1/k) per channel, at every tap somewhere
        for text in ["impulse", "box1"] {
            let f = try filters(text)
            for row in f {
                XCTAssertEqual(row.filter { $0 != 0 }.count, 1, text)
                XCTAssertEqual(row.max()!, (1 / Float(k)).squareRoot(), accuracy: 1e-7, text)
            }
            XCTAssertEqual(Set(f.map { $0.firstIndex { $0 != 0 }! }).count, kk, "\(text): every tap used by some channel")
        }
        // box<n>: n distinct taps of √(1/(n·k))
        for n in [2, 9, 25] {
            for row in try filters("box\(n)") {
                XCTAssertEqual(row.filter { $0 != 0 }.count, n)
                for v in row where v != 0 { XCTAssertEqual(v, (1 / Float(n * k)).squareRoot(), accuracy: 1e-7) }
            }
        }
        // random: U(±1/k): inside the bounds, mean 0, variance (1/k)²/3
        let all = try filters("random").flatMap { $0 }
        XCTAssert(all.allSatisfy { abs($0) <= 1 / Float(k) })
        let mean = all.reduce(0, +) / Float(all.count), variance = all.reduce(0) { $0 + $1 * $1 } / Float(all.count)
        XCTAssertEqual(mean, 0, accuracy: 0.003)
        XCTAssertEqual(variance, 1 / Float(3 * k * k), accuracy: 0.0006)
        XCTAssertEqual(try filters("softmax"), try filters("random"), "softmax starts as random")
        // gau<σ²>: a bump with its peak at one tap, falling as exp(−½d²/σ²), and mean_c(Σw²)·k = 1
        let g = try filters("gau2")
        XCTAssertEqual(Double(g.reduce(0) { $0 + $1.reduce(0) { $0 + $1 * $1 } }) / Double(c) * Double(k), 1, accuracy: 1e-4)
        for row in g {
            let peak = row.firstIndex(of: row.max()!)!, (py, px) = (peak / k, peak % k)
            for t in 0..<kk {
                let d2 = Float((t / k - py) * (t / k - py) + (t % k - px) * (t % k - px))
                XCTAssertEqual(row[t] / row[peak], exp(-0.5 * d2 / 2), accuracy: 1e-5)
            }
        }
        XCTAssertThrowsError(try SpatialInit(parsing: "box0")) { XCTAssert("\($0)".contains("box0")) }
        XCTAssertThrowsError(try ConvMixer(config: ConvMixerConfig(name: "x", patchSize: 2, dim: 8, depth: 1, kernelSize: 3,
                                                                   spatialInit: .box(10)), pool: Pools.one)) {
            XCTAssertEqual("\($0)", "spatial init box10 needs 10 distinct taps, a 3×3 filter has 9")
        }
    }

    func testRegisteredModelsAndSharedFilters() throws {
        let impulse = try ConvMixerConfig.named("convmixer_512_6_5_impulse")
        XCTAssertEqual([impulse.dim, impulse.depth, impulse.kernelSize, impulse.patchSize], [512, 6, 5, 2])
        XCTAssertEqual(impulse.spatialInit, .box(1)); XCTAssertFalse(impulse.trainableSpatial)
        XCTAssertEqual(try ConvMixerConfig.named("convmixer_256_8_3_box").spatialInit, .box(9))
        XCTAssertEqual(try ConvMixerConfig.named("convmixer_512_6_5_box").spatialInit, .box(25))
        XCTAssert(try ConvMixerConfig.named("convmixer_512_6_3_train").trainableSpatial)
        XCTAssertFalse(try ConvMixerConfig.named("convmixer_256_8_3_random").trainableSpatial)
        XCTAssertEqual(ConvMixerConfig.named.count, 13)
        // timm's parameter count for ConvMixer-256/8, k 3, 10 classes: stem 3·4·256+256, BN 512; per block
        // 256·9+256, BN 512, 256·256+256, BN 512; head 2570
        let m = try ConvMixer(config: { var c = try ConvMixerConfig.named("convmixer_256_8_3_train"); c.numClasses = 10; return c }(),
                              pool: Pools.one)
        XCTAssertEqual(m.parameterCount, 3328 + 512 + 8 * (2560 + 512 + 65792 + 512) + 2570)
        // shared filters: 4 of them for 16 channels, drawn per block, the weight holds 4
        var cfg = Self.smallConfig(); cfg.spatialHeads = 4
        let shared = try ConvMixer(config: cfg, pool: Pools.one)
        XCTAssertEqual(shared.table["blocks.0.0.fn.0.weight"]!.shape, [4, 1, 3, 3])
        XCTAssert(shared.choice.allSatisfy { $0.count == 16 && $0.allSatisfy { (0..<4).contains($0) } })
        XCTAssertNotEqual(shared.choice[0], shared.choice[1])
        XCTAssertEqual(try ConvMixer(config: Self.smallConfig(), pool: Pools.one).choice[0], Array(0..<16))
    }

    /// Frozen depthwise filters: zero gradient, untouched by AdamW (no update, no decay), still in checkpoints;
    /// everything else moves.
    func testFrozenSpatialFiltersStayWhileTheRestTrains() throws {
        var cfg = Self.smallConfig(); cfg.spatialInit = .box(1); cfg.trainableSpatial = false
        let model = try ConvMixer(config: cfg, pool: Pools.two)
        var rng = RNG(seed: 4)
        model.initialize(rng: &rng)
        let before = model.params.array
        let trainer = Trainer(model: model, options: { var o = TrainingTests.options(epochs: 2); o.weightDecay = 0.5; return o }())
        trainer.log = { _ in }
        try trainer.fit(train: SyntheticDataset.make(count: 64, classes: 5, size: 8, seed: 1), test: nil)
        let frozen = model.table.entries.filter { $0.name.contains(".0.fn.0.") }
        XCTAssertEqual(frozen.count, 4)
        for e in model.table.entries {
            let was = Array(before[e.offset..<(e.offset + e.count)]), now = Array(model.parameter(e.name)!)
            if e.trainable {
                XCTAssertNotEqual(was, now, "\(e.name) should train")
            } else {
                XCTAssert(e.name.contains(".0.fn.0."))
                XCTAssertEqual(was, now, "\(e.name) is frozen")
                XCTAssert(model.gradient(e.name)!.allSatisfy { $0 == 0 }, "\(e.name) has no gradient")
            }
        }
        XCTAssertEqual(model.buffer("stem.2.num_batches_tracked")!.first, 4, "2 epochs × 2 steps")
        // the checkpoint holds the frozen filters and the buffers, and rebuilds the same model
        let dir = try temporaryDirectory(), path = dir + "/m.safetensors"
        try Checkpoint.save(model, to: path)
        let saved = try SafeTensors.read(path: path).tensors
        XCTAssertEqual(saved["blocks.1.0.fn.0.weight"]?.values, Array(model.parameter("blocks.1.0.fn.0.weight")!))
        XCTAssertEqual(saved.count, model.table.entries.count + model.stateTable.entries.count)
        let loaded = try Checkpoint.model(from: path, pool: Pools.two) { _ in throw ViTKitError("records its config") }
        XCTAssertEqual(loaded.architecture, model.architecture)
        let x = (0..<(2 * 3 * 64)).map { _ in rng.normal() }
        XCTAssertEqual(Array(UnsafeBufferPointer(start: loaded.forward(images: x, batch: 2), count: 10)),
                       Array(UnsafeBufferPointer(start: model.forward(images: x, batch: 2), count: 10)))
    }

    /// Stopped after epoch 1 and resumed from its training state, a ConvMixer run (frozen shared filters, running
    /// statistics that are not parameters) ends with the weights, buffers and files of a run never stopped.
    func testResumeRestoresWeightsBuffersAndOptimizer() throws {
        let root = try temporaryDirectory()
        var cfg = Self.smallConfig(); cfg.imgSize = 16; cfg.numClasses = 4; cfg.spatialHeads = 6; cfg.trainableSpatial = false
        func model(_ seed: UInt64) throws -> ConvMixer {
            let m = try ConvMixer(config: cfg, pool: Pools.two)
            var rng = RNG(seed: seed)
            m.initialize(rng: &rng)
            return m
        }
        func trainer(_ m: ConvMixer, _ dir: String) -> Trainer {
            let t = Trainer(model: m, options: TrainingTests.options(epochs: 3, output: dir))
            t.log = { _ in }
            return t
        }
        let (train, test) = TrainingTests.data()
        let whole = trainer(try model(1), root + "/a")
        try whole.fit(train: train, test: test)
        let first = trainer(try model(1), root + "/b")
        try first.fit(train: train, test: test, stopAfter: 1)
        let rest = trainer(try model(77), root + "/b")
        try rest.resume(from: root + "/b/train_state.safetensors")
        try rest.fit(train: train, test: test)
        XCTAssertEqual(rest.model.params.array, whole.model.params.array, "weights")
        XCTAssertEqual(rest.model.state.array, whole.model.state.array, "running statistics")
        XCTAssertEqual(rest.optimizer.m.array, whole.optimizer.m.array)
        for file in ["summary.csv", "last.safetensors", "model_best.safetensors"] {
            XCTAssertEqual(FileManager.default.contents(atPath: root + "/b/" + file),
                           FileManager.default.contents(atPath: root + "/a/" + file), file)
        }
        // another architecture is refused by name
        let other = Trainer(model: try ConvMixer(config: Self.smallConfig(), pool: Pools.one), options: TrainingTests.options())
        XCTAssertThrowsError(try other.resume(from: root + "/b/train_state.safetensors")) {
            XCTAssert("\($0)".contains("was written for model convmixer"), "\($0)")
        }
    }

    /// `vitkit train --model convmixer…`, then `vitkit eval` of what it wrote.
    func testTrainAndEvalThroughTheCLI() throws {
        let out = try temporaryDirectory()
        var train = try XCTUnwrap(try VitkitCommand.parseAsRoot([
            "train", "--model", "convmixer_256_8_3_impulse", "--embed-dim", "16", "--depth", "1",
            "--synthetic-train", "64", "--synthetic-test", "32", "-b", "32", "--epochs", "1", "--threads", "2",
            "--output", out]) as? TrainCommand)
        try train.run()
        let args = try String(contentsOfFile: out + "/args.yaml", encoding: .utf8)
        for line in ["model: convmixer_256_8_3_impulse", "spatial_init: box1", "freeze_spatial: true", "kernel_size: 3", "embed_dim: 16"] {
            XCTAssert(args.contains(line + "\n"), "args.yaml lacks \(line)")
        }
        let (tensors, meta) = try SafeTensors.read(path: out + "/last.safetensors")
        XCTAssertNotNil(meta["vitkit_convmixer_config"])
        XCTAssertEqual(tensors["blocks.0.0.fn.0.weight"]!.values.filter { $0 != 0 }.count, 16, "one tap per channel, frozen")
        var eval = try XCTUnwrap(try VitkitCommand.parseAsRoot(["eval", "--checkpoint", out + "/last.safetensors",
                                                                 "--synthetic-test", "32", "--threads", "1"]) as? EvalCommand)
        try eval.run()
        XCTAssertThrowsError(try VitkitCommand.parseAsRoot(["train", "--model", "convmixer", "--num-heads", "2"]))
        XCTAssertThrowsError(try VitkitCommand.parseAsRoot(["train", "--model", "small", "--kernel-size", "3"]))
        XCTAssertThrowsError(try VitkitCommand.parseAsRoot(["train", "--model", "convmixer", "--init", "impulse3"]))
        XCTAssertThrowsError(try VitkitCommand.parseAsRoot(["train", "--model", "convmixer", "--kernel-size", "4"]))
    }
}
