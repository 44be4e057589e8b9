import Foundation
import ViTKitCore

/// The safetensors file format (what timm and Hugging Face load): an 8-byte little-endian header length, a JSON
/// header naming each tensor's dtype, shape and byte range, then the raw little-endian data. F32 is written;
/// F32, F16, BF16 and I64 (BatchNorm counters) are read (as Float).
public enum SafeTensors {
    /// A float32 tensor: its shape and row-major values.
    public struct Tensor: Sendable {
        /// The size of each axis.
        public var shape: [Int]
        /// The elements, row-major.
        public var values: [Float]
        /// A tensor of this shape with these values.
        public init(shape: [Int], values: [Float]) { self.shape = shape; self.values = values }

        /// The tensor with its axes reordered (torch's `permute`): output axis i is input axis `order[i]`.
        public func permuted(_ order: [Int]) -> Tensor {
            let outShape = order.map { shape[$0] }
            var strides = [Int](repeating: 1, count: shape.count)
            for d in stride(from: shape.count - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * shape[d + 1] }
            var out = [Float](repeating: 0, count: values.count)
            var index = [Int](repeating: 0, count: outShape.count)
            for o in 0..<out.count {
                var src = 0
                for (i, axis) in order.enumerated() { src += index[i] * strides[axis] }
                out[o] = values[src]
                var d = outShape.count - 1
                while d >= 0 { index[d] += 1; if index[d] < outShape[d] { break }; index[d] = 0; d -= 1 }
            }
            return Tensor(shape: outShape, values: out)
        }
    }

    /// Reads every tensor of the file at `path` and its `__metadata__` strings.
    public static func read(path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ViTKitError("safetensors file \(path) does not exist or cannot be read")
        }
        return try parse(data, what: "safetensors file \(path)")
    }

    /// Reads only the `__metadata__` strings of the file at `path` (its header), not the tensors.
    public static func readMetadata(path: String) throws -> [String: String] {
        let what = "safetensors file \(path)"
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ViTKitError("\(what) does not exist or cannot be read") }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: 0)
        let prefix = (try? handle.read(upToCount: 8)) ?? Data()
        guard prefix.count == 8 else { throw ViTKitError("\(what) has \(prefix.count) bytes: too short for the 8-byte header length") }
        let rawLength = prefix.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard rawLength <= size - 8 else {
            throw ViTKitError("\(what): the header length is \(rawLength) bytes but the file has only \(size - 8) after it; "
                + "the file is truncated or not safetensors")
        }
        let json = (try? handle.read(upToCount: Int(rawLength))) ?? Data()
        guard json.count == Int(rawLength), let object = try? JSONSerialization.jsonObject(with: json, options: [.fragmentsAllowed]),
              let header = object as? [String: Any] else {
            throw ViTKitError("\(what): the \(rawLength)-byte header is not a JSON object")
        }
        guard let meta = header["__metadata__"] else { return [:] }
        guard let m = meta as? [String: String] else { throw ViTKitError("\(what): __metadata__ is not a map of strings") }
        return m
    }

    /// Parses safetensors bytes; `what` names them in errors. Every malformed input is an error, never a crash.
    public static func parse(_ data: Data, what: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        guard data.count >= 8 else { throw ViTKitError("\(what) has \(data.count) bytes: too short for the 8-byte header length") }
        let rawLength = data.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard rawLength <= UInt64(data.count - 8) else {
            throw ViTKitError("\(what): the header length is \(rawLength) bytes but the file has only \(data.count - 8) after it; "
                + "the file is truncated or not safetensors")
        }
        let headerLength = Int(rawLength), base = 8 + headerLength
        let json = data.subdata(in: data.startIndex + 8..<data.startIndex + base)
        guard let object = try? JSONSerialization.jsonObject(with: json, options: [.fragmentsAllowed]) else {
            throw ViTKitError("\(what): the \(headerLength)-byte header is not valid JSON")
        }
        guard let header = object as? [String: Any] else {
            throw ViTKitError("\(what): the header is JSON but not an object (expected {\"name\": {\"dtype\", \"shape\", \"data_offsets\"}, …})")
        }
        var tensors: [String: Tensor] = [:], metadata: [String: String] = [:]
        var ranges: [(name: String, range: Range<Int>)] = []
        let available = data.count - base
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: String] else { throw ViTKitError("\(what): __metadata__ is not a map of strings") }
                metadata = m
                continue
            }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2
            else { throw ViTKitError("\(what): entry '\(name)' is malformed (expected dtype, shape and two data_offsets)") }
            guard let width = ["F32": 4, "F16": 2, "BF16": 2, "I64": 8][dtype] else {
                throw ViTKitError("\(what): tensor '\(name)' is \(dtype); ViTKit reads F32, F16, BF16 and I64")
            }
            var count = 1
            for d in shape {
                let (c, overflow) = count.multipliedReportingOverflow(by: d)
                guard d >= 0, !overflow else { throw ViTKitError("\(what): tensor '\(name)' has an impossible shape \(shape)") }
                count = c
            }
            guard offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= available else {
                throw ViTKitError("\(what): tensor '\(name)' has byte range \(offsets), outside the \(available) data bytes; "
                    + "the file is truncated or corrupt")
            }
            let (bytes, overflow) = count.multipliedReportingOverflow(by: width)
            guard !overflow, offsets[1] - offsets[0] == bytes else {
                throw ViTKitError("\(what): tensor '\(name)' has byte range \(offsets) (\(offsets[1] - offsets[0]) bytes), "
                    + "but shape \(shape) of \(dtype) needs \(overflow ? "more than Int.max" : "\(bytes)")")
            }
            ranges.append((name, offsets[0]..<offsets[1]))
            let begin = data.startIndex + base + offsets[0]
            var values = [Float](repeating: 0, count: count)
            data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                let src = raw.baseAddress! + (begin - data.startIndex)
                switch dtype {
                case "F32": for i in 0..<count { values[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
                case "BF16": for i in 0..<count { values[i] = Float(bitPattern: UInt32(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
                // torch's BatchNorm `num_batches_tracked`: a count, exact in float up to 2^24
                case "I64": for i in 0..<count { values[i] = Float(Int64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
                default: for i in 0..<count { values[i] = Float(Float16(bitPattern: UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
                }
            }
            tensors[name] = Tensor(shape: shape, values: values)
        }
        ranges.sort { ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound) }
        for (a, b) in zip(ranges, ranges.dropFirst()) where a.range.overlaps(b.range) {
            throw ViTKitError("\(what): tensors '\(a.name)' \(a.range) and '\(b.name)' \(b.range) overlap")
        }
        return (tensors, metadata)
    }

    /// The file's bytes for `tensors` (in the given order): header padded to 8 bytes, then F32 data.
    public static func encode(tensors: [(String, Tensor)], metadata: [String: String] = [:]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for (name, t) in tensors {
            precondition(t.values.count == t.shape.reduce(1, *), "\(name): shape does not match values")
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + 4 * t.values.count]]
            offset += 4 * t.values.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for (_, t) in tensors { t.values.withUnsafeBytes { out.append(contentsOf: $0) } }
        return out
    }

    /// Writes `tensors` (in the given order) to `path` so that a crash at any moment leaves either the old file or
    /// the new one: a temporary file in the same folder, flushed to disk, then renamed over `path`.
    public static func write(path: String, tensors: [(String, Tensor)], metadata: [String: String] = [:]) throws {
        try DurableFile.write(try encode(tensors: tensors, metadata: metadata), to: path)
    }
}
