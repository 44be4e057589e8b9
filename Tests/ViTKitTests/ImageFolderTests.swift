import Foundation
import XCTest
@testable import ViTKit
@testable import ViTKitCore
@testable import ViTKitData
@testable import ViTKitIO
@testable import ViTKitImaging
@testable import ViTKitModels
@testable import ViTKitNN
@testable import ViTKitPictures
@testable import ViTKitTraining

/// Resizing, timm's eval transform and JPEG decoding against Pillow/timm (scripts/make_image_fixtures.py), and
/// ImageFolder trees the tests write.
final class ImageFolderTests: XCTestCase {
    static let fixtures: [String: SafeTensors.Tensor] = {
        let url = Bundle.module.url(forResource: "pillow_images", withExtension: "safetensors", subdirectory: "Fixtures")!
        return try! SafeTensors.read(path: url.path).tensors
    }()

    /// An [H, W, 3] fixture as a picture.
    static func picture(_ name: String) -> RGBImage {
        let t = fixtures[name]!
        var img = RGBImage(width: t.shape[1], height: t.shape[0])
        img.pixels = t.values.map { UInt8($0) }
        return img
    }

    func maxDifference(_ a: [UInt8], _ b: [UInt8]) -> Int {
        XCTAssertEqual(a.count, b.count)
        return zip(a, b).map { abs(Int($0) - Int($1)) }.max() ?? 0
    }

    /// Pillow's resize, up and down, both filters: the issue allows 1 level; we are exact.
    func testResizeMatchesPillow() {
        let src = Self.picture("src")
        for filter in ResampleFilter.allCases {
            for (w, h) in [(40, 30), (9, 7), (23, 5), (5, 40)] {
                let ours = src.resized(width: w, height: h, filter: filter)
                let pillow = Self.picture("resize_\(filter.rawValue)_\(w)x\(h)")
                XCTAssertEqual(maxDifference(ours.pixels, pillow.pixels), 0, "\(filter) \(w)×\(h)")
            }
        }
    }

    /// timm's `transforms_imagenet_eval` (Resize shorter side to ⌊size/crop_pct⌋, CenterCrop), as uint8 CHW.
    func testEvalTransformMatchesTimm() {
        let src = Self.picture("src")
        for (size, crop, filter) in [(12, 0.9, ResampleFilter.bicubic), (16, 1.0, .bilinear), (8, 0.875, .bilinear)] {
            let ours = src.evalTransform(size: size, cropPct: crop, filter: filter)
            let timm = Self.fixtures["eval_\(size)_\(crop)_\(filter.rawValue)"]!.values
            let plane = size * size
            let chw = (0..<3).flatMap { c in (0..<plane).map { ours.pixels[3 * $0 + c] } }
            XCTAssertEqual(maxDifference(chw, timm.map { UInt8($0) }), 0, "\(size) \(crop) \(filter)")
        }
    }

    func testJPEGDecodesAsPillow() throws {
        let url = Bundle.module.url(forResource: "pillow_q90", withExtension: "jpg", subdirectory: "Fixtures")!
        let ours = try JPEG.decode([UInt8](try Data(contentsOf: url)), what: url.path)
        XCTAssertLessThanOrEqual(maxDifference(ours.pixels, Self.picture("jpeg_q90_decoded").pixels), 1)
    }

    /// train/ and val/ with colour and greyscale JPEGs, RGB, RGBA and greyscale PNGs, all 8×8, flat colours.
    func writeTree(_ root: String) throws {
        func dir(_ p: String) throws -> String {
            let d = root + "/" + p
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
            return d
        }
        for split in ["train", "val"] {
            let dog = try dir("\(split)/dog"), cat = try dir("\(split)/cat"), emu = try dir("\(split)/emu")
            try Data(try JPEG.encode(RGBImage(width: 8, height: 8, fill: (200, 30, 40)), quality: 100))
                .write(to: URL(fileURLWithPath: dog + "/a.jpg"))
            try Data(try JPEG.encodeGray([UInt8](repeating: 90, count: 64), width: 8, height: 8, quality: 100))
                .write(to: URL(fileURLWithPath: dog + "/b.JPEG"))
            try RGBImage(width: 8, height: 8, fill: (1, 2, 3)).writePNG(to: cat + "/c.png")
            try RGBImage.writePNG(to: emu + "/d.png", width: 8, height: 8, channels: 4,
                                  bytes: (0..<64).flatMap { [10, 20, 30, UInt8($0 * 4)] })
            try RGBImage.writePNG(to: emu + "/e.png", width: 8, height: 8, channels: 1,
                                  bytes: [UInt8](repeating: 77, count: 64))
            try Data("not an image".utf8).write(to: URL(fileURLWithPath: emu + "/notes.txt"))
        }
    }

    func testImageFolderFormatsAndLabels() throws {
        let root = try temporaryDirectory()
        try writeTree(root)
        var o = ImageFolder.Options(size: 4)
        o.filter = .bilinear
        let (train, skipped) = try ImageFolder.load(root: root, train: true, options: o)
        XCTAssert(skipped.isEmpty)
        XCTAssertEqual(train.classNames, ["cat", "dog", "emu"], "sorted folder names, as torchvision")
        XCTAssertEqual(train.labels, [0, 1, 1, 2, 2], "class by class, files sorted; notes.txt ignored")
        XCTAssertEqual(train.files.map { ($0 as NSString).lastPathComponent }, ["c.png", "a.jpg", "b.JPEG", "d.png", "e.png"])
        XCTAssert(train.isFileBacked && train.images.isEmpty, "the training split stays on disk")
        XCTAssertEqual(train.size, 4); XCTAssertEqual(train.channels, 3)
        let (val, _) = try ImageFolder.load(root: root, train: false, classes: train.classNames, options: o)
        XCTAssertEqual(val.labels, train.labels)
        XCTAssertFalse(val.isFileBacked)
        func pixel(_ i: Int) -> [UInt8] { (0..<3).map { val.images[i * 48 + $0 * 16 + 5] } }
        XCTAssertEqual(pixel(0), [1, 2, 3])                        // RGB PNG
        XCTAssert(zip(pixel(1), [200, 30, 40]).allSatisfy { abs(Int($0) - $1) <= 2 }, "\(pixel(1))")  // JPEG
        XCTAssert(pixel(2).allSatisfy { abs(Int($0) - 90) <= 1 }, "\(pixel(2))")  // greyscale JPEG → R = G = B
        XCTAssertEqual(pixel(3), [10, 20, 30], "RGBA: alpha dropped, colour kept (Pillow's convert('RGB'))")
        XCTAssertEqual(pixel(4), [77, 77, 77])                     // greyscale PNG
        // the loader decodes the training files to the same pictures (flat colours: any resize keeps them)
        let loader = PrefetchLoader(dataset: train, batchSize: 5, transform: TrainTransform(hflip: 0), seed: 1)
        loader.start(epoch: 0, order: Array(0..<5))
        let batch = try loader.next()
        let (scale, shift) = val.normalization
        for k in 0..<(5 * 48) {
            XCTAssertEqual(batch.images[k], Float(val.images[k]) * scale[k % 48 / 16] + shift[k % 48 / 16], accuracy: 1e-6)
        }
        loader.stop()
    }

    /// A picture whose every pixel differs: x, y and their sum in the three channels.
    static func gradient(width: Int, height: Int) -> RGBImage {
        var img = RGBImage(width: width, height: height)
        for y in 0..<height { for x in 0..<width { img[x, y] = (UInt8(x * 5 % 256), UInt8(y * 7 % 256), UInt8((x + 3 * y) % 256)) } }
        return img
    }

    /// The training split is decoded batch by batch on the loader's threads, and the crop is cut from the original
    /// picture (timm's RandomResizedCrop on the PIL image), not from a copy already brought to the model's size.
    func testTrainingSplitIsDecodedAndCroppedPerBatch() throws {
        let root = try temporaryDirectory()
        let sizes = [(40, 30), (24, 36), (16, 16), (50, 20)]
        for split in ["train", "val"] {
            for (c, name) in ["ant", "bee"].enumerated() {
                let dir = "\(root)/\(split)/\(name)"
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                for (k, (w, h)) in sizes.enumerated() {
                    let img = Self.gradient(width: w + 3 * c, height: h)
                    if k == 1 { try Data(try JPEG.encode(img, quality: 90)).write(to: URL(fileURLWithPath: "\(dir)/\(k).jpg")) }
                    else { try img.writePNG(to: "\(dir)/\(k).png") }
                }
            }
        }
        let (train, _) = try ImageFolder.load(root: root, train: true, options: ImageFolder.Options(size: 16))
        XCTAssertEqual(train.count, 8)
        // scale and ratio (1, 1): no picture here but the square one holds a square of its own area, so torchvision's
        // ten tries fail and it takes the centre square of the original, then Pillow's resize
        let square = TrainTransform(crop: RandomResizedCrop(scale: (1, 1), ratio: (1, 1), interpolation: .bilinear), hflip: 0)
        let loader = PrefetchLoader(dataset: train, batchSize: 4, transform: square, seed: 3, workers: 1)
        loader.start(epoch: 0, order: Array(0..<8))
        let (scale, shift) = train.normalization
        for b in 0..<2 {
            let batch = try loader.next()
            for j in 0..<4 {
                let original = try ImageFolder.decode(train.files[4 * b + j])
                let side = min(original.width, original.height)
                let want = original.cropped(x: (original.width - side) / 2, y: (original.height - side) / 2, width: side, height: side)
                    .resized(width: 16, height: 16, filter: .bilinear).planes
                for k in 0..<768 {
                    XCTAssertEqual(batch.images[j * 768 + k], Float(want[k]) * scale[k / 256] + shift[k / 256], accuracy: 1e-6,
                                   "\(train.files[4 * b + j]) byte \(k)")
                }
            }
            loader.release()
        }
        loader.stop()
        // the paper's recipe with a random crop: the same batches for any number of loader threads
        let recipe = TrainTransform(crop: RandomResizedCrop(scale: (0.3, 1)), hflip: 0.5,
                                    randAugment: try RandAugment(config: "rand-m9-mstd0.5-inc1", mean: train.mean))
        var rng = RNG(seed: 2)
        var order = Array(0..<8); order.shuffle(using: &rng)
        let runs = try [0, 1, 3].map { w -> [Float] in
            let l = PrefetchLoader(dataset: train, batchSize: 2, transform: recipe, seed: 9, workers: w)
            defer { l.stop() }
            l.start(epoch: 1, order: order)
            var all: [Float] = []
            for _ in 0..<4 { all += UnsafeBufferPointer(start: try l.next().images, count: 2 * 768); l.release() }
            return all
        }
        XCTAssertEqual(runs[0], runs[1]); XCTAssertEqual(runs[0], runs[2])
    }

    func testImageFolderErrors() throws {
        let root = try temporaryDirectory()
        try writeTree(root)
        let o = ImageFolder.Options(size: 4)
        var skipping = o; skipping.skipBadImages = true; skipping.size = 8
        // the evaluation split is decoded on load: a corrupt JPEG is an error naming it, or skipped and counted
        let broken = root + "/val/cat/broken.jpg"
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]).write(to: URL(fileURLWithPath: broken))
        XCTAssertThrowsError(try ImageFolder.load(root: root, train: false, options: o)) {
            XCTAssert("\($0)".contains("cannot decode JPEG \(broken)") && "\($0)".contains("--skip-bad-images"), "\($0)")
        }
        let (d, skipped) = try ImageFolder.load(root: root, train: false, options: skipping)
        XCTAssertEqual(skipped, [broken]); XCTAssertEqual(d.count, 5)
        try FileManager.default.removeItem(atPath: broken)
        try Data("GIF89a".utf8).write(to: URL(fileURLWithPath: root + "/val/cat/fake.png"))
        XCTAssertThrowsError(try ImageFolder.load(root: root, train: false, options: o)) {
            XCTAssert("\($0)".contains("cannot decode image \(root)/val/cat/fake.png: it is a GIF image; ViTKit reads JPEG and PNG"), "\($0)")
        }
        try FileManager.default.removeItem(atPath: root + "/val/cat/fake.png")
        // a zero-byte file says it is empty (it once said "its first bytes are " and nothing)
        _ = FileManager.default.createFile(atPath: root + "/val/cat/empty.jpg", contents: Data())
        XCTAssertThrowsError(try ImageFolder.load(root: root, train: false, options: o)) {
            XCTAssert("\($0)".contains("cannot decode image \(root)/val/cat/empty.jpg: the file is empty (0 bytes)"), "\($0)")
        }
        try FileManager.default.removeItem(atPath: root + "/val/cat/empty.jpg")
        // unknown bytes are shown, and a web page saved as a .jpg is named as such
        try Data([1, 2, 3, 4, 5]).write(to: URL(fileURLWithPath: root + "/val/cat/odd.jpg"))
        XCTAssertThrowsError(try ImageFolder.load(root: root, train: false, options: o)) {
            XCTAssert("\($0)".contains("odd.jpg: it is not a JPEG or PNG file (its first bytes are 01 02 03 04 05)"), "\($0)")
        }
        try Data("<!DOCTYPE html>".utf8).write(to: URL(fileURLWithPath: root + "/val/cat/odd.jpg"))
        XCTAssertThrowsError(try ImageFolder.load(root: root, train: false, options: o)) {
            XCTAssert("\($0)".contains("odd.jpg: it is a text file (HTML or XML"), "\($0)")
        }
        try FileManager.default.removeItem(atPath: root + "/val/cat/odd.jpg")
        // the training split is read batch by batch: --skip-bad-images checks every file on load and leaves the
        // bad ones out; without it, training stops at the batch that needs the file, naming it
        let bad = root + "/train/cat/broken.jpg"
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]).write(to: URL(fileURLWithPath: bad))
        let (checked, left) = try ImageFolder.load(root: root, train: true, options: skipping)
        XCTAssertEqual(left, [bad]); XCTAssertEqual(checked.count, 5)
        var config = TrainingTests.tinyConfig(); config.imgSize = 8; config.patchSize = 4; config.numClasses = 3
        let (train, _) = try ImageFolder.load(root: root, train: true, options: skipping.with { $0.skipBadImages = false })
        XCTAssertEqual(train.count, 6)
        for workers in [0, 1] {
            let model = try VisionTransformer(config: config, pool: Pools.two)
            var rng = RNG(seed: 1)
            try model.initialize(.timm, rng: &rng)
            var options = TrainingTests.options(epochs: 1); options.batchSize = 6; options.workers = workers
            let trainer = Trainer(model: model, options: options)
            trainer.log = { _ in }
            XCTAssertThrowsError(try trainer.fit(train: train, test: nil)) {
                XCTAssert("\($0)".contains("training stopped at epoch 1, step 1: cannot decode JPEG \(bad)"), "\(workers): \($0)")
            }
            XCTAssertNoThrow(try Trainer(model: model, options: options).fit(train: checked.subset(Array(0..<5) + [0]), test: nil))
        }
        try FileManager.default.removeItem(atPath: bad)
        try FileManager.default.createDirectory(atPath: root + "/train/fox", withIntermediateDirectories: true)
        XCTAssertThrowsError(try ImageFolder.load(root: root, train: true, options: o)) {
            XCTAssert("\($0)".contains("class folder \(root)/train/fox has no images"), "\($0)")
        }
        // a class folder of sub-folders (train/<class>/images/, as Tiny ImageNet ships) says what layout is expected
        try FileManager.default.createDirectory(atPath: root + "/train/fox/images", withIntermediateDirectories: true)
        try Data(try JPEG.encode(RGBImage(width: 8, height: 8, fill: (1, 2, 3)))).write(to: URL(fileURLWithPath: root + "/train/fox/images/f.jpg"))
        XCTAssertThrowsError(try ImageFolder.load(root: root, train: true, options: o)) {
            XCTAssert("\($0)".contains("class folder \(root)/train/fox holds only the folder images/ and no images: expected the "
                + "images directly in it (\(root)/train/<class>/<image>)"), "\($0)")
        }
        try FileManager.default.removeItem(atPath: root + "/train/fox")
        try FileManager.default.createDirectory(atPath: root + "/val/yak", withIntermediateDirectories: true)
        XCTAssertThrowsError(try ImageFolder.load(root: root, train: false, classes: ["cat", "dog", "emu"], options: o)) {
            XCTAssert("\($0)".contains("has class folder 'yak', which the training split does not have"), "\($0)")
        }
        XCTAssertThrowsError(try ImageFolder.load(root: root + "/val", train: true, options: o)) {
            XCTAssert("\($0)".contains("has no train folder"), "\($0)")
        }
    }
}

extension ImageFolder.Options {
    func with(_ change: (inout Self) -> Void) -> Self { var c = self; change(&c); return c }
}
