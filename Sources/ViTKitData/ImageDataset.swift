import Foundation
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
    /// Height of each image the dataset delivers (the model's input), and its width unless `width` differs, in pixels.
    public var size: Int
    /// Width of each image the dataset delivers, in pixels (`size` for square pictures).
    public var width: Int
    /// Width of the pictures held in memory (`storedSize` for square ones).
    public var storedWidth: Int
    /// Width and height of the pictures held in memory: `size`, or smaller or larger when the training loader
    /// brings them to `size` with its crop (`delivering(size:)`, CIFAR upsampled to 224 as timm's transform does).
    public var storedSize: Int
    /// Number of classes.
    public var numClasses: Int
    /// Per-channel mean and std of pixel/255, used to normalise.
    public var mean: [Float]
    /// Per-channel standard deviation used to normalise.
    public var std: [Float]
    /// Class names by label (numbers when the format has none).
    public var classNames: [String]

    /// A dataset of `labels.count` images held in memory as channel-planar bytes [count × C × size × width]
    /// (`width` nil: square).
    public init(name: String, images: [UInt8], labels: [Int32], channels: Int, size: Int, width: Int? = nil, numClasses: Int,
                mean: [Float], std: [Float]) {
        let w = width ?? size
        precondition(images.count == labels.count * channels * size * w)
        self.name = name; self.images = images; self.labels = labels; self.channels = channels; self.size = size
        storedSize = size; self.width = w; storedWidth = w
        self.numClasses = numClasses; self.mean = mean; self.std = std
        classNames = (0..<numClasses).map { "\($0)" }
    }

    /// A dataset of image files (JPEG or PNG, RGB), read when a batch is made; `size` (and `width`) the model's input.
    public init(name: String, files: [String], labels: [Int32], channels: Int = 3, size: Int, width: Int? = nil, numClasses: Int,
                mean: [Float], std: [Float]) {
        precondition(files.count == labels.count)
        self.init(name: name, images: [], labels: [], channels: channels, size: size, width: width, numClasses: numClasses, mean: mean, std: std)
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
    /// Bytes (and floats, once normalised) per image: C·size·width.
    public var imageBytes: Int { channels * size * width }
    /// Bytes per picture held in memory: C·storedSize·storedWidth.
    public var storedBytes: Int { channels * storedSize * storedWidth }

    /// The pictures in grey, one channel (Pillow's `convert("L")`, as timm's datasets give a one-channel model), with
    /// the mean and std of the three channels averaged; a file-backed dataset is converted as its files are read.
    public func greyscale() -> ImageDataset {
        guard channels == 3 else { return self }
        var copy = self
        copy.channels = 1
        copy.mean = [mean.reduce(0, +) / Float(mean.count)]; copy.std = [std.reduce(0, +) / Float(std.count)]
        guard !isFileBacked else { return copy }
        let per = storedSize * storedWidth
        var out = [UInt8](repeating: 0, count: count * per)
        images.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<count {
                    PlanarImage(UnsafeMutablePointer(mutating: src.baseAddress! + i * 3 * per), width: storedWidth, height: storedSize,
                                channels: 3).greyscale(into: dst.baseAddress! + i * per)
                }
            }
        }
        copy.images = out
        return copy
    }

    /// The same pictures, delivered at `size` by the training loader's random resized crop (timm's train transform
    /// on pictures of another size; with the default scale and ratio, the whole picture resized).
    public func delivering(size: Int, width: Int? = nil) -> ImageDataset {
        var copy = self
        copy.size = size; copy.width = width ?? size
        return copy
    }

    /// The pictures brought to `size` once, by timm's eval transform (shorter side to size/cropPct, centre crop),
    /// for evaluation. Three-channel pictures in memory only (as CIFAR's and SVHN's).
    public func evalResized(size: Int, width outWidth: Int? = nil, cropPct: Double, filter: ResampleFilter) -> ImageDataset {
        precondition(!isFileBacked && channels == 3 && storedSize == self.size && storedWidth == width)
        let ow = outWidth ?? size
        let inBytes = storedBytes, outPlane = size * ow, outBytes = 3 * outPlane
        var out = [UInt8](repeating: 0, count: count * outBytes)
        images.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let s = src.baseAddress!, d = dst.baseAddress!, n = count, side = storedSize, inWidth = storedWidth
                DispatchQueue.concurrentPerform(iterations: 8) { part in
                    for i in stride(from: part, to: n, by: 8) {
                        let img = RGBImage(planes: s + i * inBytes, width: inWidth, height: side)
                            .evalTransform(height: size, width: ow, cropPct: cropPct, filter: filter)
                        let to = d + i * outBytes
                        for p in 0..<outPlane {
                            to[p] = img.pixels[3 * p]; to[outPlane + p] = img.pixels[3 * p + 1]; to[2 * outPlane + p] = img.pixels[3 * p + 2]
                        }
                    }
                }
            }
        }
        var copy = ImageDataset(name: name, images: out, labels: labels, channels: 3, size: size, width: ow, numClasses: numClasses,
                                mean: mean, std: std)
        copy.classNames = classNames
        return copy
    }

    /// The images at `indices`, in that order.
    public func subset(_ indices: [Int]) -> ImageDataset {
        var copy = self
        if isFileBacked {
            copy.files = indices.map { files[$0] }
        } else {
            var imgs = [UInt8](); imgs.reserveCapacity(indices.count * storedBytes)
            for i in indices { imgs.append(contentsOf: images[(i * storedBytes)..<((i + 1) * storedBytes)]) }
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
