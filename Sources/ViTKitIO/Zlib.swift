import CSystemZlib
import ViTKitCore

/// zlib streams (RFC 1950) through the system library.
public enum Zlib {
    /// Decompresses a whole zlib stream (or, with `gzip`, a zlib or gzip stream). `what` names the source in errors.
    public static func inflate(_ input: UnsafeRawBufferPointer, what: String, gzip: Bool = false) throws -> [UInt8] {
        var stream = z_stream()
        let started = gzip ? vitkit_inflate_init_auto(&stream) : vitkit_inflate_init(&stream)
        guard started == Z_OK else { throw ViTKitError("\(what): zlib could not start") }
        defer { inflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: max(64, input.count * 4))
        var produced = 0
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        while true {
            if produced == out.count { out.append(contentsOf: [UInt8](repeating: 0, count: out.count)) }
            let status: Int32 = out.withUnsafeMutableBufferPointer { buf in
                stream.next_out = buf.baseAddress! + produced
                stream.avail_out = uInt(buf.count - produced)
                let s = CSystemZlib.inflate(&stream, Z_NO_FLUSH)
                produced = buf.count - Int(stream.avail_out)
                return s
            }
            if status == Z_STREAM_END { break }
            if status == Z_BUF_ERROR && stream.avail_in == 0 {
                throw ViTKitError("\(what): the compressed data ends early (truncated file?)")
            }
            if status != Z_OK && status != Z_BUF_ERROR {
                let why = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                throw ViTKitError("\(what): corrupt compressed data (zlib: \(why))")
            }
        }
        out.removeSubrange(produced...)
        return out
    }

    /// Compresses `input` into one zlib stream.
    public static func deflate(_ input: [UInt8], level: Int32 = 6) -> [UInt8] {
        var stream = z_stream()
        // (not inside precondition: -Ounchecked drops the whole expression, call included)
        let started = vitkit_deflate_init(&stream, level)
        precondition(started == Z_OK)
        defer { deflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))))
        input.withUnsafeBufferPointer { inp in
            out.withUnsafeMutableBufferPointer { buf in
                stream.next_in = UnsafeMutablePointer(mutating: inp.baseAddress)
                stream.avail_in = uInt(inp.count)
                stream.next_out = buf.baseAddress
                stream.avail_out = uInt(buf.count)
                let status = CSystemZlib.deflate(&stream, Z_FINISH)
                precondition(status == Z_STREAM_END)
            }
        }
        out.removeSubrange(Int(stream.total_out)...)
        return out
    }
}
