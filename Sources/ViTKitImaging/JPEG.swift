import CTurboJPEG
import Foundation
import ViTKitCore
import ViTKitIO

/// JPEG files through libjpeg-turbo's TurboJPEG API (accurate integer DCT, as Pillow's decoder).
public enum JPEG {
    /// Decodes a JPEG (colour or greyscale) to 8-bit RGB. `what` names the source in errors.
    public static func decode(_ bytes: [UInt8], what: String) throws -> RGBImage {
        let decoder = ImageDecoder()
        // the decoded picture lives in the decoder: keep it until the copy is made
        return try withExtendedLifetime(decoder) { try bytes.withUnsafeBytes { RGBImage(try decoder.decodeJPEG($0, what: what)) } }
    }

    /// Encodes 8-bit RGB as a baseline JPEG (4:4:4 chroma, `quality` 1…100).
    public static func encode(_ image: RGBImage, quality: Int32 = 95) throws -> [UInt8] {
        guard let handle = tjInitCompress() else { throw ViTKitError("TurboJPEG could not start") }
        defer { tjDestroy(handle) }
        var buffer: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let status = image.pixels.withUnsafeBufferPointer {
            tjCompress2(handle, $0.baseAddress, Int32(image.width), Int32(3 * image.width), Int32(image.height),
                        Int32(TJPF_RGB.rawValue), &buffer, &size, Int32(TJSAMP_444.rawValue), quality, TJFLAG_ACCURATEDCT)
        }
        defer { tjFree(buffer) }
        if status != 0 { throw ViTKitError("cannot encode JPEG: \(String(cString: tjGetErrorStr2(handle)))") }
        return Array(UnsafeBufferPointer(start: buffer, count: Int(size)))
    }

    /// Encodes a greyscale picture (one byte per pixel) as a one-channel JPEG.
    public static func encodeGray(_ gray: [UInt8], width: Int, height: Int, quality: Int32 = 95) throws -> [UInt8] {
        guard let handle = tjInitCompress() else { throw ViTKitError("TurboJPEG could not start") }
        defer { tjDestroy(handle) }
        var buffer: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let status = tjCompress2(handle, gray, Int32(width), Int32(width), Int32(height), Int32(TJPF_GRAY.rawValue),
                                 &buffer, &size, Int32(TJSAMP_GRAY.rawValue), quality, TJFLAG_ACCURATEDCT)
        defer { tjFree(buffer) }
        if status != 0 { throw ViTKitError("cannot encode JPEG: \(String(cString: tjGetErrorStr2(handle)))") }
        return Array(UnsafeBufferPointer(start: buffer, count: Int(size)))
    }
}
