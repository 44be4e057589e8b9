import Foundation
import ViTKitCore
import ViTKitImaging

/// The datasets ViTKit reads by name (timm's `--dataset`), each from the files of one folder.
public enum DatasetRegistry {
    /// `cifar10`, `cifar100`, `svhn`, `folder` (an image folder), `synthetic` (generated, no files).
    public static let names = ["cifar10", "cifar100", "svhn", "folder", "synthetic"]

    /// How to read a dataset; what does not apply to it is ignored.
    public struct Options: Sendable {
        /// The model's input size: an image folder is brought to it; the CIFAR and SVHN pictures (32×32) are too,
        /// as timm's transforms bring them: training by the loader's crop, evaluation by the eval transform.
        public var size = 32
        /// The model's input width when it differs from `size` (then the height); nil: square.
        public var width: Int? = nil
        /// The model's input channels: 1 reads every dataset in grey (Pillow's `convert("L")`, timm's `input_img_mode='L'`).
        public var channels = 3
        /// Image folder: the eval transform's crop fraction and resize filter, and the decoding threads.
        public var cropPct = 1.0, filter = ResampleFilter.bicubic, threads = 2
        /// Image folder: the split folders' names (timm's `--train-split`, `--val-split`; nil: val, validation or test).
        public var trainSplit = "train", valSplit: String? = nil
        /// Image folder: leave out (and count) files that do not decode instead of stopping.
        public var skipBadImages = false
        /// CIFAR-100: the 20 coarse labels.
        public var coarseLabels = false
        /// Synthetic: the images of each split.
        public var syntheticTrain = 5000, syntheticTest = 1000
        /// Read the training split too (false: the test split alone, for evaluation).
        public var train = true
        /// Options with every default.
        public init() {}
    }

    /// (train, test) of dataset `name` in `directory`, and the image-folder files left out by `skipBadImages`.
    /// When `name` was not chosen by the user (`named: false`, CIFAR-10 as the default) and the folder looks
    /// like an image folder instead, the error says to choose `folder`.
    public static func load(_ name: String, directory: String?, options o: Options = Options(), named: Bool = true) throws
        -> (train: ImageDataset?, test: ImageDataset, skipped: [String]) {
        guard names.contains(name) else { throw ViTKitError("unknown dataset '\(name)': expected \(names.joined(separator: ", "))") }
        // in-memory pictures brought to the model's channels and size, as timm's dataset mode and transforms bring them
        func fitted(_ train: ImageDataset?, _ test: ImageDataset) -> (ImageDataset?, ImageDataset, [String]) {
            var train = train, test = test
            let w = o.width ?? o.size
            if o.channels == 1 { train = train?.greyscale(); test = test.greyscale() }
            guard test.size != o.size || test.width != w else { return (train, test, []) }
            return (train?.delivering(size: o.size, width: w), test.evalResized(size: o.size, width: w, cropPct: o.cropPct, filter: o.filter), [])
        }
        if name == "synthetic" {
            return fitted(o.train ? SyntheticDataset.make(count: o.syntheticTrain, seed: 1, name: "synthetic-train") : nil,
                          SyntheticDataset.make(count: o.syntheticTest, seed: 2, name: "synthetic-test"))
        }
        guard let dir = directory else { throw ViTKitError("dataset \(name) needs the folder with its files (--data-dir)") }
        func both(_ read: (Bool) throws -> ImageDataset) throws -> (ImageDataset?, ImageDataset, [String]) {
            fitted(o.train ? try read(true) : nil, try read(false))
        }
        switch name {
        case "folder":
            var f = ImageFolder.Options(size: o.size)
            f.width = o.width; f.channels = o.channels
            f.cropPct = o.cropPct; f.filter = o.filter; f.skipBadImages = o.skipBadImages; f.threads = o.threads
            f.trainSplit = o.trainSplit; f.valSplit = o.valSplit
            let classes = try ImageFolder.classNames(in: try ImageFolder.splitFolder(root: dir, train: true, trainSplit: o.trainSplit))
            let train = o.train ? try ImageFolder.load(root: dir, train: true, classes: classes, options: f) : nil
            let test = try ImageFolder.load(root: dir, train: false, classes: classes, options: f)
            return (train?.dataset, test.dataset, (train?.skipped ?? []) + test.skipped)
        case "cifar10":
            if !named, !FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("data_batch_1.bin")),
               let split = try? ImageFolder.splitFolder(root: dir, train: true) {
                throw ViTKitError("--data-dir \(dir) has no CIFAR-10 files (data_batch_1.bin, …) but has \(split)/: "
                    + "for an image folder (train/<class>/<image>, val/<class>/<image>) add --dataset folder")
            }
            return try both { try CIFAR10.load(directory: dir, train: $0) }
        case "cifar100": return try both { try CIFAR100.load(directory: dir, train: $0, coarse: o.coarseLabels) }
        default: return try both { try SVHN.load(directory: dir, train: $0) }
        }
    }
}
