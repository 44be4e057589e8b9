import Foundation
import XCTest
@testable import ViTKit

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
        XCTAssertEqual(train.size, 4); XCTAssertEqual(train.channels, 3)
        func pixel(_ i: Int) -> [UInt8] { (0..<3).map { train.images[i * 48 + $0 * 16 + 5] } }
        XCTAssertEqual(pixel(0), [1, 2, 3])                        // RGB PNG
        XCTAssert(zip(pixel(1), [200, 30, 40]).allSatisfy { abs(Int($0) - $1) <= 2 }, "\(pixel(1))")  // JPEG
        XCTAssert(pixel(2).allSatisfy { abs(Int($0) - 90) <= 1 }, "\(pixel(2))")  // greyscale JPEG → R = G = B
        XCTAssertEqual(pixel(3), [10, 20, 30], "RGBA: alpha dropped, colour kept (Pillow's convert('RGB'))")
        XCTAssertEqual(pixel(4), [77, 77, 77])                     // greyscale PNG
        let (val, _) = try ImageFolder.load(root: root, train: false, classes: train.classNames, options: o)
        XCTAssertEqual(val.labels, train.labels)
    }

    func testImageFolderErrors() throws {
        let root = try temporaryDirectory()
        try writeTree(root)
        let o = ImageFolder.Options(size: 4)
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]).write(to: URL(fileURLWithPath: root + "/train/cat/broken.jpg"))
        XCTAssertThrowsError(try ImageFolder.load(root: root, train: true, options: o)) {
            XCTAssert("\($0)".contains("cannot decode JPEG \(root)/train/cat/broken.jpg") && "\($0)".contains("--skip-bad-images"), "\($0)")
        }
        var skipping = o; skipping.skipBadImages = true
        let (d, skipped) = try ImageFolder.load(root: root, train: true, options: skipping)
        XCTAssertEqual(skipped, [root + "/train/cat/broken.jpg"]); XCTAssertEqual(d.count, 5)
        try FileManager.default.removeItem(atPath: root + "/train/cat/broken.jpg")
        try Data("GIF89a".utf8).write(to: URL(fileURLWithPath: root + "/train/cat/fake.png"))
        XCTAssertThrowsError(try ImageFolder.load(root: root, train: true, options: skipping.with { $0.skipBadImages = false })) {
            XCTAssert("\($0)".contains("cannot decode image \(root)/train/cat/fake.png: not a JPEG or PNG file"), "\($0)")
        }
        try FileManager.default.removeItem(atPath: root + "/train/cat/fake.png")
        try FileManager.default.createDirectory(atPath: root + "/train/fox", withIntermediateDirectories: true)
        XCTAssertThrowsError(try ImageFolder.load(root: root, train: true, options: o)) {
            XCTAssert("\($0)".contains("class folder \(root)/train/fox has no images"), "\($0)")
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
