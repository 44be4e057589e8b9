/// Small SIMD kernels shared by the layers. Loops run 8 lanes at a time with a scalar tail.
package enum Kernels {
    /// x[r, :] += v for every row r.
    @inlinable @inline(__always)
    package static func addRowVector(_ x: UnsafeMutablePointer<Float>, _ v: UnsafePointer<Float>, rows: Int, cols: Int) {
        for r in 0..<rows { add(x + r * cols, v, cols) }
    }

    /// y[i] += x[i]
    @inlinable @inline(__always)
    package static func add(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) {
        var i = 0
        while i + 8 <= n {
            let a = UnsafeRawPointer(y + i).loadUnaligned(as: F8.self)
            let b = UnsafeRawPointer(x + i).loadUnaligned(as: F8.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: a + b, as: F8.self)
            i += 8
        }
        while i < n { y[i] += x[i]; i += 1 }
    }

    /// out[c] = mean over r of x[r, c] (average pooling of `rows` tokens or pixels).
    @inlinable @inline(__always)
    package static func meanOfRows(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, cols: Int) {
        out.update(repeating: 0, count: cols)
        for r in 0..<rows { add(out, x + r * cols, cols) }
        scale(out, 1 / Float(rows), cols)
    }

    /// y[i] += x[i], split across the pool.
    package static func add(_ pool: ThreadPool, _ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) {
        pool.run(Add(y: y, x: x, count: n))
    }

    struct Add: ParallelRangeJob {
        let y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, count: Int
        var granule: Int { 64 }
        func run(_ r: Range<Int>) { Kernels.add(y + r.lowerBound, x + r.lowerBound, r.count) }
    }

    /// y[i] += s·x[i] (fused multiply-add), split across the pool.
    package static func addScaled(_ pool: ThreadPool, _ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ s: Float, _ n: Int) {
        pool.run(AddScaled(y: y, x: x, s: s, count: n))
    }

    struct AddScaled: ParallelRangeJob {
        let y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, s: Float, count: Int
        var granule: Int { 64 }
        func run(_ r: Range<Int>) {
            let y = y + r.lowerBound, x = x + r.lowerBound, n = r.count, v = F8(repeating: s)
            var i = 0
            while i + 8 <= n {
                let a = UnsafeRawPointer(x + i).loadUnaligned(as: F8.self), b = UnsafeRawPointer(y + i).loadUnaligned(as: F8.self)
                UnsafeMutableRawPointer(y + i).storeBytes(of: b.addingProduct(a, v), as: F8.self)
                i += 8
            }
            while i < n { y[i] = y[i].addingProduct(x[i], s); i += 1 }
        }
    }

    /// out[c] = Σ_r x[r, c], columns split across the pool (each column summed in row order: deterministic).
    package static func columnSums(_ pool: ThreadPool, _ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
                                  rows: Int, cols: Int) {
        pool.run(ColumnSums(out: out, x: x, rows: rows, count: cols))
    }

    struct ColumnSums: ParallelRangeJob {
        let out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, rows: Int, count: Int
        var granule: Int { 8 }

        func run(_ cr: Range<Int>) {
            let c0 = cr.lowerBound, n = cr.count
            (out + c0).update(repeating: 0, count: n)
            for r in 0..<rows { add(out + c0, x + r * count + c0, n) }
        }
    }

    /// Σ x[i] y[i] over i < n, in 8 float lanes.
    @inlinable @inline(__always)
    package static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = F8(), i = 0
        while i + 8 <= n {
            acc = acc.addingProduct(UnsafeRawPointer(x + i).loadUnaligned(as: F8.self), UnsafeRawPointer(y + i).loadUnaligned(as: F8.self))
            i += 8
        }
        var s = acc.sum()
        while i < n { s += x[i] * y[i]; i += 1 }
        return s
    }

    /// Sum of squares of x[0..<n], accumulated in 8 float lanes then in Double.
    @inlinable @inline(__always)
    package static func sumOfSquares(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
        var acc = F8(), i = 0
        while i + 8 <= n {
            let a = UnsafeRawPointer(x + i).loadUnaligned(as: F8.self)
            acc = acc.addingProduct(a, a)
            i += 8
        }
        var s = Double(acc.sum())
        while i < n { s += Double(x[i] * x[i]); i += 1 }
        return s
    }

    /// y[i] *= x[i], split across the pool.
    package static func multiply(_ pool: ThreadPool, _ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) {
        pool.run(Multiply(y: y, x: x, count: n))
    }

    struct Multiply: ParallelRangeJob {
        let y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, count: Int
        var granule: Int { 64 }
        func run(_ r: Range<Int>) {
            var i = r.lowerBound
            while i + 8 <= r.upperBound { store8(y + i, load8(y + i) * load8(x + i)); i += 8 }
            while i < r.upperBound { y[i] *= x[i]; i += 1 }
        }
    }

    /// x[i] *= s
    @inlinable @inline(__always)
    package static func scale(_ x: UnsafeMutablePointer<Float>, _ s: Float, _ n: Int) {
        var i = 0
        let v = F8(repeating: s)
        while i + 8 <= n {
            let a = UnsafeRawPointer(x + i).loadUnaligned(as: F8.self)
            UnsafeMutableRawPointer(x + i).storeBytes(of: a * v, as: F8.self)
            i += 8
        }
        while i < n { x[i] *= s; i += 1 }
    }
}

@inlinable @inline(__always) package func load8(_ p: UnsafePointer<Float>) -> F8 { UnsafeRawPointer(p).loadUnaligned(as: F8.self) }
@inlinable @inline(__always) package func load8(_ p: UnsafeMutablePointer<Float>) -> F8 { UnsafeRawPointer(p).loadUnaligned(as: F8.self) }
@inlinable @inline(__always) package func store8(_ p: UnsafeMutablePointer<Float>, _ v: F8) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: F8.self) }
