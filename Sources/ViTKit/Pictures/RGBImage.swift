import CPNG
import Foundation

/// An 8-bit RGB picture, rows top to bottom, read and written as PNG through libpng's simplified API.
public struct RGBImage: Equatable {
    public let width: Int, height: Int
    /// width·height·3 bytes, row-major, R G B.
    public var pixels: [UInt8]

    /// A picture filled with one colour.
    public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (255, 255, 255)) {
        precondition(width > 0 && height > 0)
        self.width = width; self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) { pixels[3 * i] = fill.0; pixels[3 * i + 1] = fill.1; pixels[3 * i + 2] = fill.2 }
    }

    public subscript(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        get { let i = 3 * (y * width + x); return (pixels[i], pixels[i + 1], pixels[i + 2]) }
        set { let i = 3 * (y * width + x); pixels[i] = newValue.0; pixels[i + 1] = newValue.1; pixels[i + 2] = newValue.2 }
    }

    /// Copies `other` in with its top-left corner at (x, y).
    public mutating func draw(_ other: RGBImage, x: Int, y: Int) {
        precondition(x >= 0 && y >= 0 && x + other.width <= width && y + other.height <= height)
        for row in 0..<other.height {
            let src = 3 * row * other.width, dst = 3 * ((y + row) * width + x)
            pixels.replaceSubrange(dst..<(dst + 3 * other.width), with: other.pixels[src..<(src + 3 * other.width)])
        }
    }

    /// Draws a 1-pixel rectangle outline (clipped to the picture).
    public mutating func strokeRect(x: Int, y: Int, width w: Int, height h: Int, color: (UInt8, UInt8, UInt8)) {
        for xx in max(0, x)..<min(width, x + w) {
            if y >= 0 && y < height { self[xx, y] = color }
            if y + h - 1 >= 0 && y + h - 1 < height { self[xx, y + h - 1] = color }
        }
        for yy in max(0, y)..<min(height, y + h) {
            if x >= 0 && x < width { self[x, yy] = color }
            if x + w - 1 >= 0 && x + w - 1 < width { self[x + w - 1, yy] = color }
        }
    }

    /// Lays pictures out in rows (each row's cells left to right), `gap` pixels apart and around, on `background`.
    public static func grid(_ rows: [[RGBImage]], gap: Int = 4, background: (UInt8, UInt8, UInt8) = (255, 255, 255))
        -> RGBImage {
        let rowHeights = rows.map { $0.map(\.height).max() ?? 0 }
        let width = rows.map { $0.reduce(gap) { $0 + $1.width + gap } }.max() ?? gap
        let height = rowHeights.reduce(gap) { $0 + $1 + gap }
        var out = RGBImage(width: max(width, 1), height: max(height, 1), fill: background)
        var y = gap
        for (r, row) in rows.enumerated() {
            var x = gap
            for cell in row { out.draw(cell, x: x, y: y); x += cell.width + gap }
            y += rowHeights[r] + gap
        }
        return out
    }

    /// Writes a PNG file: to a temporary file next to `path`, then renamed, so a failed write leaves nothing half-done.
    public func writePNG(to path: String) throws {
        let tmp = path + ".tmp-\(getpid())"
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        image.width = png_uint_32(width); image.height = png_uint_32(height)
        image.format = png_uint_32(vitkit_png_format_rgb)
        let ok = pixels.withUnsafeBufferPointer {
            png_image_write_to_file(&image, tmp, 0, $0.baseAddress, png_int_32(3 * width), nil)
        }
        if ok == 0 {
            let why = Self.message(&image)
            png_image_free(&image); unlink(tmp)
            throw ViTKitError("cannot write PNG \(path): \(why)")
        }
        if rename(tmp, path) != 0 {
            let why = String(cString: strerror(errno))
            unlink(tmp)
            throw ViTKitError("cannot write PNG \(path): \(why)")
        }
    }

    /// Reads a PNG file as 8-bit RGB (libpng converts grey, palette, alpha and 16-bit images).
    public static func readPNG(_ path: String) throws -> RGBImage {
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        if png_image_begin_read_from_file(&image, path) == 0 {
            let why = message(&image)
            png_image_free(&image)
            throw ViTKitError("cannot read image \(path): \(why) (expected a PNG file)")
        }
        image.format = png_uint_32(vitkit_png_format_rgb)
        var out = RGBImage(width: Int(image.width), height: Int(image.height))
        let ok = out.pixels.withUnsafeMutableBufferPointer {
            png_image_finish_read(&image, nil, $0.baseAddress, png_int_32(3 * Int(image.width)), nil)
        }
        if ok == 0 {
            let why = message(&image)
            png_image_free(&image)
            throw ViTKitError("cannot read image \(path): \(why)")
        }
        return out
    }

    private static func message(_ image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// Bilinear resampling to `width`×`height` (pixel centres aligned, as PIL's and torchvision's resize).
    public func resized(width w: Int, height h: Int) -> RGBImage {
        if w == width && h == height { return self }
        var out = RGBImage(width: w, height: h)
        for y in 0..<h {
            let sy = max(0, min(Float(height - 1), (Float(y) + 0.5) * Float(height) / Float(h) - 0.5))
            let y0 = Int(sy), y1 = min(y0 + 1, height - 1), fy = sy - Float(y0)
            for x in 0..<w {
                let sx = max(0, min(Float(width - 1), (Float(x) + 0.5) * Float(width) / Float(w) - 0.5))
                let x0 = Int(sx), x1 = min(x0 + 1, width - 1), fx = sx - Float(x0)
                for c in 0..<3 {
                    func p(_ xx: Int, _ yy: Int) -> Float { Float(pixels[3 * (yy * width + xx) + c]) }
                    let v = (p(x0, y0) * (1 - fx) + p(x1, y0) * fx) * (1 - fy) + (p(x0, y1) * (1 - fx) + p(x1, y1) * fx) * fy
                    out.pixels[3 * (y * w + x) + c] = UInt8(max(0, min(255, v.rounded())))
                }
            }
        }
        return out
    }
}
