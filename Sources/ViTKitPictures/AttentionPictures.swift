import ViTKitCore
import ViTKitImaging
import ViTKitModels
import ViTKitNN

/// The layouts of `vitkit init`'s pictures, from attention maps [heads × T × T] (see
/// `VisionTransformer.attentionMaps`). Each map is coloured from 0 to its own largest value.
public enum AttentionPictures {
    static let mark: (UInt8, UInt8, UInt8) = (255, 64, 64)

    /// One head's T×T matrix, `size` pixels across or less (but at least one pixel per entry), with the zoomed corner
    /// outlined.
    public static func matrix(_ maps: [Float], head: Int, tokens t: Int, zoom: Int, size: Int) -> RGBImage {
        let scale = max(1, size / t)
        var img = maps.withUnsafeBufferPointer {
            Heatmap.render(UnsafeBufferPointer(rebasing: $0[(head * t * t)...]), stride: t, rows: t, cols: t, scale: scale)
        }
        if zoom < t { img.strokeRect(x: 0, y: 0, width: zoom * scale, height: zoom * scale, color: mark) }
        return img
    }

    /// The upper-left `zoom`×`zoom` corner of one head's matrix, about `size` pixels across.
    public static func corner(_ maps: [Float], head: Int, tokens t: Int, zoom: Int, size: Int) -> RGBImage {
        maps.withUnsafeBufferPointer {
            Heatmap.render(UnsafeBufferPointer(rebasing: $0[(head * t * t)...]), stride: t, rows: zoom, cols: zoom,
                           scale: max(1, size / zoom))
        }
    }

    /// Where query token `query` (a patch index, row-major over the grid) looks, over the grid×grid patch tokens
    /// (`prefix` class/register tokens, which come first, left out), with the query outlined.
    public static func queryGrid(_ maps: [Float], head: Int, tokens t: Int, prefix: Int, grid: Int, query: Int,
                                 size: Int) -> RGBImage {
        let scale = max(1, size / grid)
        var img = maps.withUnsafeBufferPointer {
            Heatmap.render(UnsafeBufferPointer(rebasing: $0[(head * t * t + (prefix + query) * t + prefix)...]),
                           stride: grid, rows: grid, cols: grid, scale: scale)
        }
        img.strokeRect(x: query % grid * scale, y: query / grid * scale, width: scale, height: scale, color: mark)
        return img
    }

    /// A row per head: the matrix, its zoomed corner, the query token's grid (the last two as wide as the matrix).
    public static func layer(_ maps: [Float], heads: Int, tokens t: Int, prefix: Int, grid: Int, zoom: Int, query: Int,
                             size: Int = 256) -> RGBImage {
        RGBImage.grid((0..<heads).map { h in
            let m = matrix(maps, head: h, tokens: t, zoom: zoom, size: size)
            return [m, corner(maps, head: h, tokens: t, zoom: zoom, size: m.width),
                    queryGrid(maps, head: h, tokens: t, prefix: prefix, grid: grid, query: query, size: m.width)]
        })
    }

    /// Side by side, a row per model (e.g. one per init): for each head its matrix and its query grid.
    public static func sheet(_ rows: [[Float]], heads: Int, tokens t: Int, prefix: Int, grid: Int, zoom: Int, query: Int,
                             size: Int = 192) -> RGBImage {
        RGBImage.grid(rows.map { maps in
            (0..<heads).flatMap { h in
                let m = matrix(maps, head: h, tokens: t, zoom: zoom, size: size)
                return [m, queryGrid(maps, head: h, tokens: t, prefix: prefix, grid: grid, query: query, size: m.width)]
            }
        }, gap: 6)
    }
}
