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

final class OptimizerTests: XCTestCase {
    /// torch.optim.AdamW, 3 steps, a decayed weight and an undecayed bias (tolerance 1e-6 of the values' scale).
    func testAdamWMatchesTorch() {
        var t = ParameterTable()
        let wo = t.add("layer.weight", [4, 5]), bo = t.add("layer.bias", [5])
        let params = AlignedBuffer(count: t.count), grads = AlignedBuffer(count: t.count)
        (params.pointer + wo).update(from: Fixture.get("adamw.w0"), count: 20)
        (params.pointer + bo).update(from: Fixture.get("adamw.b0"), count: 5)
        let opt = AdamW(table: t, eps: 1e-3, weightDecay: 0.1)
        for s in 0..<3 {
            (grads.pointer + wo).update(from: Fixture.get("adamw.gw\(s)"), count: 20)
            (grads.pointer + bo).update(from: Fixture.get("adamw.gb\(s)"), count: 5)
            opt.update(Pools.two, params: params, grads: grads, lr: 0.05)
            assertClose(Array(params.array[wo..<(wo + 20)]), Fixture.get("adamw.w\(s + 1)"), tol: 1e-6, "w step \(s + 1)")
            assertClose(Array(params.array[bo..<(bo + 5)]), Fixture.get("adamw.b\(s + 1)"), tol: 1e-6, "b step \(s + 1)")
        }
    }

    func testWeightDecayGroupsFollowTimm() throws {
        let m = try VisionTransformer(config: ModelTests.config("vit_reg_avg_norm"), pool: Pools.one)
        let decayed = Set(m.table.entries.filter(\.decays).map(\.name))
        XCTAssert(decayed.contains("blocks.0.attn.qkv.weight"))
        XCTAssert(decayed.contains("patch_embed.proj.weight"))
        XCTAssertFalse(decayed.contains("cls_token"))   // ndim 3, but in timm's no_weight_decay() (WeightDecayTests)
        XCTAssertFalse(decayed.contains("blocks.0.norm1.weight"))
        XCTAssertFalse(decayed.contains("head.bias"))
    }

    /// timm's CosineLRScheduler(t_initial 200, lr_min 1e-6, warmup 10 from 1e-5), epochs 0..204.
    func testCosineScheduleMatchesTimm() {
        var o = TrainOptions()
        o.lr = 1e-3; o.minLR = 1e-6; o.warmupLR = 1e-5; o.warmupEpochs = 10; o.epochs = 200
        let s = LRSchedule(options: o, baseLR: o.lr, updatesPerEpoch: 1)
        assertClose((0..<205).map { Float(s.lr($0)) }, Fixture.get("schedule.lr"), tol: 1e-6, "lr")
    }

    func testClipGradNorm() {
        let g = AlignedBuffer([3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12])
        XCTAssertEqual(clipGradNorm(Pools.two, grads: g, maxNorm: 100), 13, accuracy: 1e-5)
        XCTAssertEqual(g[17], 12)
        XCTAssertEqual(clipGradNorm(Pools.two, grads: g, maxNorm: 1.3), 13, accuracy: 1e-5)
        XCTAssertEqual(g[0], 0.3, accuracy: 1e-6)
        XCTAssertEqual(g[17], 1.2, accuracy: 1e-6)
    }
}
