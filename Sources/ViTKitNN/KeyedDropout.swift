import ViTKitCore

/// Dropout whose mask is never stored: element e of sample b at site s is kept when a hash of (key[b], s, e) falls
/// below keep·2²⁴, and then scaled by 1/keep. Forward and backward regenerate the same mask, so attention dropout
/// (a T×T mask per head and block) and timm's proj/MLP dropouts cost no memory, and a sample's masks depend on its
/// key alone (not on its batch), which keeps data-parallel runs equal to one process and resume exact.
///
///   hash(key, s, e) = mix(mix(e + s·0x9E3779B9) ⊕ key)     mix: lowbias32 (Wellons), all arithmetic mod 2³²
///   kept ⇔ hash >> 8 < round(keep · 2²⁴)
///
/// `scripts/make_drop_path_fixtures.py` computes the same masks in numpy to feed timm.
package struct KeyedDropout {
    /// One key per sample of the batch, [B].
    package let keys: UnsafePointer<UInt32>
    /// 1 − rate.
    package let keep: Float
    let threshold: UInt32
    let scale: Float

    package init(keys: UnsafePointer<UInt32>, rate: Double) {
        self.keys = keys
        keep = Float(1 - rate)
        threshold = UInt32(((1 - rate) * 16_777_216).rounded())
        scale = Float(1 / (1 - rate))
    }

    @inline(__always) static func mix(_ v: SIMD8<UInt32>) -> SIMD8<UInt32> {
        var x = v
        x ^= x &>> 16; x &*= 0x7feb_352d; x ^= x &>> 15; x &*= 0x846c_a68b; x ^= x &>> 16
        return x
    }

    @inline(__always) static func mix(_ v: UInt32) -> UInt32 {
        var x = v
        x ^= x >> 16; x &*= 0x7feb_352d; x ^= x >> 15; x &*= 0x846c_a68b; x ^= x >> 16
        return x
    }

    /// The mask value (0 or 1/keep) of element `e` of sample `b` at `site`.
    @inline(__always) package func mask(sample b: Int, site: UInt32, element e: Int) -> Float {
        let h = Self.mix(Self.mix(UInt32(truncatingIfNeeded: e) &+ site &* 0x9E37_79B9) ^ keys[b])
        return h >> 8 < threshold ? scale : 0
    }

    /// x[i] ·= mask(b, site, e0 + i) for i < n.
    @inline(__always) package func applyRow(_ x: UnsafeMutablePointer<Float>, _ n: Int, sample b: Int, site: UInt32, first e0: Int) {
        let key = SIMD8<UInt32>(repeating: keys[b]), salt = site &* 0x9E37_79B9
        let lanes = SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7), th = SIMD8<UInt32>(repeating: threshold)
        let kept = F8(repeating: scale), zero = F8()
        var i = 0
        while i + 8 <= n {
            let e = SIMD8<UInt32>(repeating: UInt32(truncatingIfNeeded: e0 + i) &+ salt) &+ lanes
            let h = Self.mix(Self.mix(e) ^ key) &>> 8
            store8(x + i, load8(x + i) * zero.replacing(with: kept, where: h .< th))
            i += 8
        }
        while i < n { x[i] *= mask(sample: b, site: site, element: e0 + i); i += 1 }
    }

    /// x[b, i] ·= mask(b, site, i) over a batch:  x: [B × perSample]
    package func apply(_ pool: ThreadPool, _ x: UnsafeMutablePointer<Float>, batch: Int, perSample: Int, site: UInt32) {
        pool.run(Apply(dropout: self, x: x, perSample: perSample, site: site, count: batch * perSample))
    }

    struct Apply: ParallelRangeJob {
        let dropout: KeyedDropout, x: UnsafeMutablePointer<Float>, perSample: Int, site: UInt32, count: Int
        var granule: Int { 64 }
        func run(_ r: Range<Int>) {
            var i = r.lowerBound
            while i < r.upperBound {
                let b = i / perSample, end = min(r.upperBound, (b + 1) * perSample)
                dropout.applyRow(x + i, end - i, sample: b, site: site, first: i - b * perSample)
                i = end
            }
        }
    }
}
