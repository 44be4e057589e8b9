import Foundation
import ViTKitCore
import ViTKitIO
import ViTKitImaging

/// The CIFAR binary record files: each record is `labelBytes` label bytes then 3072 bytes (R, G, B planes of
/// 32×32). CIFAR-10 has one label byte, CIFAR-100 two (coarse, fine).
enum CIFARBinary {
    /// Reads `files` (in `directory`, each `records` records) keeping label byte `labelIndex`.
    static func read(dataset: String, directory: String, files: [String], records: Int, labelBytes: Int,
                     labelIndex: Int, numClasses: Int, expected: String) throws -> (images: [UInt8], labels: [Int32]) {
        let recordBytes = labelBytes + 3072
        var images = [UInt8](), labels = [Int32]()
        images.reserveCapacity(files.count * records * 3072)
        labels.reserveCapacity(files.count * records)
        for f in files {
            let path = (directory as NSString).appendingPathComponent(f)
            guard FileManager.default.fileExists(atPath: path) else {
                throw ViTKitError("\(dataset) file \(path) does not exist: expected the binary version (\(expected)) in \(directory)")
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ViTKitError("\(dataset) file \(path) could not be read")
            }
            if data.count != records * recordBytes {
                throw ViTKitError("\(dataset) file \(path) has \(data.count) bytes: expected \(records * recordBytes) "
                    + "(\(records) records of \(recordBytes) bytes); it is truncated or not the binary version")
            }
            try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                for r in 0..<records {
                    let rec = raw.baseAddress!.advanced(by: r * recordBytes).assumingMemoryBound(to: UInt8.self)
                    let label = rec[labelIndex]
                    if Int(label) >= numClasses {
                        throw ViTKitError("\(dataset) file \(path): record \(r) has label \(label), expected 0...\(numClasses - 1)")
                    }
                    labels.append(Int32(label))
                    images.append(contentsOf: UnsafeBufferPointer(start: rec + labelBytes, count: 3072))
                }
            }
        }
        return (images, labels)
    }
}
