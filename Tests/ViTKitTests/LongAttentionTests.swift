import XCTest
@testable import ViTKitCore
@testable import ViTKitIO
@testable import ViTKitModels
@testable import ViTKitNN

/// Attention at 64, 256, 1024 and 1030 tokens against torch (`scripts/make_long_attention_fixtures.py`): the core
/// alone and a whole one-block ViT, where the longer sequences run in several tiles of query rows; the tiles with
/// dropout against one tile; and central differences through the tiled backward.
final class LongAttentionTests: XCTestCase {
    static let (dim, heads) = (16, 2)

    func run(_ pool: ThreadPool, tokens t: Int, qkv: AlignedBuffer, dy: AlignedBuffer, dropout: KeyedDropout? = nil)
        -> (out: [Float], dqkv: [Float]) {
        let d = Self.dim, h = Self.heads
        let out = AlignedBuffer(count: t * d), lse = AlignedBuffer(count: h * t)
        let dqkv = AlignedBuffer(count: t * 3 * d)
        let scratch = AlignedBuffer(count: pool.threadCount * Attention.scratchPerThread(tokens: t))
        Attention.forward(pool, out: out.pointer, lse: lse.pointer, qkv: qkv.pointer, batch: 1, tokens: t, dim: d, heads: h,
                          scratch: scratch.pointer, dropout: dropout, site: 3)
        Attention.backward(pool, dqkv: dqkv.pointer, out: out.pointer, dout: dy.pointer, qkv: qkv.pointer, lse: lse.pointer,
                           batch: 1, tokens: t, dim: d, heads: h, scratch: scratch.pointer, dropout: dropout, site: 3)
        return (out.array, dqkv.array)
    }

    /// Output and qkv gradient within 1e-4 of their scale (float32 sums over up to 1030 keys); the same numbers
    /// on 1 and 2 threads; the tiles are what the memory bound says.
    func testAttentionCoreMatchesTorchAtLongSequences() throws {
        let f = try fixtureTensors("long_attention")
        XCTAssertEqual(Attention.rowBlock(tokens: 256), 256, "256 tokens: one tile")
        XCTAssertEqual(Attention.rowBlock(tokens: 1024), 256, "four tiles")
        XCTAssertEqual(Attention.rowBlock(tokens: 1030), 240, "rows padded to 1040 floats, tiles a multiple of 16")
        XCTAssertEqual(Attention.rowStride(tokens: 1030), 1040)
        for t in [1024, 4096, 16384] {
            XCTAssertLessThanOrEqual(Attention.scratchPerThread(tokens: t), max(2 * Attention.tileFloats, 16 * t),
                                     "scratch linear in tokens, no T × T buffer")
        }
        for t in [64, 256, 1024, 1030] {
            let qkv = AlignedBuffer(f["attn\(t).qkv"]!.values), dy = AlignedBuffer(f["attn\(t).dy"]!.values)
            let one = run(Pools.one, tokens: t, qkv: qkv, dy: dy), two = run(Pools.two, tokens: t, qkv: qkv, dy: dy)
            assertClose(one.out, f["attn\(t).y"]!.values, tol: 1e-4, "\(t) tokens: out")
            assertClose(one.dqkv, f["attn\(t).dqkv"]!.values, tol: 1e-4, "\(t) tokens: dqkv")
            XCTAssertEqual(one.out, two.out, "\(t) tokens: threads change nothing")
            XCTAssertEqual(one.dqkv, two.dqkv, "\(t) tokens: threads change nothing")
        }
    }

    /// timm's VisionTransformer (patch 2, one block) at 16, 32 and 64 pixels: logits, loss and every gradient.
    func testWholeModelMatchesTimmAt64To1024Tokens() throws {
        let f = try fixtureTensors("long_attention")
        for (img, t) in [(16, 64), (32, 256), (64, 1024)] {
            var c = ViTConfig(name: "long", imgSize: img, patchSize: 2, numClasses: 5, embedDim: 16, depth: 1, numHeads: 2)
            c.posEmbed = .learn
            XCTAssertEqual(c.numTokens, t)
            let prefix = "vit\(t)."
            let sub = Dictionary(uniqueKeysWithValues: f.filter { $0.key.hasPrefix(prefix) }
                .map { (String($0.key.dropFirst(prefix.count)), $0.value) })
            for pool in [Pools.one, Pools.two] {
                let m = try VisionTransformer(config: c, pool: pool)
                try loadFixtureParameters(m, sub)
                assertTrainingStepMatches(m, sub, batch: 2)
            }
        }
    }

    /// With attention dropout the tiles draw the same mask elements as one T × T tile: equal output and gradient.
    func testTilesWithDropoutEqualOneTile() throws {
        let f = try fixtureTensors("long_attention"), t = 1030
        let qkv = AlignedBuffer(f["attn\(t).qkv"]!.values), dy = AlignedBuffer(f["attn\(t).dy"]!.values)
        let keys = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
        keys.initialize(to: 0x1234_5678)
        defer { keys.deallocate() }
        let dropout = KeyedDropout(keys: keys, rate: 0.2)
        let tiled = run(Pools.two, tokens: t, qkv: qkv, dy: dy, dropout: dropout)
        let saved = Attention.tileFloats
        Attention.tileFloats = t * Attention.rowStride(tokens: t)
        defer { Attention.tileFloats = saved }
        XCTAssertEqual(Attention.rowBlock(tokens: t), t)
        let whole = run(Pools.two, tokens: t, qkv: qkv, dy: dy, dropout: dropout)
        assertClose(tiled.out, whole.out, tol: 1e-6, "out")
        assertClose(tiled.dqkv, whole.dqkv, tol: 1e-5, "dqkv")
        let plain = run(Pools.two, tokens: t, qkv: qkv, dy: dy)
        XCTAssertNotEqual(plain.out, tiled.out, "the dropout is applied")
    }

    /// Central differences of L = Σ out · dy through the tiled backward, for the largest gradient entries of Q, K and V.
    func testTiledGradientMatchesFiniteDifferences() throws {
        let f = try fixtureTensors("long_attention"), t = 1030, d = Self.dim
        let qkv = AlignedBuffer(f["attn\(t).qkv"]!.values), dy = AlignedBuffer(f["attn\(t).dy"]!.values)
        let analytic = run(Pools.two, tokens: t, qkv: qkv, dy: dy).dqkv
        let dyValues = dy.array
        func loss() -> Double {
            let out = run(Pools.two, tokens: t, qkv: qkv, dy: dy).out
            return zip(out, dyValues).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        var checked = 0
        for part in 0..<3 {
            // the 3 largest entries of this part (Q, K or V columns)
            let indices = (0..<(t * 3 * d)).filter { ($0 % (3 * d)) / d == part }
            for i in indices.sorted(by: { abs(analytic[$0]) > abs(analytic[$1]) }).prefix(3) {
                let saved = qkv.pointer[i], h: Float = 1e-2
                qkv.pointer[i] = saved + h; let up = loss()
                qkv.pointer[i] = saved - h; let down = loss()
                qkv.pointer[i] = saved
                let numeric = Float((up - down) / Double(2 * h))
                XCTAssertEqual(numeric, analytic[i], accuracy: 0.02 * abs(analytic[i]) + 2e-3, "qkv[\(i)]")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 9)
    }
}
