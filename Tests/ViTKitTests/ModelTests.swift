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

/// Whole small ViTs (img 16, patch 4, dim 32, depth 2, heads 2, batch 3) against timm's VisionTransformer:
/// logits, loss and the gradient of every parameter. Tolerance: 1e-5 of each tensor's largest magnitude.
final class ModelTests: XCTestCase {
    static func config(_ fixtureCase: String) -> ViTConfig {
        var c = ViTConfig(name: fixtureCase, imgSize: 16, patchSize: 4, numClasses: 10, embedDim: 32, depth: 2, numHeads: 2)
        c.posEmbed = .learn
        switch fixtureCase {
        case "vit_avg_learn": break
        case "vit_token_learn": c.classToken = true; c.globalPool = .token; c.noEmbedClass = false
        case "vit_avg_sincos": c.posEmbed = .sincos
        case "vit_reg_avg_norm": c.classToken = true; c.regTokens = 2; c.fcNorm = false
        default: fatalError()
        }
        return c
    }

    static func model(_ fixtureCase: String, pool: ThreadPool) throws -> VisionTransformer {
        let m = try VisionTransformer(config: config(fixtureCase), pool: pool)
        for e in m.table.entries {
            let key = "\(fixtureCase).param.\(e.name)"
            XCTAssertEqual(Fixture.shape(key), e.shape, "shape of \(e.name)")
            _ = m.parameter(e.name)!.update(from: Fixture.get(key))
        }
        return m
    }

    func checkCase(_ name: String, pool: ThreadPool) throws {
        let m = try Self.model(name, pool: pool)
        let x = Fixture.get("\(name).x"), y = Fixture.get("\(name).y").map { Int32($0) }
        // every torch parameter (trainable) is one of ours and vice versa
        let torchNames = Set(Fixture.tensors.keys.filter { $0.hasPrefix("\(name).param.") }.map { String($0.dropFirst(name.count + 7)) })
        XCTAssertEqual(Set(m.table.entries.map(\.name)), torchNames)
        let loss = m.lossAndGradients(images: x, labels: y, batch: 3, smoothing: 0.1)
        assertClose(Array(UnsafeBufferPointer(start: m.logits, count: 30)), Fixture.get("\(name).logits"), tol: 1e-5,
                    "\(name) logits")
        assertClose([loss], Fixture.get("\(name).loss"), tol: 1e-5, "\(name) loss")
        for e in m.table.entries {
            assertClose(Array(m.gradient(e.name)!), Fixture.get("\(name).grad.\(e.name)"), tol: 1e-5, "\(name) grad \(e.name)")
        }
    }

    func testAvgPoolLearnedPositionEmbedding() throws { try checkCase("vit_avg_learn", pool: Pools.two) }
    func testClassTokenTokenPoolEmbedClass() throws { try checkCase("vit_token_learn", pool: Pools.two) }
    func testSinCosAvgPoolOneThread() throws { try checkCase("vit_avg_sincos", pool: Pools.one) }
    func testSinCosAvgPoolTwoThreads() throws { try checkCase("vit_avg_sincos", pool: Pools.two) }
    func testRegisterTokensWithFinalNorm() throws { try checkCase("vit_reg_avg_norm", pool: Pools.two) }

    /// Three steps of loss, backward, clip-to-1, AdamW (lr 1e-2, wd .05 on weights, eps 1e-3) match torch.
    func testThreeTrainingStepsMatchTorch() throws {
        let name = "vit_avg_learn"
        let m = try Self.model(name, pool: Pools.two)
        let x = Fixture.get("\(name).x"), y = Fixture.get("\(name).y").map { Int32($0) }
        let opt = AdamW(table: m.table, eps: 1e-3, weightDecay: 0.05)
        var losses: [Float] = []
        for _ in 0..<3 {
            losses.append(m.lossAndGradients(images: x, labels: y, batch: 3, smoothing: 0.1))
            clipGradNorm(Pools.two, grads: m.grads, maxNorm: 1)
            opt.update(Pools.two, params: m.params, grads: m.grads, lr: 1e-2)
        }
        assertClose(losses, Fixture.get("\(name).train3.losses"), tol: 1e-5, "losses")
        for e in m.table.entries {
            assertClose(Array(m.parameter(e.name)!), Fixture.get("\(name).train3.param.\(e.name)"), tol: 2e-5,
                        "param \(e.name) after 3 steps")
        }
    }

    func testParameterCountOfThePapersModel() throws {
        let m = try VisionTransformer(config: try ViTConfig.named("vit_tiny_patch2_32"), pool: Pools.one)
        XCTAssertEqual(m.parameterCount, 5_343_178)
        var c100 = try ViTConfig.named("vit_tiny_patch2_32"); c100.numClasses = 100
        XCTAssertEqual(try VisionTransformer(config: c100, pool: Pools.one).parameterCount, 5_360_548)
        XCTAssertEqual(try VisionTransformer(config: try ViTConfig.named("vit_tiny_patch16_224"), pool: Pools.one)
            .parameterCount, 5_679_400)
    }

    /// Central differences on a tiny model in float32: a gradient check independent of PyTorch.
    func testFiniteDifferences() throws {
        for name in ["vit_token_learn", "vit_reg_avg_norm"] {
            let m = try Self.model(name, pool: Pools.one)
            let x = Fixture.get("\(name).x"), y = Fixture.get("\(name).y").map { Int32($0) }
            _ = m.lossAndGradients(images: x, labels: y, batch: 3, smoothing: 0.1)
            let analytic = m.grads.array
            func loss() -> Double {
                let logits = m.forward(images: x, batch: 3)
                return Double(CrossEntropy.forwardBackward(logits: logits, labels: y, batch: 3, classes: 10,
                                                           smoothing: 0.1, dlogits: nil))
            }
            var rng = RNG(seed: 7)
            var checked = 0
            for e in m.table.entries {
                // the largest-gradient entries of each parameter, plus one random entry
                let g = Array(analytic[e.offset..<(e.offset + e.count)])
                let top = g.indices.max { abs(g[$0]) < abs(g[$1]) }!
                for i in Set([top, rng.int(below: e.count)]) where abs(g[i]) > 1e-3 {
                    let p = m.params.pointer + e.offset + i, saved = p.pointee, h: Float = 3e-3
                    p.pointee = saved + h; let up = loss()
                    p.pointee = saved - h; let down = loss()
                    p.pointee = saved
                    let numeric = Float((up - down) / Double(2 * h))
                    XCTAssertEqual(numeric, g[i], accuracy: 0.02 * abs(g[i]) + 5e-4, "\(name) \(e.name)[\(i)]")
                    checked += 1
                }
            }
            XCTAssertGreaterThan(checked, 20)
        }
    }

    /// Model FLOPs from the shapes: vit_tiny_patch2_32 (256 tokens, dim 192, MLP 768, depth 12) by hand, a third for
    /// evaluation; ConvMixer's stem, depthwise and pointwise convolutions; and a plausible FMA peak probe.
    func testTrainingFLOPsAndPeakProbe() throws {
        let b = 2.0, t = 256.0, d = 192.0
        let linears: Double = 2 * b * t * d * (4 * d + 2 * 768), attention: Double = 2 * 2 * b * t * t * d
        let embed: Double = 2 * b * t * 12 * d, head: Double = 3 * 2 * b * d * 10
        let expected = 12 * 3 * (linears + attention) + 2 * embed + head
        let vit = ModelConfig.vit(try ViTConfig.named("vit_tiny_patch2_32"))
        XCTAssertEqual(vit.trainingFLOPs(batch: 2), expected, accuracy: 1)
        XCTAssertEqual(vit.inferenceFLOPs(batch: 2), (expected - 2 * embed) / 3 + embed, accuracy: 1)
        let cm = ModelConfig.convMixer(ConvMixerConfig(name: "cm", imgSize: 8, patchSize: 2, numClasses: 3, dim: 4, depth: 1, kernelSize: 3))
        let stem: Double = 2 * 16 * 12 * 4 * 2, block: Double = 3 * (2 * 16 * 4 * 9 + 2 * 16 * 4 * 4), cmHead: Double = 3 * 2 * 4 * 3
        XCTAssertEqual(cm.trainingFLOPs(batch: 1), stem + block + cmHead)
        let peak = PeakProbe.gflops(pool: Pools.one, iterations: 2_000_000)
        XCTAssert(peak > 1 && peak < 1000, "one core's FMA rate: \(peak) GFLOP/s")
    }
}
