import ViTKitCore
import ViTKitImaging
import ViTKitModels
import ViTKitNN

/// Colour pictures of non-negative matrices (attention maps), in the viridis colour map.
public enum Heatmap {
    /// Viridis sampled at 0, 1/8, …, 1 (matplotlib's default colour map), linearly interpolated.
    static let stops: [(Float, Float, Float)] = [
        (68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
        (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37),
    ]

    /// The colour of t in [0, 1] (clamped).
    public static func color(_ t: Float) -> (UInt8, UInt8, UInt8) {
        let s = max(0, min(1, t.isNaN ? 0 : t)) * Float(stops.count - 1)
        let i = min(Int(s), stops.count - 2), f = s - Float(i)
        let a = stops[i], b = stops[i + 1]
        func mix(_ x: Float, _ y: Float) -> UInt8 { UInt8((x + (y - x) * f).rounded()) }
        return (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }

    /// The `rows`×`cols` block of `values` (row-major with `stride` per row) starting at (row0, col0), each entry a
    /// `scale`×`scale` square, coloured from 0 (dark) to the block's largest value (bright).
    public static func render(_ values: UnsafeBufferPointer<Float>, stride: Int, row0: Int = 0, col0: Int = 0, rows: Int,
                              cols: Int, scale: Int) -> RGBImage {
        var top: Float = 0
        for r in 0..<rows { for c in 0..<cols { top = max(top, values[(row0 + r) * stride + col0 + c]) } }
        var out = RGBImage(width: cols * scale, height: rows * scale)
        for r in 0..<rows {
            for c in 0..<cols {
                let rgb = color(top > 0 ? values[(row0 + r) * stride + col0 + c] / top : 0)
                for y in (r * scale)..<((r + 1) * scale) { for x in (c * scale)..<((c + 1) * scale) { out[x, y] = rgb } }
            }
        }
        return out
    }

    /// `render` of a whole [rows × cols] array.
    public static func render(_ values: [Float], rows: Int, cols: Int, scale: Int) -> RGBImage {
        values.withUnsafeBufferPointer { render($0, stride: cols, rows: rows, cols: cols, scale: scale) }
    }
}
