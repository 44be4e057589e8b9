import Foundation
import ViTKitCore
import ViTKitIO
import ViTKitImaging
import ViTKitNN

/// timm's `build_sincos2d_pos_embed` (osiriszjq/structured_init `timm/layers/pos_embed_sincos.py` L28-77, used with `sin_pe=True`): for token t = (r, c) of a grid×grid map,
/// pe[t] = [sin(r·ω), sin(c·ω), cos(r·ω), cos(c·ω)], ω_i = 10000^(−i/(D/4)), i < D/4. Row-major [N × D].
public func sincos2DPositionEmbedding(grid: Int, dim: Int, temperature: Double = 10000) -> [Float] {
    sincos2DPositionEmbedding(gridHeight: grid, gridWidth: grid, dim: dim, temperature: temperature)
}

/// The same table for a `gridHeight`×`gridWidth` grid (timm's `feat_shape=[H, W]`), rows in raster order.
public func sincos2DPositionEmbedding(gridHeight: Int, gridWidth: Int, dim: Int, temperature: Double = 10000) -> [Float] {
    let q = dim / 4
    var pe = [Float](repeating: 0, count: gridHeight * gridWidth * dim)
    for r in 0..<gridHeight {
        for c in 0..<gridWidth {
            let base = (r * gridWidth + c) * dim
            for i in 0..<q {
                let w = 1 / pow(temperature, Double(i) / Double(q))
                pe[base + i] = Float(sin(Double(r) * w))
                pe[base + q + i] = Float(sin(Double(c) * w))
                pe[base + 2 * q + i] = Float(cos(Double(r) * w))
                pe[base + 3 * q + i] = Float(cos(Double(c) * w))
            }
        }
    }
    return pe
}
