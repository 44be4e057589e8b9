import Foundation
import ViTKitCore

/// Regular files of a POSIX ustar / GNU tar archive (already decompressed).
public enum Tar {
    /// A regular file in the archive: its path and where its bytes lie in the archive's data.
    public struct Entry { public var path: String; public var range: Range<Int> }

    /// The archive's regular files, in order. `what` names it in errors.
    public static func entries(_ b: [UInt8], what: String) throws -> [Entry] {
        var out: [Entry] = [], offset = 0, longName: String?
        while offset + 512 <= b.count {
            let header = b[offset..<(offset + 512)]
            if header.allSatisfy({ $0 == 0 }) { break }  // end-of-archive blocks
            func field(_ from: Int, _ length: Int) -> String {
                let f = b[(offset + from)..<(offset + from + length)]
                return String(decoding: f.prefix { $0 != 0 }, as: UTF8.self)
            }
            let sizeText = field(124, 12).trimmingCharacters(in: .whitespaces)
            // octal digits only: Int(_:radix:) would also take a sign, and a negative size walks backwards
            guard sizeText.allSatisfy({ ("0"..."7").contains($0) }), let size = Int(sizeText.isEmpty ? "0" : sizeText, radix: 8) else {
                throw ViTKitError("\(what): bad tar header at byte \(offset) (size field '\(sizeText)')")
            }
            let type = b[offset + 156], start = offset + 512
            guard start + size <= b.count else {
                throw ViTKitError("\(what): truncated: a tar entry at byte \(offset) needs \(size) bytes, \(b.count - start) remain")
            }
            var name = field(0, 100)
            let prefix = field(345, 155)
            if field(257, 5) == "ustar" && !prefix.isEmpty { name = prefix + "/" + name }
            if let l = longName { name = l; longName = nil }
            switch type {
            case UInt8(ascii: "L"): longName = String(decoding: b[start..<(start + size)].prefix { $0 != 0 }, as: UTF8.self)
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): out.append(Entry(path: name, range: start..<(start + size)))
            default: break  // directories, links, pax headers: not needed for dataset archives
            }
            offset = start + (size + 511) / 512 * 512
        }
        return out
    }

    /// Writes the regular files of `archive` under `directory`, dropping the first `stripComponents` path parts;
    /// refuses paths that would leave the directory. Returns the written paths.
    @discardableResult
    public static func extract(_ archive: [UInt8], to directory: String, stripComponents: Int = 0, what: String) throws
        -> [String] {
        var written: [String] = []
        for e in try entries(archive, what: what) {
            guard let target = try destination(of: e.path, in: directory, stripComponents: stripComponents, what: what) else { continue }
            try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try Data(archive[e.range]).write(to: URL(fileURLWithPath: target), options: .atomic)
            written.append(target)
        }
        return written
    }

    /// Where `extract` writes the entry `path` under `directory`, or nil when stripping leaves nothing; refuses a
    /// path that would leave the directory (absolute, or with a `..` part).
    public static func destination(of path: String, in directory: String, stripComponents: Int, what: String) throws -> String? {
        let parts = path.split(separator: "/").map(String.init).filter { $0 != "." }
        if parts.contains("..") || path.hasPrefix("/") {
            throw ViTKitError("\(what): refusing to extract '\(path)', which points outside the target folder")
        }
        guard parts.count > stripComponents else { return nil }
        return ([directory] + parts.dropFirst(stripComponents)).joined(separator: "/")
    }
}
