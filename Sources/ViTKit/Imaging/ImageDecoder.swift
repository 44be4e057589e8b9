import CPNG
import CTurboJPEG
import Foundation

/// Reads JPEG (TurboJPEG, accurate DCT, as Pillow) and PNG (libpng) files into planar 8-bit RGB; greyscale and
/// RGBA become RGB as Pillow's `convert('RGB')` makes them (grey copied to R, G and B; alpha dropped).
///
/// The file bytes, the decoded pixels and the planes live in buffers that only grow, so a loader thread that owns
/// one decoder reads image after image without allocating once the largest picture has been seen (the codecs'
/// own working memory aside). Not for use from two threads at once.
public final class ImageDecoder: @unchecked Sendable {
    private var file = GrowingBytes(), pixels = GrowingBytes(), planes = GrowingBytes()
    private var jpeg: tjhandle?

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
        throw ViTKitError("cannot decode image \(what): not a JPEG or PNG file (its first bytes are "
            + "\(bytes.prefix(4).map { String(format: "%02x", $0) }.joined(separator: " ")))")
    }

    public func decodeJPEG(_ bytes: UnsafeRawBufferPointer, what: String) throws -> PlanarImage {
        if jpeg == nil { jpeg = tjInitDecompress() }
        guard let handle = jpeg else { throw ViTKitError("\(what): TurboJPEG could not start") }
        let src = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), size = UInt(bytes.count)
        var w: Int32 = 0, h: Int32 = 0, subsamp: Int32 = 0, colorspace: Int32 = 0
        if tjDecompressHeader3(handle, src, size, &w, &h, &subsamp, &colorspace) != 0 {
            throw ViTKitError("cannot decode JPEG \(what): \(String(cString: tjGetErrorStr2(handle)))")
        }
        guard w > 0, h > 0 else { throw ViTKitError("cannot decode JPEG \(what): it is \(w)×\(h) pixels") }
        let rgb = pixels.reserve(3 * Int(w) * Int(h))
        // TurboJPEG also fails on warnings such as a truncated file: Pillow refuses those too
        if tjDecompress2(handle, src, size, rgb, w, 3 * w, h, Int32(TJPF_RGB.rawValue), TJFLAG_ACCURATEDCT) != 0 {
            throw ViTKitError("cannot decode JPEG \(what): \(String(cString: tjGetErrorStr2(handle)))")
        }
        return deinterleave(rgb, stride: 3, width: Int(w), height: Int(h))
    }

    public func decodePNG(_ bytes: UnsafeRawBufferPointer, what: String) throws -> PlanarImage {
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        if png_image_begin_read_from_memory(&image, bytes.baseAddress, bytes.count) == 0 {
            let why = Self.message(&image)
            png_image_free(&image)
            throw ViTKitError("cannot read image \(what): \(why) (expected a PNG file)")
        }
        image.format = png_uint_32(vitkit_png_format_rgba)
        let w = Int(image.width), h = Int(image.height)
        let rgba = pixels.reserve(4 * w * h)
        if png_image_finish_read(&image, nil, rgba, png_int_32(4 * w), nil) == 0 {
            let why = Self.message(&image)
            png_image_free(&image)
            throw ViTKitError("cannot read image \(what): \(why)")
        }
        return deinterleave(rgba, stride: 4, width: w, height: h)
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

    /// libpng's simplified-API error text.
    static func message(_ image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}

/// A byte buffer that is reallocated only when asked for more than it has.
struct GrowingBytes {
    private(set) var pointer: UnsafeMutablePointer<UInt8> = .allocate(capacity: 1)
    private(set) var capacity = 1

    /// Room for at least `count` bytes (old contents not kept).
    mutating func reserve(_ count: Int) -> UnsafeMutablePointer<UInt8> {
        if count > capacity {
            pointer.deallocate()
            capacity = max(count, capacity + capacity / 2)
            pointer = .allocate(capacity: capacity)
        }
        return pointer
    }

    func free() { pointer.deallocate() }
}
