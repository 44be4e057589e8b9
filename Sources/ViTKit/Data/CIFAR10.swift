import Foundation

/// CIFAR-10, binary version: `data_batch_1.bin` … `data_batch_5.bin` and `test_batch.bin`, each 10 000 records
/// of one label byte followed by 3072 bytes (R, G, B planes of 32×32).
public enum CIFAR10 {
    public static let mean: [Float] = [0.4914, 0.4822, 0.4465]
    public static let std: [Float] = [0.2471, 0.2435, 0.2616]
    public static let classNames = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    static let recordBytes = 1 + 3072

    /// Loads the training split (`train: true`, the five data batches) or the test split from `directory`.
    public static func load(directory: String, train: Bool) throws -> ImageDataset {
        let files = train ? (1...5).map { "data_batch_\($0).bin" } : ["test_batch.bin"]
        var images = [UInt8](), labels = [Int32]()
        images.reserveCapacity(files.count * 10000 * 3072)
        for f in files {
            let path = (directory as NSString).appendingPathComponent(f)
            guard FileManager.default.fileExists(atPath: path) else {
                throw ViTKitError("CIFAR-10 file \(path) does not exist: expected the binary version "
                    + "(data_batch_1..5.bin, test_batch.bin) in \(directory)")
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ViTKitError("CIFAR-10 file \(path) could not be read")
            }
            if data.count != 10000 * recordBytes {
                throw ViTKitError("CIFAR-10 file \(path) has \(data.count) bytes: expected \(10000 * recordBytes) "
                    + "(10000 records of 3073 bytes); it is truncated or not the binary version")
            }
            try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                for r in 0..<10000 {
                    let rec = raw.baseAddress!.advanced(by: r * recordBytes).assumingMemoryBound(to: UInt8.self)
                    if rec[0] > 9 {
                        throw ViTKitError("CIFAR-10 file \(path): record \(r) has label \(rec[0]), expected 0...9")
                    }
                    labels.append(Int32(rec[0]))
                    images.append(contentsOf: UnsafeBufferPointer(start: rec + 1, count: 3072))
                }
            }
        }
        return ImageDataset(name: "cifar10-\(train ? "train" : "test")", images: images, labels: labels, channels: 3,
                            size: 32, numClasses: 10, mean: mean, std: std)
    }
}
