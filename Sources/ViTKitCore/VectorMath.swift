/// SIMD8 polynomial versions of exp and erf: glibc's `expf`/`erff` are scalar calls, about 20x slower.
@usableFromInline package typealias F8 = SIMD8<Float>

@inlinable @inline(__always)
package func fma8(_ a: F8, _ b: F8, _ c: F8) -> F8 { c.addingProduct(a, b) }

/// x clamped to [lo, hi]; `replacing(with:where:)` compiles to one vector max/min each (a per-lane loop
/// compiles to a loop of scalar compares and blends).
@inlinable @inline(__always)
package func clamp8(_ x: F8, _ lo: Float, _ hi: Float) -> F8 {
    let l = F8(repeating: lo), h = F8(repeating: hi)
    let r = x.replacing(with: l, where: x .< l)
    return r.replacing(with: h, where: r .> h)
}

/// e^x, relative error below 2 ulp on [-87, 88]; inputs are clamped to that range (so -inf gives ~0).
@inlinable @inline(__always)
package func vexp(_ x: F8) -> F8 {
    let x = clamp8(x, -87.3, 88.3)
    // x = n*ln2 + r, |r| <= ln2/2
    let n = (x * F8(repeating: 1.442_695_04)).rounded(.toNearestOrEven)
    var r = fma8(n, F8(repeating: -0.693_359_375), x)
    r = fma8(n, F8(repeating: 2.121_944_4e-4), r)
    // Cephes expf polynomial for e^r
    var p = F8(repeating: 1.987_569_15e-4)
    p = fma8(p, r, F8(repeating: 1.398_199_95e-3))
    p = fma8(p, r, F8(repeating: 8.333_451_9e-3))
    p = fma8(p, r, F8(repeating: 4.166_579_6e-2))
    p = fma8(p, r, F8(repeating: 1.666_666_55e-1))
    p = fma8(p, r, F8(repeating: 5e-1))
    p = fma8(p, r * r, r + F8(repeating: 1))
    // scale by 2^n through the exponent bits: n + 1.5·2^23 holds n in its low mantissa bits
    let magic = F8(repeating: 12_582_912)
    let ni = unsafeBitCast(n + magic, to: SIMD8<Int32>.self) &- SIMD8<Int32>(repeating: 0x4B40_0000)
    return p * unsafeBitCast((ni &+ SIMD8<Int32>(repeating: 127)) &<< SIMD8<Int32>(repeating: 23), to: F8.self)
}

/// erf(x), absolute error below 5e-7: x·P(x²)/Q(x²) on [-4, 4], ±1 outside.
@inlinable @inline(__always)
package func verf(_ x: F8) -> F8 {
    let x = clamp8(x, -4, 4)
    let x2 = x * x
    var p = F8(repeating: -2.726_142_258_013_06e-10)
    p = fma8(p, x2, F8(repeating: 2.770_681_424_959_02e-08))
    p = fma8(p, x2, F8(repeating: -2.101_024_020_825_08e-06))
    p = fma8(p, x2, F8(repeating: -5.692_506_394_623_46e-05))
    p = fma8(p, x2, F8(repeating: -7.349_906_303_268_55e-04))
    p = fma8(p, x2, F8(repeating: -2.954_599_808_540_25e-03))
    p = fma8(p, x2, F8(repeating: -1.609_603_332_624_15e-02))
    var q = F8(repeating: -1.456_607_184_649_96e-05)
    q = fma8(q, x2, F8(repeating: -2.133_740_552_789_05e-04))
    q = fma8(q, x2, F8(repeating: -1.682_826_974_382_03e-03))
    q = fma8(q, x2, F8(repeating: -7.373_329_167_204_68e-03))
    q = fma8(q, x2, F8(repeating: -1.426_473_905_141_89e-02))
    return x * p / q
}

/// √x for x ≥ 0 (SIMD8's own `squareRoot()` calls scalar `sqrtf` per lane): the bit-trick reciprocal square
/// root refined by three Newton steps (relative error about 1e-7), times x; 0 gives 0.
@inlinable @inline(__always)
package func vsqrt(_ x: F8) -> F8 {
    let tiny = F8(repeating: 1e-30)
    let xc = x.replacing(with: tiny, where: x .< tiny)
    var y = unsafeBitCast(SIMD8<Int32>(repeating: 0x5F37_59DF) &- (unsafeBitCast(xc, to: SIMD8<Int32>.self) &>> 1),
                          to: F8.self)
    let half = F8(repeating: 0.5) * xc, threeHalves = F8(repeating: 1.5)
    for _ in 0..<3 { y = y * (threeHalves - half * y * y) }
    return x * y
}

/// Horizontal max of a SIMD8 without the out-of-line `.max()`.
@inlinable @inline(__always)
package func hmax(_ v: F8) -> Float {
    var m = v[0]
    for i in 1..<8 { m = v[i] > m ? v[i] : m }
    return m
}

/// Scalar wrappers (one lane of the vector code), for tails and tests.
@inlinable @inline(__always) package func sexp(_ x: Float) -> Float { vexp(F8(repeating: x))[0] }
@inlinable @inline(__always) package func serf(_ x: Float) -> Float { verf(F8(repeating: x))[0] }
