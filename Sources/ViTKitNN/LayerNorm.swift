import ViTKitCore

/// Layer normalisation over the last dimension, with affine weight and bias (nn.LayerNorm).
package enum LayerNorm {
    /// out, inp: [rows × dim]; mean, rstd: [rows] (saved for backward); w, b: [dim]
    package static func forward(_ pool: ThreadPool, out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                               rstd: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                               w: UnsafePointer<Float>?, b: UnsafePointer<Float>?, rows: Int, dim: Int, eps: Float) {
        let timer = LayerProfiler.begin(); defer { LayerProfiler.end(.layerNorm, timer) }
        pool.run(Forward(out: out, mean: mean, rstd: rstd, inp: inp, w: w, b: b, count: rows, dim: dim, eps: eps))
    }

    /// Writes the forward output again from the mean/rstd that forward saved (so it need not be stored).
    package static func recompute(_ pool: ThreadPool, out: UnsafeMutablePointer<Float>, mean: UnsafePointer<Float>,
                                 rstd: UnsafePointer<Float>, inp: UnsafePointer<Float>, w: UnsafePointer<Float>?,
                                 b: UnsafePointer<Float>?, rows: Int, dim: Int) {
        let timer = LayerProfiler.begin(); defer { LayerProfiler.end(.layerNorm, timer) }
        pool.run(Forward(out: out, mean: UnsafeMutablePointer(mutating: mean), rstd: UnsafeMutablePointer(mutating: rstd),
                         inp: inp, w: w, b: b, count: rows, dim: dim, eps: 0, savedStats: true))
    }

    /// dinp: [rows × dim] (added to when `accumulate`, else written); dw, db: [dim] (written).
    /// `partials` is scratch of 2·dim floats per pool thread, for a deterministic reduction of dw and db.
    package static func backward(_ pool: ThreadPool, dinp: UnsafeMutablePointer<Float>, accumulate: Bool,
                                dw: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>,
                                dout: UnsafePointer<Float>, inp: UnsafePointer<Float>,
                                mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, w: UnsafePointer<Float>,
                                rows: Int, dim: Int, partials: UnsafeMutablePointer<Float>) {
        let timer = LayerProfiler.begin(); defer { LayerProfiler.end(.layerNorm, timer) }
        pool.run(Backward(dinp: dinp, accumulate: accumulate, dout: dout, inp: inp, mean: mean, rstd: rstd, w: w,
                          rows: rows, dim: dim, partials: partials))
        dw.update(repeating: 0, count: dim)
        db.update(repeating: 0, count: dim)
        for t in 0..<pool.threadCount {
            Kernels.add(dw, partials + t * 2 * dim, dim)
            Kernels.add(db, partials + t * 2 * dim + dim, dim)
        }
    }

    /// Normalises rows; computes and saves mean/rstd, or (`savedStats`) reuses the saved ones.
    struct Forward: ParallelRangeJob {
        let out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>
        let inp: UnsafePointer<Float>, w: UnsafePointer<Float>?, b: UnsafePointer<Float>?
        let count: Int, dim: Int, eps: Float
        var savedStats = false

        func run(_ rr: Range<Int>) {
            for r in rr {
                let x = inp + r * dim, y = out + r * dim
                var m = mean[r], rs = rstd[r], i = 0
                if !savedStats {
                    var acc = F8()
                    while i + 8 <= dim { acc += load8(x + i); i += 8 }
                    var s = acc.sum()
                    while i < dim { s += x[i]; i += 1 }
                    m = s / Float(dim)
                    let mv = F8(repeating: m)
                    var acc2 = F8(); i = 0
                    while i + 8 <= dim { let d = load8(x + i) - mv; acc2 = acc2.addingProduct(d, d); i += 8 }
                    var v = acc2.sum()
                    while i < dim { let d = x[i] - m; v += d * d; i += 1 }
                    rs = 1 / (v / Float(dim) + eps).squareRoot()
                    mean[r] = m; rstd[r] = rs
                }
                let mv = F8(repeating: m), rv = F8(repeating: rs)
                i = 0
                if let w, let b {
                    while i + 8 <= dim { store8(y + i, load8(b + i).addingProduct((load8(x + i) - mv) * rv, load8(w + i))); i += 8 }
                    while i < dim { y[i] = (x[i] - m) * rs * w[i] + b[i]; i += 1 }
                } else {
                    while i + 8 <= dim { store8(y + i, (load8(x + i) - mv) * rv); i += 8 }
                    while i < dim { y[i] = (x[i] - m) * rs; i += 1 }
                }
            }
        }
    }

    struct Backward: ParallelJob {
        let dinp: UnsafeMutablePointer<Float>, accumulate: Bool, dout: UnsafePointer<Float>, inp: UnsafePointer<Float>
        let mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, w: UnsafePointer<Float>
        let rows: Int, dim: Int, partials: UnsafeMutablePointer<Float>

        func run(thread t: Int, of threads: Int) {
            let invDim = 1 / Float(dim)
            let pw = partials + t * 2 * dim, pb = pw + dim
            pw.update(repeating: 0, count: 2 * dim)
            for r in ThreadPool.chunk(rows, part: t, of: threads) {
                let x = inp + r * dim, dy = dout + r * dim, dx = dinp + r * dim
                let m = mean[r], rs = rstd[r]
                let mv = F8(repeating: m), rv = F8(repeating: rs)
                // mean of g = dy*w and of g*xhat
                var ag = F8(), agx = F8(), i = 0
                while i + 8 <= dim {
                    let xh = (load8(x + i) - mv) * rv, d = load8(dy + i), g = d * load8(w + i)
                    ag += g; agx = agx.addingProduct(g, xh)
                    store8(pw + i, load8(pw + i).addingProduct(d, xh))
                    store8(pb + i, load8(pb + i) + d)
                    i += 8
                }
                var sg = ag.sum(), sgx = agx.sum()
                while i < dim {
                    let xh = (x[i] - m) * rs, d = dy[i], g = d * w[i]
                    sg += g; sgx += g * xh; pw[i] += d * xh; pb[i] += d
                    i += 1
                }
                let mg = F8(repeating: sg * invDim), mgx = F8(repeating: sgx * invDim)
                i = 0
                while i + 8 <= dim {
                    let xh = (load8(x + i) - mv) * rv, g = load8(dy + i) * load8(w + i)
                    var v = rv * (g - mg - xh * mgx)
                    if accumulate { v += load8(dx + i) }
                    store8(dx + i, v)
                    i += 8
                }
                while i < dim {
                    let xh = (x[i] - m) * rs, g = dy[i] * w[i]
                    let v = rs * (g - mg[0] - xh * mgx[0])
                    dx[i] = accumulate ? dx[i] + v : v
                    i += 1
                }
            }
                }
    }
}
