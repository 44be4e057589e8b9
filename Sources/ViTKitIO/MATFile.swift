import Foundation
import ViTKitCore

/// The numeric arrays of a MATLAB level-5 (v5, v6 or v7) .mat file, little-endian, with zlib-compressed elements
/// (v7) or plain ones. Cells, structs, sparse and complex arrays are skipped; v7.3 (HDF5) files are refused.
public struct MATFile {
    /// One numeric array as stored: column-major values of `dims`.
    public struct Array {
        /// The variable's name.
        public var name: String
        /// Its dimensions, in MATLAB's (column-major) order.
        public var dims: [Int]
        /// MATLAB class (mxCLASS: 6 double, 7 single, 8 int8, 9 uint8, … 15 uint64).
        public var classID: Int
        /// Storage type of `raw` (miTYPE: 1 int8, 2 uint8, 3 int16, 4 uint16, 5 int32, 6 uint32, 7 single,
        /// 9 double, 12 int64, 13 uint64), which may be narrower than the class.
        public var dataType: Int
        /// The elements' bytes, as stored.
        public var raw: [UInt8]

        /// Number of elements.
        public var count: Int { dims.reduce(1, *) }

        static let typeSizes = [1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8]

        /// Every value as a Double.
        public func doubles() -> [Double] {
            raw.withUnsafeBytes { b -> [Double] in
                (0..<count).map { i -> Double in
                    switch dataType {
                    case 1: Double(b.load(fromByteOffset: i, as: Int8.self))
                    case 2: Double(b[i])
                    case 3: Double(b.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))
                    case 4: Double(b.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    case 5: Double(b.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))
                    case 6: Double(b.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
                    case 7: Double(b.loadUnaligned(fromByteOffset: 4 * i, as: Float.self))
                    case 9: b.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)
                    case 12: Double(b.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
                    default: Double(b.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
                    }
                }
            }
        }
    }

    /// The file read.
    public let path: String
    /// The file's variables, by name.
    public private(set) var arrays: [String: Array] = [:]

    /// Reads every numeric array of the file at `path`.
    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ViTKitError("cannot read \(path): the file does not exist or is not readable")
        }
        try self.init(data: data, what: path)
    }

    /// Reads every numeric array of a .mat file's bytes; `what` names them in errors and becomes `path`.
    public init(data: Data, what path: String) throws {
        self.path = path
        try data.withUnsafeBytes { b in
            if b.count >= 512 + 8, Swift.Array(b[512..<520]) == [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
                || String(decoding: b.prefix(19), as: UTF8.self) == "MATLAB 7.3 MAT-file" {
                throw ViTKitError("\(path) is a MATLAB v7.3 (HDF5) .mat file, which is not supported: "
                    + "expected a v5/v7 file (MATLAB: save -v7; SVHN's official files are v5)")
            }
            guard b.count >= 128, String(decoding: b.prefix(6), as: UTF8.self) == "MATLAB" else {
                throw ViTKitError("\(path) is not a MATLAB .mat file: expected a 128-byte header starting 'MATLAB'")
            }
            guard b[126] == UInt8(ascii: "I") && b[127] == UInt8(ascii: "M") else {
                throw ViTKitError("\(path) is a big-endian .mat file, which is not supported: expected little-endian ('IM')")
            }
            var offset = 128
            while offset < b.count {
                offset = try readTopLevel(UnsafeRawBufferPointer(rebasing: b[...]), at: offset, what: path)
            }
        }
    }

    /// (type, payload, offset of the next element) of the element at `offset`.
    static func element(_ b: UnsafeRawBufferPointer, at offset: Int, what: String) throws
        -> (type: Int, payload: UnsafeRawBufferPointer, next: Int) {
        guard offset + 8 <= b.count else { throw ViTKitError("\(what): truncated at byte \(offset) (an element tag needs 8 bytes)") }
        let w0 = Int(b.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        if w0 >> 16 != 0 {  // small element: type, size and up to 4 bytes of data in 8 bytes
            let n = w0 >> 16
            guard n <= 4 else { throw ViTKitError("\(what): bad small element at byte \(offset) (\(n) bytes, at most 4)") }
            return (w0 & 0xFFFF, UnsafeRawBufferPointer(rebasing: b[(offset + 4)..<(offset + 4 + n)]), offset + 8)
        }
        let n = Int(b.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
        guard offset + 8 + n <= b.count else {
            throw ViTKitError("\(what): truncated: the element at byte \(offset) needs \(n) bytes, \(b.count - offset - 8) remain")
        }
        let padded = w0 == 15 ? n : (n + 7) / 8 * 8  // compressed elements are not padded
        return (w0, UnsafeRawBufferPointer(rebasing: b[(offset + 8)..<(offset + 8 + n)]), min(b.count, offset + 8 + padded))
    }

    private mutating func readTopLevel(_ b: UnsafeRawBufferPointer, at offset: Int, what: String) throws -> Int {
        let (type, payload, next) = try Self.element(b, at: offset, what: what)
        if type == 15 {
            let inflated = try Zlib.inflate(payload, what: "\(what) (compressed element at byte \(offset))")
            try inflated.withUnsafeBytes { inner in
                var o = 0
                while o < inner.count { o = try readTopLevel(inner, at: o, what: "\(what) (compressed element at byte \(offset))") }
            }
        } else if type == 14 {
            if let a = try Self.matrix(payload, what: what) { arrays[a.name] = a }
        }
        return next
    }

    /// A numeric matrix element's array, or nil for kinds we skip.
    static func matrix(_ b: UnsafeRawBufferPointer, what: String) throws -> Array? {
        if b.isEmpty { return nil }
        let flags = try element(b, at: 0, what: what)
        guard flags.payload.count >= 4 else { throw ViTKitError("\(what): a matrix has no array flags") }
        let flagWord = Int(flags.payload.loadUnaligned(as: UInt32.self))
        let classID = flagWord & 0xFF, complex = flagWord & 0x800 != 0
        guard (6...15).contains(classID), !complex else { return nil }
        let dimsElement = try element(b, at: flags.next, what: what)
        let dims = (0..<(dimsElement.payload.count / 4)).map {
            Int(dimsElement.payload.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))
        }
        let nameElement = try element(b, at: dimsElement.next, what: what)
        let name = String(decoding: nameElement.payload, as: UTF8.self)
        let real = try element(b, at: nameElement.next, what: what)
        guard let size = Array.typeSizes[real.type] else {
            throw ViTKitError("\(what): variable '\(name)' has data of unknown type \(real.type)")
        }
        guard dims.allSatisfy({ $0 >= 0 }) else { throw ViTKitError("\(what): variable '\(name)' has a negative dimension in \(dims)") }
        // the product of untrusted dimensions may overflow: then it cannot match the bytes present
        let (count, countOverflow) = dims.reduce((1, false)) { acc, d in
            let (p, o) = acc.0.multipliedReportingOverflow(by: d); return (p, acc.1 || o)
        }
        let (bytes, bytesOverflow) = count.multipliedReportingOverflow(by: size)
        guard !countOverflow && !bytesOverflow && real.payload.count == bytes else {
            throw ViTKitError("\(what): variable '\(name)' of shape \(dims) has \(real.payload.count) data bytes, "
                + "expected \(countOverflow || bytesOverflow ? "more than Int.max" : "\(bytes)")")
        }
        return Array(name: name, dims: dims, classID: classID, dataType: real.type, raw: [UInt8](real.payload))
    }
}
