import COpenSSL
import Foundation
import ViTKitCore

/// MD5 digests through OpenSSL, for checking downloads against their publishers' sums.
public enum MD5 {
    /// Lowercase hex MD5 of `bytes`.
    public static func hex(_ bytes: [UInt8]) -> String {
        var d = Digest()
        bytes.withUnsafeBytes { d.update($0) }
        return d.finish()
    }

    /// Lowercase hex MD5 of the file at `path`, read in 4 MiB pieces.
    public static func hex(file path: String) throws -> String {
        guard let h = FileHandle(forReadingAtPath: path) else { throw ViTKitError("cannot read \(path) to check its MD5") }
        defer { try? h.close() }
        var d = Digest()
        while let chunk = try h.read(upToCount: 4 << 20), !chunk.isEmpty { chunk.withUnsafeBytes { d.update($0) } }
        return d.finish()
    }

    /// An MD5 made in pieces: `update` with each, then `finish` once for the hex digest.
    package struct Digest {
        let ctx = EVP_MD_CTX_new()
        package init() { EVP_DigestInit_ex(ctx, EVP_md5(), nil) }
        package func update(_ b: UnsafeRawBufferPointer) { EVP_DigestUpdate(ctx, b.baseAddress, b.count) }
        package func finish() -> String {
            var out = [UInt8](repeating: 0, count: 16)
            var n: UInt32 = 0
            EVP_DigestFinal_ex(ctx, &out, &n)
            EVP_MD_CTX_free(ctx)
            return out.map { String(format: "%02x", $0) }.joined()
        }
    }
}
