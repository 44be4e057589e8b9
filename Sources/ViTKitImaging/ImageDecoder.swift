import CImageCodecs
import CTurboJPEG
import Foundation
import ViTKitCore
import ViTKitIO

/// Reads JPEG (TurboJPEG, accurate DCT, as Pillow) and PNG (libpng) files into planar 8-bit RGB; greyscale and
/// RGBA become RGB as Pillow's `convert('RGB')` makes them (grey copied to R, G and B; alpha dropped).
///
/// The file bytes, the decoded pixels and the planes live in buffers that only grow, so a loader thread that owns
/// one decoder reads image after image without allocating once the largest picture has been seen (the codecs'
/// own working memory aside). Not for use from two threads at once.
public final class ImageDecoder: @unchecked Sendable {
    private var file = GrowingBytes(), pixels = GrowingBytes(), planes = GrowingBytes()
    private var jpeg: tjhandle?

    /// A decoder; it keeps its codec state between files, so keep one per thread.
    public init() {}
    deinit {
        if let jpeg { tjDestroy(jpeg) }
        file.free(); pixels.free(); planes.free()
    }

    /// Reads and decodes the file at `path` (JPEG or PNG, told by its first bytes). The picture lives in the
    /// decoder and stays valid until its next call.
    public func decode(path: String) throws -> PlanarImage {
        let count = try read(path)
        return try decode(UnsafeRawBufferPointer(start: file.pointer, count: count), what: path)
    }

    /// Decodes JPEG or PNG `bytes`; `what` names them in errors.
    public func decode(_ bytes: UnsafeRawBufferPointer, what: String) throws -> PlanarImage {
        if bytes.starts(with: [0xFF, 0xD8]) { return try decodeJPEG(bytes, what: what) }
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return try decodePNG(bytes, what: what) }
        if bytes.isEmpty { throw ViTKitError("cannot decode image \(what): the file is empty (0 bytes)") }
        let kind = Self.format(of: bytes).map { "it is \($0)" } ?? "it is not a JPEG or PNG file (its first bytes are "
            + "\(bytes.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")))"
        throw ViTKitError("cannot decode image \(what): \(kind); ViTKit reads JPEG and PNG (convert it, e.g. with Pillow)")
    }

    /// What kind of image (or other file) `bytes` hold, told by their first bytes, for an error message.
    static func format(of bytes: UnsafeRawBufferPointer) -> String? {
        func at(_ offset: Int, _ b: [UInt8]) -> Bool {
            bytes.count >= offset + b.count && zip(bytes[offset...], b).allSatisfy { $0 == $1 }
        }
        func at(_ offset: Int, _ ascii: String) -> Bool { at(offset, Array(ascii.utf8)) }
        if at(0, "GIF87a") || at(0, "GIF89a") { return "a GIF image" }
        if at(0, "RIFF") && at(8, "WEBP") { return "a WebP image" }
        if at(0, "BM") { return "a BMP image" }
        if at(0, "II*\u{0}") || at(0, "MM\u{0}*") { return "a TIFF image" }
        if at(4, "ftypheic") || at(4, "ftypheix") || at(4, "ftypmif1") { return "a HEIF/HEIC image" }
        if at(4, "ftypavif") { return "an AVIF image" }
        if at(0, [0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20]) || at(0, [0xFF, 0x4F, 0xFF, 0x51]) { return "a JPEG 2000 image" }
        if at(0, "%PDF") { return "a PDF document" }
        if at(0, "<") || at(0, [0xEF, 0xBB, 0xBF, 0x3C]) { return "a text file (HTML or XML, perhaps a web page saved in its place)" }
        return nil
    }

    /// Decodes a JPEG (RGB or greyscale) as libjpeg-turbo does for Pillow; `what` names the file in errors.
    public func decodeJPEG(_ bytes: UnsafeRawBufferPointer, what: String) throws -> PlanarImage {
        if jpeg == nil { jpeg = tjInitDecompress() }
        guard let handle = jpeg else { throw ViTKitError("\(what): TurboJPEG could not start") }
        let src = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), size = UInt(bytes.count)
        var w: Int32 = 0, h: Int32 = 0, subsamp: Int32 = 0, colorspace: Int32 = 0
        if tjDecompressHeader3(handle, src, size, &w, &h, &subsamp, &colorspace) != 0 {
            throw ViTKitError("cannot decode JPEG \(what): \(String(cString: tjGetErrorStr2(handle)))")
        }
        guard w > 0, h > 0 else { throw ViTKitError("cannot decode JPEG \(what): it is \(w)×\(h) pixels") }
        // CMYK and YCCK (print-shop files, some in ImageNet): libjpeg gives CMYK for both, which becomes RGB below
        let cmyk = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
        let channels: Int32 = cmyk ? 4 : 3
        let out = pixels.reserve(Int(channels) * Int(w) * Int(h))
        // TurboJPEG also fails on warnings such as a truncated file: Pillow refuses those too
        if tjDecompress2(handle, src, size, out, w, channels * w, h, Int32((cmyk ? TJPF_CMYK : TJPF_RGB).rawValue),
                         TJFLAG_ACCURATEDCT) != 0 {
            let colours = cmyk ? " (a \(colorspace == Int32(TJCS_CMYK.rawValue) ? "CMYK" : "YCCK") JPEG)" : ""
            throw ViTKitError("cannot decode JPEG \(what)\(colours): \(String(cString: tjGetErrorStr2(handle)))")
        }
        if cmyk { Self.cmykToRGB(out, count: Int(w) * Int(h)) }
        return deinterleave(out, stride: Int(channels), width: Int(w), height: Int(h))
    }

    /// CMYK pixels to RGB in place (each pixel keeps 4 bytes, the fourth becomes unused), as Pillow: it reads a
    /// CMYK JPEG with Adobe's inverted convention (raw mode `CMYK;I`, whatever the Adobe marker says), then
    /// converts with R = (255 − K) − C·(255 − K)/255, rounded as its `MULDIV255`.
    static func cmykToRGB(_ p: UnsafeMutablePointer<UInt8>, count: Int) {
        for i in 0..<count {
            let q = p + 4 * i
            let nk = Int(q[3])  // 255 − K, with K = 255 − stored
            for c in 0..<3 {
                let t = (255 - Int(q[c])) * nk + 128
                q[c] = UInt8(clamping: nk - (((t >> 8) + t) >> 8))
            }
        }
    }

    /// A PNG as Pillow's `convert("RGB")` makes it (see `vitkit_png_decode_rgb`: no gamma or colour-profile
    /// conversion, Pillow's 16-to-8-bit rules).
    public func decodePNG(_ bytes: UnsafeRawBufferPointer, what: String) throws -> PlanarImage {
        let src = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        var message = [CChar](repeating: 0, count: 256)
        var w: UInt32 = 0, h: UInt32 = 0
        if vitkit_png_size(src, bytes.count, &w, &h, &message, message.count) != 0 {
            throw ViTKitError("cannot decode PNG \(what): \(String(cString: message))")
        }
        guard w > 0, h > 0, Int(w) * Int(h) <= 1 << 28 else { throw ViTKitError("cannot decode PNG \(what): it is \(w)×\(h) pixels") }
        let n = 3 * Int(w) * Int(h), rgb = pixels.reserve(n)
        if vitkit_png_decode_rgb(src, bytes.count, rgb, n, &message, message.count) != 0 {
            throw ViTKitError("cannot decode PNG \(what): \(String(cString: message))")
        }
        return deinterleave(rgb, stride: 3, width: Int(w), height: Int(h))
    }

    /// R, G, B of `stride`-byte pixels into three planes (a fourth byte, alpha, is dropped).
    private func deinterleave(_ src: UnsafeMutablePointer<UInt8>, stride: Int, width: Int, height: Int) -> PlanarImage {
        let n = width * height, dst = planes.reserve(3 * n)
        for i in 0..<n {
            let p = src + stride * i
            dst[i] = p[0]; dst[n + i] = p[1]; dst[2 * n + i] = p[2]
        }
        return PlanarImage(dst, width: width, height: height, channels: 3)
    }

    /// Reads the whole file into `file`; returns its size.
    private func read(_ path: String) throws -> Int {
        let fd = open(path, O_RDONLY)
        if fd < 0 { throw ViTKitError("cannot read image \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw ViTKitError("cannot read image \(path): \(String(cString: strerror(errno)))") }
        let size = Int(st.st_size), dst = file.reserve(size)
        var done = 0
        while done < size {
            let got = Foundation.read(fd, dst + done, size - done)
            if got < 0 && errno == EINTR { continue }
            if got < 0 { throw ViTKitError("cannot read image \(path): \(String(cString: strerror(errno)))") }
            if got == 0 { throw ViTKitError("cannot read image \(path): it ended after \(done) of \(size) bytes") }
            done += got
        }
        return size
    }
}

/// A byte buffer that is reallocated only when asked for more than it has.
package struct GrowingBytes {
    package private(set) var pointer: UnsafeMutablePointer<UInt8> = .allocate(capacity: 1)
    package private(set) var capacity = 1

    package init() {}

    /// Room for at least `count` bytes (old contents not kept).
    package mutating func reserve(_ count: Int) -> UnsafeMutablePointer<UInt8> {
        if count > capacity {
            pointer.deallocate()
            capacity = max(count, capacity + capacity / 2)
            pointer = .allocate(capacity: capacity)
        }
        return pointer
    }

    package func free() { pointer.deallocate() }
}
