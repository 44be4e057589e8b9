import Foundation
import ViTKitCore
import ViTKitIO
import ViTKitImaging

/// CIFAR-10, binary version: `data_batch_1.bin` … `data_batch_5.bin` and `test_batch.bin`, each 10 000 records
/// of one label byte followed by 3072 bytes (R, G, B planes of 32×32).
public enum CIFAR10 {
    /// Per-channel mean of the training images (timm's CIFAR-10 normalisation).
    public static let mean: [Float] = [0.4914, 0.4822, 0.4465]
    /// Per-channel standard deviation of the training images.
    public static let std: [Float] = [0.2471, 0.2435, 0.2616]
    /// The ten class names, in label order.
    public static let classNames = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    /// Loads the training split (`train: true`, the five data batches) or the test split from `directory`.
    public static func load(directory: String, train: Bool) throws -> ImageDataset {
        let files = train ? (1...5).map { "data_batch_\($0).bin" } : ["test_batch.bin"]
        let (images, labels) = try CIFARBinary.read(dataset: "CIFAR-10", directory: directory, files: files, records: 10000,
                                                   labelBytes: 1, labelIndex: 0, numClasses: 10,
                                                   expected: "data_batch_1..5.bin, test_batch.bin")
        var d = ImageDataset(name: "cifar10-\(train ? "train" : "test")", images: images, labels: labels, channels: 3,
                             size: 32, numClasses: 10, mean: mean, std: std)
        d.classNames = classNames
        return d
    }
}
