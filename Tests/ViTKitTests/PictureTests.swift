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
@testable import ViTKitCLI

/// PNG files through libpng, the colour map, the attention maps behind the pictures, and `vitkit init --pictures`.
final class PictureTests: XCTestCase {
    func testPNGRoundTripAndErrors() throws {
        let dir = try temporaryDirectory()
        var rng = RNG(seed: 1)
        var img = RGBImage(width: 37, height: 11)
        for i in img.pixels.indices { img.pixels[i] = UInt8(rng.int(below: 256)) }
        let path = dir + "/a.png"
        try img.writePNG(to: path)
        XCTAssertEqual(try RGBImage.readPNG(path), img)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["a.png"], "no temp file left behind")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual(Array(bytes.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "PNG signature")

        try Data("not a picture".utf8).write(to: URL(fileURLWithPath: dir + "/b.png"))
        XCTAssertThrowsError(try RGBImage.readPNG(dir + "/b.png")) {
            XCTAssert("\($0)".contains(dir + "/b.png") && "\($0)".contains("not a PNG file"), "\($0)")
        }
        XCTAssertThrowsError(try img.writePNG(to: dir + "/missing/c.png")) {
            XCTAssert("\($0)".contains("cannot write \(dir)/missing/c.png: No such file or directory"), "\($0)")
        }
        // bilinear resize: a constant picture stays constant, and the size is what was asked
        let flat = RGBImage(width: 5, height: 3, fill: (10, 200, 30)).resized(width: 32, height: 32)
        XCTAssertEqual(flat.width, 32); XCTAssertEqual(flat[31, 31].1, 200)
    }

    func testHeatmapColoursAndLayout() {
        XCTAssert(Heatmap.color(0) == (68, 1, 84) && Heatmap.color(1) == (253, 231, 37))
        XCTAssert(Heatmap.color(-3) == (68, 1, 84) && Heatmap.color(.nan) == (68, 1, 84))
        // [0 1; 0.5 0.25] at 2 pixels per entry: coloured relative to the largest entry (1)
        let img = Heatmap.render([0, 1, 0.5, 0.25], rows: 2, cols: 2, scale: 2)
        XCTAssertEqual(img.width, 4); XCTAssertEqual(img.height, 4)
        XCTAssert(img[3, 1] == (253, 231, 37) && img[0, 0] == (68, 1, 84) && img[1, 3] == Heatmap.color(0.5))
        let sheet = RGBImage.grid([[img, img], [img]], gap: 3)
        XCTAssertEqual(sheet.width, 3 + 2 * (4 + 3)); XCTAssertEqual(sheet.height, 3 + 2 * (4 + 3))
        XCTAssert(sheet[3 + 4 + 3 + 3, 3 + 1] == (253, 231, 37) && sheet[0, 0] == (255, 255, 255))
    }

    /// The maps a picture shows are the model's own attention: for an image, block l's rows equal
    /// exp(hd^-½ q·k − lse) from the training forward pass (naive loops here), and every row sums to 1.
    func testAttentionMapsAreTheForwardPassAttention() throws {
        var c = InitModeTests.config(); c.classToken = true
        let m = try VisionTransformer(config: c, pool: Pools.two)
        var rng = RNG(seed: 7)
        try m.initialize(.mimetic(alpha: 0.7, beta: 0.7), rng: &rng)
        let image = (0..<(3 * 32 * 32)).map { _ in rng.uniform(-2, 2) }
        let t = c.numTokens, d = c.embedDim, heads = c.numHeads, hd = d / heads
        for layer in [0, 1] {
            let maps = m.attentionMaps(layer: layer, input: m.blockInput(layer: layer, image: image))
            XCTAssertEqual(maps.count, heads * t * t)
            let ly = m.acts!.layer(layer)
            var worst: Float = 0
            for h in 0..<heads {
                for i in 0..<t {
                    var rowSum: Float = 0
                    for j in 0..<t {
                        var dot: Float = 0
                        for e in 0..<hd { dot += ly.qkv[i * 3 * d + h * hd + e] * ly.qkv[j * 3 * d + d + h * hd + e] }
                        let p = exp(dot / Float(hd).squareRoot() - ly.lse[h * t + i])
                        worst = max(worst, abs(p - maps[(h * t + i) * t + j]))
                        rowSum += maps[(h * t + i) * t + j]
                    }
                    XCTAssertEqual(rowSum, 1, accuracy: 1e-4)
                }
            }
            XCTAssertLessThan(worst, 1e-5, "layer \(layer)")
        }
    }

    /// On the pseudo input the impulse-initialised model's maps put rows' largest weight on their targets about as
    /// often as the optimisation reported (the q/k biases and norm1's eps 1e-6 barely move them). This tiny model
    /// (D 48, 3000 iterations) fits less well than vit_tiny_patch2_32, so the bar is the optimisation's own share.
    func testImpulseMapsOnThePseudoInputHitTheTargets() throws {
        let c = InitModeTests.config()
        let m = try VisionTransformer(config: c, pool: Pools.two)
        var rng = RNG(seed: 3)
        var o = InitOptions(); o.impulseIterations = 3000
        let r = try m.initialize(.impulse(kernel: 3), options: o, rng: &rng)[0]
        let maps = m.attentionMaps(layer: 1, input: try m.positionEmbeddingTokens())
        let n = c.numPatches, g = c.gridSize
        for (h, (dr, dc)) in r.offsets.enumerated() {
            var rows = 0, hits = 0
            for i in 0..<n where (0..<g).contains(i / g + dr) && (0..<g).contains(i % g + dc) {
                let row = maps[((h * n + i) * n)..<((h * n + i + 1) * n)]
                hits += row.indices.max { row[$0] < row[$1] }! - (h * n + i) * n == i + dr * g + dc ? 1 : 0
                rows += 1
            }
            XCTAssertGreaterThanOrEqual(Double(hits) / Double(rows), Double(r.argmaxOnTarget[h]) - 0.1, "head \(h)")
            XCTAssertGreaterThan(Double(hits) / Double(rows), 0.6, "head \(h): far above chance (1/64)")
        }
    }

    func testInitCommandWritesThePictures() throws {
        let dir = try temporaryDirectory()
        var img = RGBImage(width: 20, height: 24)
        for i in img.pixels.indices { img.pixels[i] = UInt8(i % 251) }
        try img.writePNG(to: dir + "/in.png")
        var cmd = try XCTUnwrap(try VitkitCommand.parseAsRoot([
            "init", "--config", "small", "--depth", "2", "--init", "impulse3", "--impulse-iterations", "50",
            "--threads", "2", "--pictures", dir, "--sheet", "--image", dir + "/in.png", "--layer", "1",
        ]) as? InitCommand)
        try cmd.run()
        // small: 64 tokens at 4 px, a 16-token corner at 16 px, the 8×8 grid at 32 px; 3 heads
        for name in ["impulse3-layer1-pseudo", "impulse3-layer1-image"] {
            let p = try RGBImage.readPNG("\(dir)/\(name).png")
            XCTAssertEqual([p.width, p.height], [4 + 3 * (256 + 4), 4 + 3 * (256 + 4)], name)
        }
        for name in ["sheet-layer1-pseudo", "sheet-layer1-image"] {
            let p = try RGBImage.readPNG("\(dir)/\(name).png")
            XCTAssertEqual([p.width, p.height], [6 + 6 * (192 + 6), 6 + 3 * (192 + 6)], name)
        }
        XCTAssertThrowsError(try VitkitCommand.parseAsRoot(["init", "--layer", "6"])) {
            XCTAssert(VitkitCommand.message(for: $0).contains("--layer must be a block index in 0..<6, got 6"))
        }
        XCTAssertThrowsError(try VitkitCommand.parseAsRoot(["init", "--query", "64"])) {
            XCTAssert(VitkitCommand.message(for: $0).contains("patch index in 0..<64 (8×8 grid), got 64"))
        }
    }
}

/// The attention analysis of `vitkit attention`: distances and rollout on maps with known answers, and the command.
final class AttentionAnalysisTests: XCTestCase {
    /// Every query looks only at the patch to its right (the last column at itself): distance = that fraction of
    /// the patches × the patch size. A head that looks at itself has distance 0. The prefix token is left out.
    func testMeanDistance() {
        let grid = 3, prefix = 1, t = prefix + grid * grid, heads = 2
        var maps = [Float](repeating: 0, count: heads * t * t)
        for q in 0..<(grid * grid) {
            let right = q % grid < grid - 1 ? q + 1 : q
            maps[(prefix + q) * t + prefix + right] = 0.5
            maps[(prefix + q) * t] = 0.5  // mass on the class token: not counted
            maps[t * t + (prefix + q) * t + prefix + q] = 1
        }
        let d = AttentionAnalysis.meanDistance(maps, heads: heads, tokens: t, prefix: prefix, grid: grid, patch: 4)
        XCTAssertEqual(d[0], 4 * 6 / 9, accuracy: 1e-6)
        XCTAssertEqual(d[1], 0)
    }

    /// Two tokens, every query attending to token 1: per layer A' = ½A + ½I = [[½, ½], [0, 1]]; one layer's average
    /// query is [¼, ¾], two layers' (A'A') [⅛, ⅞]. Heads are averaged first.
    func testRolloutOfTheAverageQuery() {
        let toOne: [Float] = [0, 1, 0, 1], uniform: [Float] = [0.5, 0.5, 0.5, 0.5]
        XCTAssertEqual(AttentionAnalysis.rolloutOfTheAverageQuery([toOne], heads: 1, tokens: 2), [0.25, 0.75])
        XCTAssertEqual(AttentionAnalysis.rolloutOfTheAverageQuery([toOne, toOne], heads: 1, tokens: 2), [0.125, 0.875])
        // two heads, one to token 1 and one uniform: mean [[¼, ¾], [¼, ¾]], plus I and renormalised
        let r = AttentionAnalysis.rolloutOfTheAverageQuery([toOne + uniform], heads: 2, tokens: 2)
        XCTAssertEqual(r[0], (0.625 + 0.125) / 2, accuracy: 1e-6); XCTAssertEqual(r[1], (0.375 + 0.875) / 2, accuracy: 1e-6)
    }

    func testAttentionCommandWritesItsPictures() throws {
        let root = try temporaryDirectory()
        var train = try XCTUnwrap(try VitkitCommand.parseAsRoot([
            "train", "--depth", "2", "--embed-dim", "48", "--synthetic-train", "64", "--synthetic-test", "32", "-b", "32",
            "--epochs", "1", "--threads", "2", "--init", "impulse3", "--impulse-iterations", "50", "--output", root + "/run"]) as? TrainCommand)
        try train.run()
        try RGBImage(width: 40, height: 30, fill: (200, 100, 50)).writePNG(to: root + "/x.png")
        var cmd = try XCTUnwrap(try VitkitCommand.parseAsRoot([
            "attention", "--checkpoint", root + "/run/last.safetensors", "--image", root + "/x.png", "--output", root + "/att"])
            as? AttentionCommand)
        try cmd.run()
        // small: 32×32 input, 8×8 grid, 3 heads; the picture enlarged 4× to 128 pixels
        let grid = try RGBImage.readPNG(root + "/att/attention-query36.png")
        XCTAssertEqual(grid.width, 4 + 3 * (128 + 4)); XCTAssertEqual(grid.height, 4 + 2 * (128 + 4))
        let rows = try String(contentsOfFile: root + "/att/distance.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 1 + 2 * 3)
        for row in rows.dropFirst() {
            let d = Float(row.split(separator: ",")[2])!
            XCTAssert(d > 0 && d < 7 * 4 * 1.5, "a distance in pixels within the grid: \(row)")
        }
        XCTAssertEqual(try RGBImage.readPNG(root + "/att/rollout.png").width, 4 + 2 * (128 + 4))
        XCTAssertThrowsError(try VitkitCommand.parseAsRoot(["attention", "--checkpoint", "x"]))
        XCTAssertThrowsError(try VitkitCommand.parseAsRoot(["attention", "--checkpoint", "x", "--image", "y.png", "--average", "2"]))
        // distances averaged over test images: the mean of the one-image runs
        func distances(_ args: [String], _ out: String) throws -> [Float] {
            var c = try XCTUnwrap(try VitkitCommand.parseAsRoot(["attention", "--checkpoint", root + "/run/last.safetensors",
                                                                  "--dataset", "synthetic", "--synthetic-test", "8", "--output", root + out] + args)
                as? AttentionCommand)
            try c.run()
            return try String(contentsOfFile: root + out + "/distance.csv", encoding: .utf8).split(separator: "\n").dropFirst()
                .map { Float($0.split(separator: ",")[2])! }
        }
        let one = try (0..<3).map { try distances(["--index", "\($0)"], "/i\($0)") }
        let mean = try distances(["--index", "0", "--average", "3"], "/avg")
        for k in mean.indices { XCTAssertEqual(mean[k], (one[0][k] + one[1][k] + one[2][k]) / 3, accuracy: 2e-3) }
    }
}

/// curves.png and distance.png: the values drawn where they belong, on axes that carry titles and tick labels.
final class CurvePlotTests: XCTestCase {
    static let history = [
        EpochStats(epoch: 1, lr: 0, trainLoss: 2.0, testLoss: 1.5, testTop1: 20, testTop5: nil, seconds: 0),
        EpochStats(epoch: 2, lr: 0, trainLoss: 1.0, testLoss: nil, testTop1: nil, testTop5: nil, seconds: 0),
        EpochStats(epoch: 3, lr: 0, trainLoss: 0.5, testLoss: 1.0, testTop1: 60, testTop5: nil, seconds: 0)]

    func testCurvesAreDrawnWhereTheValuesAre() {
        let charts = CurvePlot.panels(Self.history.map(\.curvePoint), panelWidth: 101, height: 101)
        let loss = charts[0], acc = charts[1]
        XCTAssertEqual([loss.plotWidth, loss.plotHeight], [101, 101])
        // values 0…2 bottom to top, epochs 1…3 left to right: train loss 2 at epoch 1 is the top-left corner
        XCTAssertEqual([loss.x(1), loss.y(2)], [loss.left, loss.top])
        XCTAssertEqual([loss.x(2), loss.y(1)], [loss.left + 50, loss.top + 50])
        XCTAssert(loss.image[loss.x(1) + 1, loss.y(2) + 1] == CurvePlot.blue, "train loss 2.0 at epoch 1")
        XCTAssert(loss.image[loss.x(2), loss.y(1)] == CurvePlot.blue, "train loss 1.0 at epoch 2 (the middle)")
        XCTAssert(loss.image[loss.x(1), loss.y(1.5)] == CurvePlot.orange, "test loss 1.5 at epoch 1")
        // accuracy 0…100%: 60% at epoch 3 is 40 px below the top at the right edge
        XCTAssertEqual([acc.x(3), acc.y(60)], [acc.left + 100, acc.top + 40])
        XCTAssert(acc.image[acc.x(3), acc.y(60)] == CurvePlot.green, "top-1 60% at epoch 3")
        // the whole picture: both panels side by side, 8 px apart and around
        let img = CurvePlot.render(Self.history.map(\.curvePoint), panelWidth: 101, height: 101)
        XCTAssertEqual(img.width, 8 + loss.image.width + 8 + acc.image.width + 8)
        XCTAssert(img[8 + loss.x(2), 8 + loss.y(1)] == CurvePlot.blue)
    }

    /// Text pixels of `chart` inside a rectangle.
    func ink(_ chart: Chart, x: Range<Int>, y: Range<Int>) -> Int {
        x.reduce(0) { n, px in n + y.filter { chart.image[px, $0] == Chart.text }.count }
    }

    /// Each axis has a title and tick labels: before, the panels were bare frames that only summary.csv explained.
    func testAxesHaveTitlesAndTickLabels() {
        let loss = CurvePlot.panels(Self.history.map(\.curvePoint), panelWidth: 101, height: 101)[0]
        let h = BitmapFont.glyphHeight
        // y tick "2.0" left of the frame at its row, "0.0" at the bottom; the y title turned, at the far left
        XCTAssertEqual(loss.yRange, 0...2)
        let twoWidth = BitmapFont.width("2.0")
        XCTAssertGreaterThan(ink(loss, x: (loss.left - 5 - twoWidth)..<(loss.left - 5), y: (loss.top - h / 2)..<(loss.top - h / 2 + h)), 10)
        XCTAssertGreaterThan(ink(loss, x: 0..<(3 + h), y: loss.top..<(loss.top + loss.plotHeight)), 40, "y-axis title")
        // x tick labels 1, 2, 3 under the frame at their columns, and the x title under them
        let below = loss.top + loss.plotHeight + 4
        for e in 1...3 {
            XCTAssertGreaterThan(ink(loss, x: (loss.x(Double(e)) - 3)..<(loss.x(Double(e)) + 3), y: below..<(below + h)), 5, "epoch \(e)")
        }
        XCTAssertGreaterThan(ink(loss, x: loss.left..<(loss.left + loss.plotWidth), y: (below + h + 5)..<(below + 2 * h + 5)), 30, "x title")
        // nothing but the data inside the frame's corners
        XCTAssertEqual(ink(loss, x: (loss.left + 1)..<(loss.left + 20), y: (loss.top + loss.plotHeight - 20)..<(loss.top + loss.plotHeight - 1)), 0)
    }

    /// The font draws its glyphs bit for bit, across and turned.
    func testFontDrawsItsGlyphs() {
        var img = RGBImage(width: 12, height: 12)
        BitmapFont.draw("7", into: &img, x: 1, y: 2, colour: (0, 0, 0))
        for (r, bits) in BitmapFont.glyphs["7"]!.enumerated() {
            for c in 0..<5 { XCTAssertEqual(img[1 + c, 2 + r] == (0, 0, 0), bits & (0x10 >> UInt8(c)) != 0, "row \(r) column \(c)") }
        }
        var turned = RGBImage(width: 12, height: 12)
        BitmapFont.draw("7", into: &turned, x: 1, y: 2, colour: (0, 0, 0), vertical: true)
        // turned a quarter left: glyph row r becomes column r, glyph column c runs upward
        for (r, bits) in BitmapFont.glyphs["7"]!.enumerated() {
            for c in 0..<5 { XCTAssertEqual(turned[1 + r, 2 + 4 - c] == (0, 0, 0), bits & (0x10 >> UInt8(c)) != 0) }
        }
        XCTAssertEqual(Chart.ticks(upTo: 2, atMost: 6).map(\.label), ["0.0", "0.5", "1.0", "1.5", "2.0"])
        XCTAssertEqual(Chart.ticks(upTo: 100, atMost: 5).map(\.label), ["0", "20", "40", "60", "80", "100"])
        XCTAssertEqual(Chart.ticks(from: 1, upTo: 200, atMost: 8).map(\.label), ["50", "100", "150", "200"])
    }

    func testDistancePlotHasTitledAxes() {
        let img = AttentionAnalysis.distancePlot([[4, 8, 12], [16, 20, 24]], maxDistance: 40)
        let textPixels = img.pixels.indices.filter { $0 % 3 == 0 && img[$0 / 3 % img.width, $0 / 3 / img.width] == Chart.text }.count
        XCTAssertGreaterThan(textPixels, 300, "title, axis titles, layer and distance labels")
    }
}
