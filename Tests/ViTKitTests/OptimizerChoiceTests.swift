import Foundation
import XCTest
@testable import ViTKitCore
@testable import ViTKitIO
@testable import ViTKitNN

/// timm's `--opt` choices (adamw, adam, sgd = Nesterov, momentum, nesterov, lamb) against torch.optim and timm's Lamb through its
/// factory (`scripts/make_optimizer_fixtures.py`): three steps, weight decayed, bias not, within 1e-6 relative.
final class OptimizerChoiceTests: XCTestCase {
    func testThreeStepsOfEachOptimiserMatchTorch() throws {
        let url = Bundle.module.url(forResource: "torch_optimizers", withExtension: "safetensors", subdirectory: "Fixtures")!
        let t = try SafeTensors.read(path: url.path).tensors
        var table = ParameterTable()
        let wo = table.add("fc.weight", [4, 5]), bo = table.add("fc.bias", [4])
        for algorithm in Optimizer.Algorithm.allCases {
            let params = AlignedBuffer(count: table.count), grads = AlignedBuffer(count: table.count)
            (params.pointer + wo).update(from: t["w0"]!.values, count: 20); (params.pointer + bo).update(from: t["b0"]!.values, count: 4)
            let opt = Optimizer(table: table, algorithm: algorithm, beta1: 0.9, beta2: 0.99, eps: 1e-3, weightDecay: 0.05, momentum: 0.9)
            for s in 0..<3 {
                (grads.pointer + wo).update(from: t["gw\(s)"]!.values, count: 20); (grads.pointer + bo).update(from: t["gb\(s)"]!.values, count: 4)
                opt.update(Pools.one, params: params, grads: grads, lr: 0.1)
                assertClose(Array(params.array[wo..<(wo + 20)]), t["\(algorithm.rawValue).w\(s + 1)"]!.values, tol: 1e-6,
                            "\(algorithm) weight after step \(s + 1)")
                assertClose(Array(params.array[bo..<(bo + 4)]), t["\(algorithm.rawValue).b\(s + 1)"]!.values, tol: 1e-6,
                            "\(algorithm) bias after step \(s + 1)")
            }
            XCTAssertEqual(opt.stateBuffers.map(\.name), algorithm.isAdam ? ["exp_avg", "exp_avg_sq"] : ["momentum_buffer"])
        }
    }
}

@testable import ViTKitModels
@testable import ViTKitTraining

/// timm's `--layer-decay` (`scripts/make_optimizer_fixtures.py`): every tensor's lr_scale and weight decay equal
/// `create_optimizer_v2(..., layer_decay=0.75)`'s groups for a ViT with `norm`, a ViT with `fc_norm` and a
/// ConvMixer; three AdamW steps with those scales equal torch's (within 1e-5 of each tensor's scale).
final class LayerDecayTests: XCTestCase {
    static let fixture: [String: SafeTensors.Tensor] = {
        let url = Bundle.module.url(forResource: "torch_layer_decay", withExtension: "safetensors", subdirectory: "Fixtures")!
        return try! SafeTensors.read(path: url.path).tensors
    }()

    static func models() throws -> [(String, any ImageClassifier)] {
        var a = ViTConfig(name: "ld", imgSize: 8, patchSize: 4, numClasses: 3, embedDim: 8, depth: 3, numHeads: 2)
        a.classToken = true; a.globalPool = .token; a.posEmbed = .learn; a.noEmbedClass = false
        var b = ViTConfig(name: "ld2", imgSize: 8, patchSize: 4, numClasses: 3, embedDim: 8, depth: 2, numHeads: 2)
        b.posEmbed = .learn
        let c = ConvMixerConfig(name: "cm", imgSize: 8, patchSize: 2, numClasses: 3, dim: 8, depth: 2, kernelSize: 3)
        return [("vit_norm", try VisionTransformer(config: a, pool: Pools.one)), ("vit_fc_norm", try VisionTransformer(config: b, pool: Pools.one)),
                ("convmixer", try ConvMixer(config: c, pool: Pools.one))]
    }

    func testScalesAndDecayGroupsMatchTimm() throws {
        let t = Self.fixture
        for (key, m) in try Self.models() {
            let scales = LayerDecay.scales(names: m.table.entries.map(\.name), decay: 0.75)
            for e in m.table.entries {
                let scale = try XCTUnwrap(t["\(key).scale.\(e.name)"], "\(key) \(e.name) in timm's groups").values[0]
                XCTAssertEqual(scales[e.name]!, scale, accuracy: 1e-6, "\(key) \(e.name)")
                XCTAssertEqual(e.decays, t["\(key).wd.\(e.name)"]!.values[0] > 0, "\(key) \(e.name) decays")
            }
            XCTAssertEqual(t.keys.filter { $0.hasPrefix("\(key).scale.") }.count, m.table.entries.count, key)
        }
    }

    func testStepsWithLayerScalesMatchTorch() throws {
        let t = Self.fixture, m = try Self.models()[0].1
        let opt = Optimizer(table: m.table, algorithm: .adamw, eps: 1e-3, weightDecay: 0.05,
                            lrScale: LayerDecay.scales(names: m.table.entries.map(\.name), decay: 0.75))
        for e in m.table.entries { (m.params.pointer + e.offset).update(from: t["start.\(e.name)"]!.values, count: e.count) }
        for s in 0..<3 {
            for e in m.table.entries { (m.grads.pointer + e.offset).update(from: t["grad\(s).\(e.name)"]!.values, count: e.count) }
            opt.update(Pools.one, params: m.params, grads: m.grads, lr: 0.01)
        }
        for e in m.table.entries {
            // 1e-5: torch scales the rate in double (lr · lr_scale as a Python float), ViTKit in float32
            assertClose(Array(m.params.array[e.offset..<(e.offset + e.count)]), t["step3.\(e.name)"]!.values, tol: 1e-5, e.name)
        }
        XCTAssertEqual(Set(opt.lrScales).count, 5, "4 layers: stem, 3 blocks (norm with the last), head")
    }

    /// Lamb's per-tensor sums do not depend on the thread count.
    func testLambIsTheSameOnOneAndTwoThreads() throws {
        let m = try Self.models()[0].1
        var rng = RNG(seed: 3)
        for i in 0..<m.params.count { m.params.pointer[i] = rng.normal() }
        var results: [[Float]] = []
        for pool in [Pools.one, Pools.two] {
            let params = AlignedBuffer(count: m.params.count), grads = AlignedBuffer(count: m.params.count)
            params.pointer.update(from: m.params.pointer, count: m.params.count)
            var g = RNG(seed: 4)
            let opt = Optimizer(table: m.table, algorithm: .lamb, eps: 1e-6, weightDecay: 0.02)
            for _ in 0..<3 {
                for i in 0..<grads.count { grads.pointer[i] = g.normal() }
                opt.update(pool, params: params, grads: grads, lr: 0.01)
            }
            results.append(params.array)
        }
        XCTAssertEqual(results[0], results[1])
    }
}
