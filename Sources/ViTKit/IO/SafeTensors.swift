import Foundation

/// The safetensors file format (what timm and Hugging Face load): an 8-byte little-endian header length, a JSON
/// header naming each tensor's dtype, shape and byte range, then the raw little-endian data. Only F32 here.
public enum SafeTensors {
    public struct Tensor: Sendable {
        public var shape: [Int]
        public var values: [Float]
        public init(shape: [Int], values: [Float]) { self.shape = shape; self.values = values }
    }

    /// Reads every F32 tensor of the file at `path` and its `__metadata__` strings.
    public static func read(path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ViTKitError("safetensors file \(path) does not exist or cannot be read")
        }
        guard data.count >= 8 else { throw ViTKitError("safetensors file \(path) has \(data.count) bytes: too short for a header") }
        let headerLen = data.prefix(8).withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        guard headerLen > 0, 8 + headerLen <= data.count,
              let header = try? JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLen))) as? [String: Any]
        else { throw ViTKitError("safetensors file \(path) has a bad header (length \(headerLen), file \(data.count) bytes)") }
        var tensors: [String: Tensor] = [:], metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" { metadata = value as? [String: String] ?? [:]; continue }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2
            else { throw ViTKitError("safetensors file \(path): entry '\(name)' is malformed") }
            guard dtype == "F32" else { throw ViTKitError("safetensors file \(path): tensor '\(name)' is \(dtype), expected F32") }
            let begin = 8 + headerLen + offsets[0], end = 8 + headerLen + offsets[1]
            let count = shape.reduce(1, *)
            guard end <= data.count, end - begin == count * 4 else {
                throw ViTKitError("safetensors file \(path): tensor '\(name)' byte range \(offsets) does not fit shape \(shape) "
                    + "and file size \(data.count); the file is truncated or corrupt")
            }
            var values = [Float](repeating: 0, count: count)
            _ = values.withUnsafeMutableBytes { dst in data.copyBytes(to: dst, from: begin..<end) }
            tensors[name] = Tensor(shape: shape, values: values)
        }
        return (tensors, metadata)
    }

    /// Writes `tensors` (in the given order) to `path` atomically: a temporary file in the same folder, then a rename.
    public static func write(path: String, tensors: [(String, Tensor)], metadata: [String: String] = [:]) throws {
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
        let tmp = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: tmp, contents: out) else {
            throw ViTKitError("cannot write \(tmp): check that the folder exists and is writable")
        }
        if rename(tmp, path) != 0 {
            let err = String(cString: strerror(errno))
            unlink(tmp)
            throw ViTKitError("cannot rename \(tmp) to \(path): \(err)")
        }
    }
}
