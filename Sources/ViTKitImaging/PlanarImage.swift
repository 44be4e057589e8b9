import ViTKitCore
import ViTKitIO

/// An 8-bit picture stored as `channels` planes of `height`×`width` bytes (the dataset layout, CIFAR's), in memory
/// the caller owns. The augmentation ops read and write these views, so a training step allocates nothing.
public struct PlanarImage {
    /// The bytes, channel-planar [channels × height × width].
    public var pixels: UnsafeMutablePointer<UInt8>
    /// The image's size and channel count.
    public let width: Int, height: Int, channels: Int

    /// A view of `pixels` (not owned) as an image of this size.
    public init(_ pixels: UnsafeMutablePointer<UInt8>, width: Int, height: Int, channels: Int) {
        self.pixels = pixels; self.width = width; self.height = height; self.channels = channels
    }

    /// Bytes per channel plane: width·height.
    public var plane: Int { width * height }
    /// Bytes in all planes.
    public var count: Int { channels * width * height }

    /// The first byte of channel `c`'s plane.
    @inline(__always) public func plane(_ c: Int) -> UnsafeMutablePointer<UInt8> { pixels + c * plane }

    /// Copies `other` (same shape) over this picture.
    public func copy(from other: PlanarImage) {
        precondition(other.width == width && other.height == height && other.channels == channels)
        pixels.update(from: other.pixels, count: count)
    }

    /// Mirrors every row in place.
    public func flipLeftRight() {
        for row in 0..<(channels * height) {
            let p = pixels + row * width
            var i = 0, j = width - 1
            while i < j { let t = p[i]; p[i] = p[j]; p[j] = t; i += 1; j -= 1 }
        }
    }
}

extension RGBImage {
    /// The picture as planes (R, G, B) in a new array.
    public var planes: [UInt8] {
        var out = [UInt8](repeating: 0, count: pixels.count)
        let n = width * height
        for i in 0..<n { out[i] = pixels[3 * i]; out[n + i] = pixels[3 * i + 1]; out[2 * n + i] = pixels[3 * i + 2] }
        return out
    }

    /// The picture as a model input: planes (R, G, B) of (pixel/255 − mean)/std.
    public func normalized(mean: [Float], std: [Float]) -> [Float] {
        let n = width * height
        var out = [Float](repeating: 0, count: 3 * n)
        for i in 0..<n { for c in 0..<3 { out[c * n + i] = (Float(pixels[3 * i + c]) / 255 - mean[c]) / std[c] } }
        return out
    }

    /// A copy of a three-channel planar picture.
    public init(_ planar: PlanarImage) {
        precondition(planar.channels == 3)
        self.init(planes: planar.pixels, width: planar.width, height: planar.height)
    }

    /// The picture from three planes of `width`×`height` bytes.
    public init(planes: UnsafePointer<UInt8>, width: Int, height: Int) {
        self.init(width: width, height: height)
        let n = width * height
        for i in 0..<n { pixels[3 * i] = planes[i]; pixels[3 * i + 1] = planes[n + i]; pixels[3 * i + 2] = planes[2 * n + i] }
    }
}

extension PlanarImage {
    /// Pillow's `convert("L")` into `grey` (one plane of the same size): (19595 R + 38470 G + 7471 B + 2¹⁵) >> 16,
    /// what timm's datasets give a one-channel model (`input_img_mode='L'`); a grey picture is copied.
    public func greyscale(into grey: UnsafeMutablePointer<UInt8>) {
        for i in 0..<plane { grey[i] = PillowOps.luma(self, i) }
    }
}

extension RGBImage {
    /// The picture with R = G = B = its Pillow `convert("L")` grey: resizing it resizes the grey picture exactly.
    public func greyRGB() -> RGBImage {
        var out = self
        for i in 0..<(width * height) {
            let v = Int(pixels[3 * i]) * 19595 + Int(pixels[3 * i + 1]) * 38470 + Int(pixels[3 * i + 2]) * 7471 + 0x8000
            let g = UInt8(v >> 16)
            out.pixels[3 * i] = g; out.pixels[3 * i + 1] = g; out.pixels[3 * i + 2] = g
        }
        return out
    }
}
