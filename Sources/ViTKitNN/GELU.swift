import ViTKitCore

/// GELU, exact erf form (nn.GELU(), timm's default): y = x · Φ(x) = ½x(1 + erf(x/√2)).
package enum GELU {
    /// out, inp: [n]
    package static func forward(_ pool: ThreadPool, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, n: Int) {
        let timer = LayerProfiler.begin(); defer { LayerProfiler.end(.gelu, timer) }
        pool.run(Forward(out: out, inp: inp, count: n))
    }

    /// value = gelu(x) and derivative = gelu'(x) in one pass (backward needs both: one erf instead of two).
    package static func valueAndDerivative(_ pool: ThreadPool, value: UnsafeMutablePointer<Float>,
                                          derivative: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, n: Int) {
        let timer = LayerProfiler.begin(); defer { LayerProfiler.end(.gelu, timer) }
        pool.run(ValueAndDerivative(value: value, derivative: derivative, inp: inp, count: n))
    }

    struct Forward: ParallelRangeJob {
        let out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int
        var granule: Int { 64 }

        func run(_ r: Range<Int>) {
            var i = r.lowerBound
            while i + 8 <= r.upperBound { store8(out + i, gelu(load8(inp + i))); i += 8 }
            while i < r.upperBound { out[i] = gelu(F8(repeating: inp[i]))[0]; i += 1 }
        }
    }

    struct ValueAndDerivative: ParallelRangeJob {
        let value: UnsafeMutablePointer<Float>, derivative: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>
        let count: Int
        var granule: Int { 64 }

        func run(_ r: Range<Int>) {
            var i = r.lowerBound
            while i + 8 <= r.upperBound {
                let (v, d) = both(load8(inp + i))
                store8(value + i, v); store8(derivative + i, d)
                i += 8
            }
            while i < r.upperBound {
                let (v, d) = both(F8(repeating: inp[i]))
                value[i] = v[0]; derivative[i] = d[0]
                i += 1
            }
        }
    }

    /// x·Φ(x)
    @inline(__always)
    static func gelu(_ x: F8) -> F8 {
        F8(repeating: 0.5) * x * (F8(repeating: 1) + verf(x * F8(repeating: 0.707_106_781_186_547_5)))
    }

    /// (x·Φ(x), Φ(x) + x·φ(x))
    @inline(__always)
    static func both(_ x: F8) -> (F8, F8) {
        let cdf = F8(repeating: 0.5) * (F8(repeating: 1) + verf(x * F8(repeating: 0.707_106_781_186_547_5)))
        let pdf = F8(repeating: 0.398_942_280_401_432_7) * vexp(F8(repeating: -0.5) * x * x)
        return (x * cdf, cdf.addingProduct(x, pdf))
    }
}
