import ViTKitCore
import ViTKitIO

/// Buffers for Pillow resizes between pictures of at most `maxInput` and `maxOutput` pixels a side, so that a
/// resize in the training loop allocates nothing.
public final class ResizeWorkspace: @unchecked Sendable {
    package let maxTaps: Int, maxOutput: Int, channels: Int, maxInput: Int
    let starts: UnsafeMutablePointer<Int>, counts: UnsafeMutablePointer<Int>
    let weights: UnsafeMutablePointer<Int32>, temp: UnsafeMutablePointer<Double>
    /// The horizontal pass's output: channels × input height × output width.
    let mid: UnsafeMutablePointer<UInt8>

    /// `output` is the smallest output side (it bounds how far a side shrinks, so how many taps a pixel reads).
    public init(maxInput: Int, output: Int, maxOutput: Int, channels: Int) {
        self.maxInput = maxInput; self.maxOutput = maxOutput; self.channels = channels
        let shrink = max(1.0, Double(maxInput) / Double(max(1, output)))
        maxTaps = 2 * Int((2 * shrink).rounded(.up)) + 3
        starts = .allocate(capacity: maxOutput); counts = .allocate(capacity: maxOutput)
        weights = .allocate(capacity: maxOutput * maxTaps); temp = .allocate(capacity: maxTaps)
        mid = .allocate(capacity: channels * maxInput * maxOutput)
    }

    deinit {
        starts.deallocate(); counts.deallocate(); weights.deallocate(); temp.deallocate(); mid.deallocate()
    }
}

extension PillowOps {
    static let precisionBits = 32 - 8 - 2

    /// Pillow's resampling coefficients (Resample.c `precompute_coeffs`): per output pixel the first input index,
    /// how many inputs it reads, and their weights normalised to sum 1 and rounded to 22-bit fixed point.
    static func coefficients(inSize: Int, from in0: Double, to in1: Double, outSize: Int, filter: ResampleFilter,
                             _ work: ResizeWorkspace) {
        let scale = (in1 - in0) / Double(outSize), filterScale = max(scale, 1)
        let support = filter.support * filterScale
        let one = Double(1 << precisionBits)
        for xx in 0..<outSize {
            let center = in0 + (Double(xx) + 0.5) * scale
            let xmin = max(0, Int(center - support + 0.5)), xmax = min(inSize, Int(center + support + 0.5))
            let n = max(0, xmax - xmin)
            precondition(n <= work.maxTaps, "resize workspace too small")
            var total = 0.0
            for k in 0..<n {
                let w = filter.weight((Double(xmin + k) - center + 0.5) / filterScale)
                work.temp[k] = w; total += w
            }
            let row = work.weights + xx * work.maxTaps
            for k in 0..<n {
                let w = total != 0 ? work.temp[k] / total : work.temp[k]
                row[k] = Int32(w < 0 ? (-0.5 + w * one) : (0.5 + w * one))
            }
            work.starts[xx] = xmin; work.counts[xx] = n
        }
    }

    @inline(__always) static func clip8(_ v: Int32) -> UInt8 {
        let s = v >> Int32(precisionBits)
        return s <= 0 ? 0 : s >= 255 ? 255 : UInt8(s)
    }

    /// Pillow's `Image.resize` for 8-bit pictures (Resample.c): a horizontal pass then a vertical one, each a
    /// convolution whose filter is stretched when shrinking (antialiasing), in 22-bit fixed point, rounded and
    /// clipped. `box` = (left, top, right, bottom) is the input region (default all of it).
    public static func resize(_ src: PlanarImage, into dst: PlanarImage, filter: ResampleFilter,
                              box: (Double, Double, Double, Double)? = nil, workspace work: ResizeWorkspace) {
        let (left, top, right, bottom) = box ?? (0, 0, Double(src.width), Double(src.height))
        let w = dst.width, h = dst.height, sw = src.width, sh = src.height
        precondition(src.channels == dst.channels && src.channels <= work.channels && w <= work.maxOutput
                     && h <= work.maxOutput && sh <= work.maxInput)
        let half: Int32 = 1 << Int32(precisionBits - 1)
        // horizontal pass over every row (Pillow limits it to the rows the vertical pass reads: same values)
        coefficients(inSize: sw, from: left, to: right, outSize: w, filter: filter, work)
        for c in 0..<src.channels {
            let s = src.plane(c), m = work.mid + c * sh * w
            for y in 0..<sh {
                for x in 0..<w {
                    var acc = half
                    let row = s + y * sw + work.starts[x], wk = work.weights + x * work.maxTaps
                    for k in 0..<work.counts[x] { acc &+= Int32(row[k]) &* wk[k] }
                    m[y * w + x] = clip8(acc)
                }
            }
        }
        coefficients(inSize: sh, from: top, to: bottom, outSize: h, filter: filter, work)
        for c in 0..<src.channels {
            let m = work.mid + c * sh * w, d = dst.plane(c)
            for y in 0..<h {
                let wk = work.weights + y * work.maxTaps, first = work.starts[y], n = work.counts[y]
                for x in 0..<w {
                    var acc = half
                    for k in 0..<n { acc &+= Int32(m[(first + k) * w + x]) &* wk[k] }
                    d[y * w + x] = clip8(acc)
                }
            }
        }
    }
}
