import Foundation

/// The seeded random number generator used everywhere in ViTKit.
///
/// xoshiro256** (Blackman & Vigna) seeded through SplitMix64 from one 64-bit seed. Every random draw in the
/// library (weight init, shuffling, augmentation, data subsets) goes through an instance of this type, so the
/// same seed gives the same numbers on every machine. It does not reproduce PyTorch's streams: tests compare
/// against PyTorch with explicit fixture values, and compare distributions where randomness is involved.
public struct RNG: RandomNumberGenerator, Sendable {
    @usableFromInline var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// A generator whose draws are fixed by `seed`.
    public init(seed: UInt64) {
        var sm = seed
        func splitmix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitmix(&sm); s1 = splitmix(&sm); s2 = splitmix(&sm); s3 = splitmix(&sm)
    }

    /// A generator for a named sub-stream, so that e.g. the shuffling of epoch 7 does not depend on how many
    /// numbers augmentation drew before it.
    public static func stream(seed: UInt64, _ purpose: UInt64, _ index: UInt64 = 0) -> RNG {
        RNG(seed: seed ^ (purpose &* 0xD1B5_4A32_D192_ED03) ^ (index &* 0x8CB9_2BA7_2F3D_8DD7))
    }

    /// The next 64 random bits.
    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits.
    @inlinable @inline(__always)
    public mutating func uniform() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform in [0, 1) with 53 random bits.
    @inlinable @inline(__always)
    public mutating func uniformDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in [low, high).
    @inlinable @inline(__always)
    public mutating func uniform(_ low: Float, _ high: Float) -> Float { low + (high - low) * uniform() }

    /// Standard normal by the Box-Muller transform (computed in Double, one value per call).
    public mutating func normal() -> Float {
        let u1 = (Double(next() >> 11) + 1) * 0x1p-53  // (0, 1]
        let u2 = Double(next() >> 11) * 0x1p-53
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }

    /// Normal(mean, std) truncated to [a, b] in absolute units (timm's `trunc_normal_`), by rejection.
    public mutating func truncatedNormal(mean: Float = 0, std: Float, a: Float = -2, b: Float = 2) -> Float {
        precondition(a < b && std > 0)
        while true {
            let v = mean + std * normal()
            if v >= a && v <= b { return v }
        }
    }

    /// Uniform integer in 0..<n.
    @inlinable @inline(__always)
    public mutating func int(below n: Int) -> Int { Int(next(upperBound: UInt64(n))) }
}
