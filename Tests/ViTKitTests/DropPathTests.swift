import Foundation
import XCTest
@testable import ViTKit
@testable import ViTKitCore
@testable import ViTKitIO
@testable import ViTKitModels
@testable import ViTKitNN
@testable import ViTKitTraining

/// Stochastic depth against timm (`scripts/make_drop_path_fixtures.py`): with the same per-sample masks, training
/// forward and every gradient equal torch's; evaluation ignores it; the masks follow timm's linear rule.
final class DropPathTests: XCTestCase {
    func model() throws -> (VisionTransformer, [String: SafeTensors.Tensor]) {
        let t = try fixtureTensors("timm_drop_path")
        var c = ViTConfig(name: "dp", imgSize: 16, patchSize: 4, numClasses: 5, embedDim: 32, depth: 3, numHeads: 2)
        c.classToken = false; c.globalPool = .avg; c.posEmbed = .learn; c.noEmbedClass = true
        let m = try VisionTransformer(config: c, pool: Pools.two)
        try loadFixtureParameters(m, t)
        return (m, t)
    }

    func testTrainingWithMasksMatchesTimm() throws {
        let (m, t) = try model()
        m.setDropPath(rate: 0.3, capacity: 4)
        XCTAssertEqual(m.dropPath!.rates.map { Float($0) }, [0, 0.15, 0.3])
        m.dropPath!.masks.pointer.update(from: t["masks"]!.values, count: 24)
        assertTrainingStepMatches(m, t, batch: 4)
        // evaluation is the plain forward
        let plain = try model().0
        let x = t["x"]!.values
        let a = Array(UnsafeBufferPointer(start: m.forward(images: x, batch: 4), count: 20))
        let b = Array(UnsafeBufferPointer(start: plain.forward(images: x, batch: 4), count: 20))
        XCTAssertEqual(a, b)
    }

    /// The masks: keyed by the image's position in the epoch, 0 or 1/keep, kept at the rate's share.
    func testMasksAreKeyedByPositionAndKeepTheirRate() throws {
        let (m, _) = try model()
        m.setDropPath(rate: 0.3, capacity: 200)
        m.drawDropPathMasks(seed: 1, epoch: 2, firstPosition: 0, batch: 200)
        let all = m.dropPath!.masks.array
        let last = Array(all[(5 * 200)..<(6 * 200)])   // block 2, MLP branch: rate 0.3
        XCTAssert(last.allSatisfy { $0 == 0 || abs($0 - 1 / 0.7) < 1e-6 })
        XCTAssertEqual(Double(last.filter { $0 > 0 }.count) / 200, 0.7, accuracy: 0.1)
        XCTAssert(all[0..<400].allSatisfy { $0 == 1 }, "block 0 has rate 0")
        m.drawDropPathMasks(seed: 1, epoch: 2, firstPosition: 50, batch: 10)
        for j in 0..<10 { XCTAssertEqual(m.dropPath!.masks.pointer[5 * 200 + j], last[50 + j], "image 50 + \(j)") }
    }
}

extension DropPathTests {
    /// timm's `drop_rate` (before the head) and `pos_drop_rate` (after the position embedding) with given masks:
    /// forward and every gradient equal torch's; evaluation ignores them.
    func testElementDropoutsMatchTimm() throws {
        let t = try fixtureTensors("timm_dropout")
        var c = ViTConfig(name: "do", imgSize: 16, patchSize: 4, numClasses: 5, embedDim: 32, depth: 2, numHeads: 2)
        c.classToken = true; c.globalPool = .token; c.posEmbed = .learn; c.noEmbedClass = false
        let m = try VisionTransformer(config: c, pool: Pools.two)
        try loadFixtureParameters(m, t)
        let x = t["x"]!.values
        let plain = Array(UnsafeBufferPointer(start: m.forward(images: x, batch: 4), count: 20))
        m.setDropout(head: 0.25, pos: 0.2, capacity: 4)
        m.dropout!.headMask.pointer.update(from: t["head_mask"]!.values, count: 4 * 32)
        m.dropout!.posMask.pointer.update(from: t["pos_mask"]!.values, count: 4 * 17 * 32)
        assertTrainingStepMatches(m, t, batch: 4)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: m.forward(images: x, batch: 4), count: 20)), plain, "evaluation: no dropout")
    }
}

extension DropPathTests {
    /// timm's `attn_drop_rate` and `proj_drop_rate` with drop path: the masks ViTKit hashes from the per-sample keys
    /// (KeyedDropout) are the ones the script computed and fed to timm, and with them the training forward and every
    /// gradient equal torch's; evaluation ignores them.
    func testAttentionAndProjectionDropoutsMatchTimm() throws {
        let t = try fixtureTensors("timm_inner_dropout")
        var c = ViTConfig(name: "inner", imgSize: 16, patchSize: 4, numClasses: 5, embedDim: 32, depth: 2, numHeads: 2)
        c.classToken = true; c.globalPool = .token; c.posEmbed = .learn; c.noEmbedClass = false
        let m = try VisionTransformer(config: c, pool: Pools.two)
        try loadFixtureParameters(m, t)
        let x = t["x"]!.values, batch = 3
        let plain = Array(UnsafeBufferPointer(start: m.forward(images: x, batch: batch), count: 15))
        m.setInnerDropout(attn: 0.2, proj: 0.15, capacity: batch)
        m.setDropPath(rate: 0.25, capacity: batch)
        m.dropPath!.masks.pointer.update(from: t["path_masks"]!.values, count: 2 * 2 * batch)
        let st = try XCTUnwrap(m.innerDropout)
        for j in 0..<batch { st.keys[j] = UInt32(t["keys_hi"]!.values[j]) << 16 | UInt32(t["keys_lo"]!.values[j]) }
        // the hash gives the script's masks: block 0's attention weights, [B × H × T × T]
        let attn = try XCTUnwrap(st.attn), tt = 2 * 17 * 17
        let mask0 = (0..<(batch * tt)).map { attn.mask(sample: $0 / tt, site: 0, element: $0 % tt) }
        XCTAssertEqual(mask0, t["attn_mask0"]!.values)
        assertTrainingStepMatches(m, t, batch: batch)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: m.forward(images: x, batch: batch), count: 15)), plain, "evaluation: no dropout")
    }

    /// The SIMD row path and the scalar mask agree, the kept share is the keep rate, and a sample's key alone decides
    /// its masks (drawn from its position in the epoch).
    func testKeyedDropoutRowsAndKeys() throws {
        let (m, _) = try model()
        m.setInnerDropout(attn: 0.3, proj: 0, capacity: 64)
        m.drawInnerDropoutKeys(seed: 4, epoch: 1, firstPosition: 0, batch: 64)
        let st = try XCTUnwrap(m.innerDropout), drop = try XCTUnwrap(st.attn)
        XCTAssertNil(st.proj)
        var row = [Float](repeating: 1, count: 1003)
        row.withUnsafeMutableBufferPointer { drop.applyRow($0.baseAddress!, 1003, sample: 5, site: 7, first: 11) }
        XCTAssertEqual(row, (0..<1003).map { drop.mask(sample: 5, site: 7, element: 11 + $0) })
        XCTAssertEqual(Double(row.filter { $0 > 0 }.count) / 1003, 0.7, accuracy: 0.05)
        XCTAssert(row.allSatisfy { $0 == 0 || $0 == Float(1 / 0.7) })
        let key5 = st.keys[5]
        m.drawInnerDropoutKeys(seed: 4, epoch: 1, firstPosition: 3, batch: 4)
        XCTAssertEqual(st.keys[2], key5, "image 5's key, whatever its batch")
        m.drawInnerDropoutKeys(seed: 4, epoch: 2, firstPosition: 3, batch: 4)
        XCTAssertNotEqual(st.keys[2], key5, "a new epoch, new masks")
    }
}
