/// GELU, exact erf form (nn.GELU(), timm's default): y = x · Φ(x) = ½x(1 + erf(x/√2)).
public enum GELU {
    /// out, inp: [n]
    public static func forward(_ pool: ThreadPool, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, n: Int) {
        let timer = LayerProfiler.begin(); defer { LayerProfiler.end(.gelu, timer) }
        pool.run(Forward(out: out, inp: inp, count: n))
    }

    /// d[i] = d[i] · gelu'(x[i]), in place (d holds dL/dy on entry, dL/dx on return).
    public static func backward(_ pool: ThreadPool, d: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, n: Int) {
        let timer = LayerProfiler.begin(); defer { LayerProfiler.end(.gelu, timer) }
        pool.run(Backward(d: d, inp: inp, count: n))
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

    struct Backward: ParallelRangeJob {
        let d: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int
        var granule: Int { 64 }

        func run(_ r: Range<Int>) {
            var i = r.lowerBound
            while i + 8 <= r.upperBound { store8(d + i, load8(d + i) * derivative(load8(inp + i))); i += 8 }
            while i < r.upperBound { d[i] *= derivative(F8(repeating: inp[i]))[0]; i += 1 }
        }
    }

    @inline(__always)
    static func gelu(_ x: F8) -> F8 {
        let half = F8(repeating: 0.5)
        return half * x * (F8(repeating: 1) + verf(x * F8(repeating: 0.707_106_781_186_547_5)))
    }

    /// Φ(x) + x·φ(x)
    @inline(__always)
    static func derivative(_ x: F8) -> F8 {
        let cdf = F8(repeating: 0.5) * (F8(repeating: 1) + verf(x * F8(repeating: 0.707_106_781_186_547_5)))
        let pdf = F8(repeating: 0.398_942_280_401_432_7) * vexp(F8(repeating: -0.5) * x * x)
        return cdf.addingProduct(x, pdf)
    }
}
