import Foundation
import ViTKitCore
import ZIPFoundation

/// NumPy's `.npy` arrays and `.npz` archives of them (a zip file of `<name>.npy` entries, stored or deflated),
/// read as Float in C (row-major) order. Google's JAX ViT checkpoints are `.npz` files of float32 arrays.
public enum NumPy {
    /// A float32 array and its shape (the same type safetensors files use).
    public typealias Tensor = SafeTensors.Tensor

    /// Parses one `.npy` file: the magic `\x93NUMPY`, a version byte pair, the header length (2 bytes in version
    /// 1, 4 in 2 and 3), a Python dict literal with `descr`, `fortran_order` and `shape`, then the data. Reads
    /// little-endian `<f4`, `<f8`, `<f2` and `|u1`/`|i1`; a Fortran-order array is transposed to C order.
    public static func parseNPY(_ data: Data, what: String) throws -> Tensor {
        let bytes = [UInt8](data)
        guard bytes.count >= 10, bytes.starts(with: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]) else {
            throw ViTKitError("\(what) is not a .npy array (it does not start with \\x93NUMPY)")
        }
        let major = bytes[6]
        let lengthBytes = major == 1 ? 2 : 4
        guard (1...3).contains(major), bytes.count >= 8 + lengthBytes else {
            throw ViTKitError("\(what): .npy version \(major).\(bytes[7]) is not one ViTKit reads (1, 2 or 3)")
        }
        var headerLength = 0
        for i in 0..<lengthBytes { headerLength |= Int(bytes[8 + i]) << (8 * i) }
        let start = 8 + lengthBytes
        guard headerLength <= bytes.count - start else {
            throw ViTKitError("\(what): the .npy header says \(headerLength) bytes but \(bytes.count - start) follow; the file is truncated")
        }
        let header = String(decoding: bytes[start..<(start + headerLength)], as: UTF8.self)
        guard let descr = value(of: "descr", in: header).flatMap(quoted),
              let fortranText = value(of: "fortran_order", in: header),
              let shapeText = value(of: "shape", in: header)
        else { throw ViTKitError("\(what): the .npy header \(header.debugDescription) lacks descr, fortran_order or shape") }
        guard let fortran = ["True": true, "False": false][fortranText] else {
            throw ViTKitError("\(what): fortran_order is \(fortranText), expected True or False")
        }
        let dims = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() ")).split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var shape: [Int] = [], count = 1
        for d in dims {
            guard let n = Int(d), n >= 0 else { throw ViTKitError("\(what): shape \(shapeText) is not a tuple of sizes") }
            let (c, overflow) = count.multipliedReportingOverflow(by: n)
            guard !overflow else { throw ViTKitError("\(what): shape \(shapeText) is too large") }
            shape.append(n); count = c
        }
        let widths = ["<f4": 4, "<f8": 8, "<f2": 2, "|u1": 1, "|i1": 1, "<u1": 1, "<i1": 1]
        guard let width = widths[descr] else {
            throw ViTKitError("\(what): dtype \(descr) is not one ViTKit reads (little-endian float32, float64, float16 or bytes)")
        }
        let dataStart = start + headerLength
        let (needed, overflow) = count.multipliedReportingOverflow(by: width)
        guard !overflow, needed <= bytes.count - dataStart else {
            throw ViTKitError("\(what): shape \(shape) of \(descr) needs \(overflow ? "more than Int.max" : "\(needed)") bytes "
                + "but \(bytes.count - dataStart) follow the header; the file is truncated")
        }
        var values = [Float](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            let p = raw.baseAddress! + dataStart
            switch descr {
            case "<f4": for i in 0..<count { values[i] = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            case "<f8": for i in 0..<count { values[i] = Float(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
            case "<f2": for i in 0..<count { values[i] = Float(Float16(bitPattern: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
            case "|i1", "<i1": for i in 0..<count { values[i] = Float(Int8(bitPattern: p.load(fromByteOffset: i, as: UInt8.self))) }
            default: for i in 0..<count { values[i] = Float(p.load(fromByteOffset: i, as: UInt8.self)) }
            }
        }
        // column-major bytes are the row-major array of the reversed shape: reverse the axes back
        if fortran && shape.count > 1 { return Tensor(shape: shape.reversed(), values: values).permuted(Array((0..<shape.count).reversed())) }
        return Tensor(shape: shape, values: values)
    }

    /// Reads every `.npy` entry of an `.npz` archive, keyed by its name without `.npy`.
    public static func readNPZ(path: String) throws -> [String: Tensor] {
        // from the file, not ZIPFoundation's in-memory archive, which reads past its end on a bad offset
        let archive: Archive
        do { archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read) } catch {
            throw ViTKitError(".npz file \(path) cannot be opened as a zip archive (\(error)); is it truncated, or not an .npz?")
        }
        var arrays: [String: Tensor] = [:]
        for entry in archive where entry.type == .file && entry.path.hasSuffix(".npy") {
            var data = Data()
            do { _ = try archive.extract(entry, skipCRC32: false) { data.append($0) } } catch {
                throw ViTKitError(".npz file \(path): entry \(entry.path) cannot be read (\(error)); the file is truncated or corrupt")
            }
            arrays[String(entry.path.dropLast(4))] = try parseNPY(data, what: ".npz file \(path), entry \(entry.path)")
        }
        if arrays.isEmpty { throw ViTKitError(".npz file \(path) has no .npy entries") }
        return arrays
    }

    /// The text after `'key':` in a Python dict literal, up to the next top-level comma or the closing brace.
    static func value(of key: String, in header: String) -> String? {
        guard let r = header.range(of: "'\(key)':") else { return nil }
        var depth = 0, out = ""
        for ch in header[r.upperBound...] {
            if ch == "(" { depth += 1 } else if ch == ")" { depth -= 1 }
            if depth == 0 && (ch == "," || ch == "}") { break }
            out.append(ch)
            if depth < 0 { return nil }
        }
        return out.trimmingCharacters(in: .whitespaces)
    }

    static func quoted(_ s: String) -> String? {
        guard s.count >= 2, let q = s.first, q == "'" || q == "\"", s.last == q else { return nil }
        return String(s.dropFirst().dropLast())
    }
}
