import CPNG
import Foundation
import ViTKitCore
import ViTKitIO

/// An 8-bit RGB picture, rows top to bottom, read and written as PNG through libpng's simplified API.
public struct RGBImage: Equatable {
    /// The picture's size in pixels.
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

    /// The (red, green, blue) pixel at column `x`, row `y`.
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

    /// Writes a PNG file durably (`DurableFile`): a failed write or a crash leaves the old file whole.
    public func writePNG(to path: String) throws {
        try Self.writePNG(to: path, width: width, height: height, channels: 3, bytes: pixels)
    }

    /// Writes 8-bit grey (1 channel), grey+alpha (2), RGB (3) or RGBA (4) pixels as a PNG file, durably.
    public static func writePNG(to path: String, width: Int, height: Int, channels: Int, bytes: [UInt8]) throws {
        try DurableFile.write(try encodePNG(width: width, height: height, channels: channels, bytes: bytes), to: path)
    }

    /// The PNG file's bytes for 8-bit pixels of 1 to 4 channels (see `writePNG`).
    public static func encodePNG(width: Int, height: Int, channels: Int, bytes: [UInt8]) throws -> Data {
        precondition((1...4).contains(channels) && bytes.count == width * height * channels)
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        image.width = png_uint_32(width); image.height = png_uint_32(height)
        image.format = png_uint_32([0, 0, 1, 2, 3][channels])  // PNG_FORMAT_FLAG_ALPHA = 1, _COLOR = 2
        func message() -> String { withUnsafeBytes(of: &image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } }
        // the first call sizes the file, the second writes it
        var size = 0
        let stride = png_int_32(channels * width)
        guard bytes.withUnsafeBufferPointer({ png_image_write_to_memory(&image, nil, &size, 0, $0.baseAddress, stride, nil) }) != 0 else {
            defer { png_image_free(&image) }
            throw ViTKitError("cannot encode a \(width)×\(height) PNG: \(message())")
        }
        var out = Data(count: size)
        let ok = out.withUnsafeMutableBytes { dst in
            bytes.withUnsafeBufferPointer { png_image_write_to_memory(&image, dst.baseAddress, &size, 0, $0.baseAddress, stride, nil) }
        }
        if ok == 0 {
            defer { png_image_free(&image) }
            throw ViTKitError("cannot encode a \(width)×\(height) PNG: \(message())")
        }
        return out.prefix(size)
    }

    /// Reads a PNG file as 8-bit RGB: libpng expands grey, palette and 16-bit images, and alpha is dropped (as
    /// Pillow's `convert("RGB")`).
    public static func readPNG(_ path: String) throws -> RGBImage {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ViTKitError("cannot read image \(path): the file does not exist or is not readable")
        }
        return try decodePNG([UInt8](data), what: path)
    }

    /// `readPNG` of bytes already in memory; `what` names the source in errors.
    public static func decodePNG(_ bytes: [UInt8], what path: String) throws -> RGBImage {
        let decoder = ImageDecoder()
        // the decoded picture lives in the decoder: keep it until the copy is made
        return try withExtendedLifetime(decoder) { try bytes.withUnsafeBytes { RGBImage(try decoder.decodePNG($0, what: path)) } }
    }
}
