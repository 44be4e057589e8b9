import ViTKitCore
import ViTKitIO
import ViTKitImaging

/// Images with labels and normalisation: either bytes in memory, [count × C × H × W] planes at the model's size
/// (CIFAR's layout), or image files of any size that the training loader decodes, crops and resizes batch by
/// batch (an image folder's training split).
public struct ImageDataset: Sendable {
    /// What the dataset is called in messages (its folder or file).
    public var name: String
    /// The pictures in memory; empty when the dataset is file-backed.
    public var images: [UInt8]
    /// The image files, in label order; empty when the pictures are in memory.
    public var files: [String] = []
    /// One label per image, in 0..<numClasses.
    public var labels: [Int32]
    /// Colour channels per image.
    public var channels: Int
    /// Width and height of each image, in pixels.
    public var size: Int
    /// Number of classes.
    public var numClasses: Int
    /// Per-channel mean and std of pixel/255, used to normalise.
    public var mean: [Float]
    /// Per-channel standard deviation used to normalise.
    public var std: [Float]
    /// Class names by label (numbers when the format has none).
    public var classNames: [String]

    /// A dataset of `labels.count` images held in memory as channel-planar bytes [count × C × size × size].
    public init(name: String, images: [UInt8], labels: [Int32], channels: Int, size: Int, numClasses: Int,
                mean: [Float], std: [Float]) {
        precondition(images.count == labels.count * channels * size * size)
        self.name = name; self.images = images; self.labels = labels; self.channels = channels; self.size = size
        self.numClasses = numClasses; self.mean = mean; self.std = std
        classNames = (0..<numClasses).map { "\($0)" }
    }

    /// A dataset of image files (JPEG or PNG, RGB), read when a batch is made; `size` is the model's input size.
    public init(name: String, files: [String], labels: [Int32], size: Int, numClasses: Int, mean: [Float], std: [Float]) {
        precondition(files.count == labels.count)
        self.init(name: name, images: [], labels: [], channels: 3, size: size, numClasses: numClasses, mean: mean, std: std)
        self.files = files; self.labels = labels
    }

    /// Number of images.
    public var count: Int { labels.count }
    /// Whether the images are decoded from files when loaded (an image folder) rather than held in memory.
    public var isFileBacked: Bool { !files.isEmpty }

    /// Per channel, (x/255 − mean)/std as one multiply-add: x · scale + shift.
    public var normalization: (scale: [Float], shift: [Float]) {
        ((0..<channels).map { 1 / (255 * std[$0]) }, (0..<channels).map { -mean[$0] / std[$0] })
    }
    /// Bytes (and floats, once normalised) per image: C·size·size.
    public var imageBytes: Int { channels * size * size }

    /// The images at `indices`, in that order.
    public func subset(_ indices: [Int]) -> ImageDataset {
        var copy = self
        if isFileBacked {
            copy.files = indices.map { files[$0] }
        } else {
            var imgs = [UInt8](); imgs.reserveCapacity(indices.count * imageBytes)
            for i in indices { imgs.append(contentsOf: images[(i * imageBytes)..<((i + 1) * imageBytes)]) }
            copy.images = imgs
        }
        copy.labels = indices.map { labels[$0] }
        return copy
    }

    /// A seeded subset of `perClass` images of every class (the paper's data-efficient setting), in index order.
    public func perClassSubset(_ perClass: Int, seed: UInt64) throws -> ImageDataset {
        var byClass = [[Int]](repeating: [], count: numClasses)
        for (i, y) in labels.enumerated() { byClass[Int(y)].append(i) }
        var rng = RNG.stream(seed: seed, 0x5EB5E7)
        var keep: [Int] = []
        for (c, idx) in byClass.enumerated() {
            if idx.count < perClass {
                throw ViTKitError("--per-class \(perClass) is more than the \(idx.count) training images of class \(c) in \(name)")
            }
            var shuffled = idx
            shuffled.shuffle(using: &rng)
            keep += shuffled.prefix(perClass)
        }
        return subset(keep.sorted())
    }
}
