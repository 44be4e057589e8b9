import Dispatch
import Foundation
import ViTKitCore
import ViTKitIO
import ViTKitImaging

/// torchvision's / timm's ImageFolder: `root/<split>/<class>/<image>`, class index = position of the class folder
/// among the sorted folder names of the training split. JPEG (TurboJPEG) and PNG (libpng) files, greyscale and
/// RGBA converted to RGB. The training split is read batch by batch by the training loader; the evaluation split
/// passes timm's eval transform (shorter side to ⌊size/cropPct⌋, centre crop) once, on load, in parallel, and is
/// kept in memory at the model's size.
public enum ImageFolder {
    /// The file extensions read as images (any case).
    public static let extensions: Set<String> = ["jpg", "jpeg", "png"]

    /// How an image folder's files become model inputs.
    public struct Options: Sendable {
        /// The model's input size; each image is resized and centre-cropped to it.
        public var size: Int
        /// timm's `crop_pct`: the share of the resized image the centre crop keeps.
        public var cropPct = 1.0
        /// The resize filter.
        public var filter = ResampleFilter.bicubic
        /// Skip images that fail to decode (and count them) instead of stopping with an error.
        public var skipBadImages = false
        /// Threads decoding the files.
        public var threads = 2
        /// The training split's folder name (timm's `--train-split`).
        public var trainSplit = "train"
        /// The evaluation split's folder name (timm's `--val-split`); nil: the first of val, validation, test.
        public var valSplit: String? = nil
        /// timm's ViT normalisation (IMAGENET_INCEPTION_MEAN/STD).
        public var mean: [Float] = [0.5, 0.5, 0.5]
        /// Per-channel standard deviation to normalise with.
        public var std: [Float] = [0.5, 0.5, 0.5]
        /// The model's input width when it differs from `size` (then the height); nil: square.
        public var width: Int? = nil
        /// 3 (RGB), or 1: each picture converted to grey as Pillow's `convert("L")` (timm's `input_img_mode='L'`).
        public var channels = 3
        /// Options for `size`-pixel inputs with the other defaults.
        public init(size: Int) { self.size = size }
    }

    /// The split's folder: `root/train`, or for evaluation the first of `val`, `validation`, `test` that exists.
    public static func splitFolder(root: String, train: Bool, trainSplit: String = "train", valSplit: String? = nil) throws -> String {
        let names = train ? [trainSplit] : valSplit.map { [$0] } ?? ["val", "validation", "test"]
        for n in names {
            var isDir: ObjCBool = false
            let p = (root as NSString).appendingPathComponent(n)
            if FileManager.default.fileExists(atPath: p, isDirectory: &isDir), isDir.boolValue { return p }
        }
        throw ViTKitError("image folder \(root) has no \(names.joined(separator: " or ")) folder: expected root/<split>/<class>/<image>")
    }

    /// Sorted class folder names of `folder`.
    public static func classNames(in folder: String) throws -> [String] {
        let classes = try subfolders(of: folder)
        if classes.isEmpty { throw ViTKitError("image folder \(folder) has no class folders: expected \(folder)/<class>/<image>") }
        return classes
    }

    /// The sorted names of the folders in `folder` (hidden ones left out).
    static func subfolders(of folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).filter { e in
            var isDir: ObjCBool = false
            return !e.hasPrefix(".") && FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent(e),
                                                                       isDirectory: &isDir) && isDir.boolValue
        }.sorted()
    }

    /// The split's image files, class by class (sorted folder names), files sorted, with their labels.
    /// `classes` (from the training split) fixes the label of each folder; nil reads them here.
    public static func files(root: String, train: Bool, classes: [String]? = nil, trainSplit: String = "train",
                             valSplit: String? = nil) throws -> (files: [(path: String, label: Int32)], classes: [String]) {
        let folder = try splitFolder(root: root, train: train, trainSplit: trainSplit, valSplit: valSplit)
        let found = try classNames(in: folder)
        let classes = classes ?? found
        var files: [(path: String, label: Int32)] = []
        for name in found {
            guard let label = classes.firstIndex(of: name) else {
                throw ViTKitError("image folder \(folder) has class folder '\(name)', which the training split does not have")
            }
            let dir = (folder as NSString).appendingPathComponent(name)
            let images = try FileManager.default.contentsOfDirectory(atPath: dir)
                .filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
            if images.isEmpty {
                let inner = try subfolders(of: dir)
                if !inner.isEmpty {
                    throw ViTKitError("class folder \(dir) holds only the folder\(inner.count > 1 ? "s" : "") "
                        + inner.prefix(3).map { "\($0)/" }.joined(separator: ", ") + (inner.count > 3 ? " …" : "")
                        + " and no images: expected the images directly in it (\(folder)/<class>/<image>); move them up one level")
                }
                throw ViTKitError("class folder \(dir) has no images: expected .jpg, .jpeg or .png files")
            }
            files += images.map { ((dir as NSString).appendingPathComponent($0), Int32(label)) }
        }
        return (files, classes)
    }

    /// Loads a split. The training split stays on disk: the training loader decodes each image when its batch is
    /// made and crops and resizes the original picture (timm's semantics), so a folder need not fit in memory.
    /// The evaluation split passes timm's eval transform once, here, and is kept at the model's size.
    ///
    /// A file that does not decode is an error naming it, on load for the evaluation split, when its batch is made
    /// for the training split. With `skipBadImages` every file of either split is decoded here, and those that
    /// fail are left out; their paths are returned.
    public static func load(root: String, train: Bool, classes: [String]? = nil, options o: Options) throws
        -> (dataset: ImageDataset, skipped: [String]) {
        let (files, classes) = try files(root: root, train: train, classes: classes, trainSplit: o.trainSplit, valSplit: o.valSplit)
        let n = files.count, ow = o.width ?? o.size, bytes = o.channels * o.size * ow
        let decodeAll = !train || o.skipBadImages
        var pixels = [UInt8](repeating: 0, count: train ? 0 : n * bytes)
        let threads = max(1, o.threads)
        var failures = [[(Int, String)]](repeating: [], count: threads)
        if decodeAll {
            pixels.withUnsafeMutableBufferPointer { out in
                let base = out.baseAddress
                failures.withUnsafeMutableBufferPointer { fail in
                    let failBase = fail.baseAddress!
                    DispatchQueue.concurrentPerform(iterations: threads) { t in
                        let decoder = ImageDecoder()
                        for i in stride(from: t, to: n, by: threads) {
                            do {
                                let picture = try decoder.decode(path: files[i].path)
                                if train { continue }  // training split: only checked
                                let rgb = RGBImage(picture)
                                let img = (o.channels == 1 ? rgb.greyRGB() : rgb).evalTransform(height: o.size, width: ow, cropPct: o.cropPct, filter: o.filter)
                                let plane = o.size * ow, dst = base! + i * bytes
                                if o.channels == 1 { for p in 0..<plane { dst[p] = img.pixels[3 * p] }; continue }
                                for p in 0..<plane {
                                    dst[p] = img.pixels[3 * p]; dst[plane + p] = img.pixels[3 * p + 1]
                                    dst[2 * plane + p] = img.pixels[3 * p + 2]
                                }
                            } catch {
                                failBase[t].append((i, "\(error)"))
                            }
                        }
                    }
                }
            }
        }
        let failed = failures.flatMap { $0 }.sorted { $0.0 < $1.0 }
        if let first = failed.first, !o.skipBadImages {
            throw ViTKitError("\(first.1)\(failed.count > 1 ? " (and \(failed.count - 1) more bad images)" : "")"
                + "; --skip-bad-images skips and counts them")
        }
        let name = "folder-\(train ? "train" : "eval")"
        var d = train
            ? ImageDataset(name: name, files: files.map(\.path), labels: files.map(\.label), channels: o.channels, size: o.size,
                           width: ow, numClasses: classes.count, mean: Array(o.mean.prefix(o.channels)), std: Array(o.std.prefix(o.channels)))
            : ImageDataset(name: name, images: pixels, labels: files.map(\.label), channels: o.channels, size: o.size, width: ow,
                           numClasses: classes.count, mean: Array(o.mean.prefix(o.channels)), std: Array(o.std.prefix(o.channels)))
        let bad = Set(failed.map(\.0))
        if !bad.isEmpty { d = d.subset((0..<n).filter { !bad.contains($0) }) }
        d.classNames = classes
        return (d, failed.map { files[$0.0].path })
    }

    /// A JPEG or PNG file (told by its first bytes) as RGB.
    public static func decode(_ path: String) throws -> RGBImage {
        let decoder = ImageDecoder()
        // the decoded picture lives in the decoder: keep it until the copy is made
        return try withExtendedLifetime(decoder) { RGBImage(try decoder.decode(path: path)) }
    }
}
