import ViTKitCore

/// Depthwise 2D convolution (`nn.Conv2d(C, C, k, groups=C, padding='same')`, odd k) on channels-last
/// activations, 8 channels at a time.
///
/// Layout: images [B × H × W × C]; the filters as `taps` [k·k × C] (tap ky·k + kx, then channel), which is the
/// conv weight [C × 1 × k × k] transposed so that one tap of 8 neighbouring channels is one SIMD load.
///   out[b, y, x, c] = bias[c] + Σ_{ky,kx} inp[b, y + ky − r, x + kx − r, c] · taps[ky·k + kx, c],  r = (k − 1)/2
/// with zeros outside the picture.
package enum DepthwiseConv2d {
    /// out: [B·H·W × C] (written), inp: [B·H·W × C], taps: [k·k × C], bias: [C] or nil
    package static func forward(_ pool: ThreadPool, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                               taps: UnsafePointer<Float>, bias: UnsafePointer<Float>?, batch: Int, height: Int, width: Int,
                               channels: Int, kernel: Int) {
        let timer = LayerProfiler.begin(); defer { LayerProfiler.end(.depthwise, timer) }
        pool.run(Forward(out: out, inp: inp, taps: taps, bias: bias, count: batch * height, height: height, width: width,
                         channels: channels, kernel: kernel))
    }

    /// The input gradient is the same correlation of `dout` with the filters turned by 180°:
    ///   dinp[y, x] = Σ_{ky,kx} dout[y − ky + r, x − kx + r] · taps[ky, kx] = Σ dout[y + ky' − r, …] · taps[k−1−ky', k−1−kx'].
    /// `flipped` [k·k × C] receives the turned filters. dinp: [B·H·W × C] (written)
    package static func backwardInput(_ pool: ThreadPool, dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                     taps: UnsafePointer<Float>, flipped: UnsafeMutablePointer<Float>, batch: Int,
                                     height: Int, width: Int, channels: Int, kernel: Int) {
        let kk = kernel * kernel
        for t in 0..<kk { (flipped + t * channels).update(from: taps + (kk - 1 - t) * channels, count: channels) }
        let timer = LayerProfiler.begin(); defer { LayerProfiler.end(.depthwise, timer) }
        pool.run(Forward(out: dinp, inp: dout, taps: flipped, bias: nil, count: batch * height, height: height,
                         width: width, channels: channels, kernel: kernel))
    }

    /// Per-thread scratch floats `backwardWeights` needs.
    package static func scratchCount(threads: Int, channels: Int, kernel: Int) -> Int { threads * (kernel * kernel + 1) * channels }

    /// dtaps: [k·k × C] and dbias: [C] (both written) from dout and the forward input.
    /// Each thread sums its own rows into its part of `scratch`; the parts are then added in thread order, so the
    /// result depends on the thread count only.
    package static func backwardWeights(_ pool: ThreadPool, dtaps: UnsafeMutablePointer<Float>, dbias: UnsafeMutablePointer<Float>?,
                                       dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                                       batch: Int, height: Int, width: Int, channels: Int, kernel: Int) {
        let timer = LayerProfiler.begin(); defer { LayerProfiler.end(.depthwise, timer) }
        let per = (kernel * kernel + 1) * channels
        pool.run(WeightGrad(dout: dout, inp: inp, scratch: scratch, rows: batch * height, height: height, width: width,
                            channels: channels, kernel: kernel))
        let kk = kernel * kernel
        dtaps.update(from: scratch, count: kk * channels)
        dbias?.update(from: scratch + kk * channels, count: channels)
        for t in 1..<pool.threadCount {
            Kernels.add(dtaps, scratch + t * per, kk * channels)
            if let dbias { Kernels.add(dbias, scratch + t * per + kk * channels, channels) }
        }
    }

    /// Output rows (b, y) split across threads.
    struct Forward: ParallelRangeJob {
        let out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, taps: UnsafePointer<Float>
        let bias: UnsafePointer<Float>?, count: Int, height: Int, width: Int, channels: Int, kernel: Int

        func run(_ rows: Range<Int>) {
            let c = channels, w = width, r = kernel / 2, vecEnd = c / 8 * 8
            for row in rows {
                let b = row / height, y = row % height
                let ky0 = max(0, r - y), ky1 = min(kernel, height + r - y)
                let plane = inp + b * height * w * c
                for x in 0..<w {
                    let kx0 = max(0, r - x), kx1 = min(kernel, w + r - x)
                    let o = out + (row * w + x) * c
                    var ch = 0
                    // four vectors (32 channels) kept in registers across all taps
                    while ch + 32 <= vecEnd {
                        var a0 = F8(), a1 = F8(), a2 = F8(), a3 = F8()
                        if let bias { a0 = load8(bias + ch); a1 = load8(bias + ch + 8); a2 = load8(bias + ch + 16); a3 = load8(bias + ch + 24) }
                        for ky in ky0..<ky1 {
                            let src = plane + ((y + ky - r) * w + x - r) * c + ch
                            let tap = taps + ky * kernel * c + ch
                            for kx in kx0..<kx1 {
                                let s = src + kx * c, t = tap + kx * c
                                a0 = a0.addingProduct(load8(s), load8(t)); a1 = a1.addingProduct(load8(s + 8), load8(t + 8))
                                a2 = a2.addingProduct(load8(s + 16), load8(t + 16)); a3 = a3.addingProduct(load8(s + 24), load8(t + 24))
                            }
                        }
                        store8(o + ch, a0); store8(o + ch + 8, a1); store8(o + ch + 16, a2); store8(o + ch + 24, a3)
                        ch += 32
                    }
                    while ch < vecEnd {
                        var a = bias.map { load8($0 + ch) } ?? F8()
                        for ky in ky0..<ky1 {
                            let src = plane + ((y + ky - r) * w + x - r) * c + ch
                            let tap = taps + ky * kernel * c + ch
                            for kx in kx0..<kx1 { a = a.addingProduct(load8(src + kx * c), load8(tap + kx * c)) }
                        }
                        store8(o + ch, a)
                        ch += 8
                    }
                    while ch < c {
                        var a = bias?[ch] ?? 0
                        for ky in ky0..<ky1 {
                            for kx in kx0..<kx1 { a += plane[((y + ky - r) * w + x + kx - r) * c + ch] * taps[(ky * kernel + kx) * c + ch] }
                        }
                        o[ch] = a
                        ch += 1
                    }
                }
            }
        }
    }

    /// Each thread: its rows' Σ dout·inp per tap and channel, and Σ dout per channel, into its scratch part.
    struct WeightGrad: ParallelJob {
        let dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>
        let rows: Int, height: Int, width: Int, channels: Int, kernel: Int

        func run(thread: Int, of threads: Int) {
            let c = channels, w = width, r = kernel / 2, kk = kernel * kernel, vecEnd = c / 8 * 8
            let part = scratch + thread * (kk + 1) * c
            part.update(repeating: 0, count: (kk + 1) * c)
            for row in ThreadPool.chunk(rows, part: thread, of: threads) {
                let b = row / height, y = row % height
                let plane = inp + b * height * w * c, drow = dout + row * w * c
                // bias: the row's Σ over x
                for x in 0..<w { Kernels.add(part + kk * c, drow + x * c, c) }
                for ky in max(0, r - y)..<min(kernel, height + r - y) {
                    let srow = plane + (y + ky - r) * w * c
                    for kx in 0..<kernel {
                        // output x pairs with input x + kx − r, both inside the row
                        let x0 = max(0, r - kx), x1 = min(w, w + r - kx)
                        if x0 >= x1 { continue }
                        let dst = part + (ky * kernel + kx) * c
                        var ch = 0
                        while ch < vecEnd {
                            var a = F8()
                            var d = drow + x0 * c + ch, s = srow + (x0 + kx - r) * c + ch
                            for _ in x0..<x1 { a = a.addingProduct(load8(d), load8(s)); d += c; s += c }
                            store8(dst + ch, load8(dst + ch) + a)
                            ch += 8
                        }
                        while ch < c {
                            var a: Float = 0
                            for x in x0..<x1 { a += drow[x * c + ch] * srow[(x + kx - r) * c + ch] }
                            dst[ch] += a
                            ch += 1
                        }
                    }
                }
            }
        }
    }
}
