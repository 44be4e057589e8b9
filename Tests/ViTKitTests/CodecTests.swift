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

/// JPEG and PNG files of the kinds a plain decoder gets wrong, decoded as Pillow's `Image.open(f).convert("RGB")`
/// (scripts/make_codec_fixtures.py): CMYK and YCCK JPEGs, 16-bit, low-bit, palette and alpha PNGs, and gAMA, sRGB
/// and iCCP chunks, which Pillow does not apply.
final class CodecTests: XCTestCase {
    static let expected: [String: SafeTensors.Tensor] = {
        let url = Bundle.module.url(forResource: "pillow_codecs", withExtension: "safetensors", subdirectory: "Fixtures")!
        return try! SafeTensors.read(path: url.path).tensors
    }()

    static func file(_ name: String) -> String {
        Bundle.module.url(forResource: "Fixtures/codecs/\(name)", withExtension: nil)!.path
    }

    /// Each PNG equals Pillow's pixels exactly; before, the 16-bit and gamma files came out brighter.
    func testPNGsDecodeAsPillow() throws {
        let names = Self.expected.keys.filter { $0.hasSuffix(".png") }.sorted()
        XCTAssertEqual(names.count, 16)
        for name in names {
            let ours = try ImageFolder.decode(Self.file(name))
            let t = Self.expected[name]!
            XCTAssertEqual([ours.height, ours.width, 3], t.shape, name)
            let diff = zip(ours.pixels, t.values).map { abs(Int($0) - Int($1)) }.max() ?? -1
            XCTAssertEqual(diff, 0, "\(name): largest difference from Pillow")
        }
    }

    /// CMYK (Pillow's own, with an Adobe marker) and YCCK (libjpeg-turbo's) JPEGs: before, both failed with
    /// "Unsupported color conversion request". The IDCT may differ by a level before the colour conversion, which
    /// K can double.
    func testCMYKAndYCCKJPEGsDecodeAsPillow() throws {
        for name in ["cmyk.jpg", "ycck.jpg"] {
            let ours = try ImageFolder.decode(Self.file(name))
            let t = Self.expected[name]!
            XCTAssertEqual([ours.height, ours.width, 3], t.shape, name)
            let diffs = zip(ours.pixels, t.values).map { abs(Int($0) - Int($1)) }
            XCTAssertLessThanOrEqual(diffs.max() ?? -1, 2, "\(name): largest difference from Pillow")
            XCTAssertGreaterThan(Double(diffs.filter { $0 == 0 }.count) / Double(diffs.count), 0.9, "\(name): exact share")
        }
    }

    /// Pillow's CMYK to RGB, checked on values worked by hand: white paper, pure cyan, black ink.
    func testCMYKConversionRule() {
        // stored as Adobe does (inverted): C=0,M=0,Y=0,K=0 is 255,255,255,255
        var px: [UInt8] = [255, 255, 255, 255, 0, 255, 255, 255, 255, 255, 255, 0, 127, 255, 255, 127]
        px.withUnsafeMutableBufferPointer { ImageDecoder.cmykToRGB($0.baseAddress!, count: 4) }
        XCTAssertEqual(Array(px[0..<3]), [255, 255, 255])
        XCTAssertEqual(Array(px[4..<7]), [0, 255, 255])
        XCTAssertEqual(Array(px[8..<11]), [0, 0, 0])
        // C = 128, K = 128: 255 − K = 127, 127 − 128·127/255 = 127 − 64 = 63
        XCTAssertEqual(Array(px[12..<15]), [63, 127, 127])
    }
}
