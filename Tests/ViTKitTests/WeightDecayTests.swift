import Foundation
import XCTest
@testable import ViTKitCore
@testable import ViTKitModels
@testable import ViTKitNN

/// Which parameters AdamW decays, against the parameter groups of `timm.optim.create_optimizer_v2`
/// (`scripts/make_weight_decay_fixtures.py`): not ndim ≤ 1, not biases, and not the model's `no_weight_decay()`
/// set (pos_embed, cls_token, reg_token).
final class WeightDecayTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable { let decay: [String]; let no_decay: [String] }
        let timm: String
        let cases: [String: Case]
    }

    func config(_ name: String) -> ViTConfig {
        var c = ViTConfig(name: name, imgSize: 16, patchSize: 4, numClasses: 10, embedDim: 32, depth: 2, numHeads: 2)
        switch name {
        case "token_learned": c.classToken = true; c.globalPool = .token; c.posEmbed = .learn; c.noEmbedClass = false
        case "avg_learned": c.classToken = false; c.globalPool = .avg; c.posEmbed = .learn; c.noEmbedClass = true
        case "registers": c.classToken = true; c.globalPool = .token; c.regTokens = 2; c.posEmbed = .learn; c.noEmbedClass = true
        default: c.classToken = false; c.globalPool = .avg; c.posEmbed = .sincos; c.noEmbedClass = true
        }
        return c
    }

    func testDecayGroupsAreTimms() throws {
        let url = Bundle.module.url(forResource: "timm_weight_decay_groups", withExtension: "json", subdirectory: "Fixtures")!
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        XCTAssertEqual(fixture.cases.count, 4)
        for (name, groups) in fixture.cases {
            let table = try VisionTransformer(config: config(name), pool: Pools.one).table
            XCTAssertEqual(table.entries.filter(\.decays).map(\.name).sorted(), groups.decay, name)
            XCTAssertEqual(table.entries.filter { !$0.decays }.map(\.name).sorted(), groups.no_decay, name)
        }
    }

    /// The update leaves an exempt tensor undecayed: with zero gradients only decay moves a weight.
    func testAdamWSkipsTheExemptTensors() throws {
        let m = try VisionTransformer(config: config("token_learned"), pool: Pools.one)
        for i in 0..<m.params.count { m.params.pointer[i] = 1 }
        let opt = AdamW(table: m.table, weightDecay: 0.5)
        opt.update(Pools.one, params: m.params, grads: AlignedBuffer(count: m.params.count), lr: 0.1)
        XCTAssertEqual(m.parameter("pos_embed")!.first, 1); XCTAssertEqual(m.parameter("cls_token")!.first, 1)
        XCTAssertEqual(m.parameter("blocks.0.attn.qkv.weight")!.first!, 0.95, accuracy: 1e-7)
    }
}
