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

/// Random erasing: how often, what shape, what fill, and nothing outside the rectangle changes.
final class RandomErasingTests: XCTestCase {
    /// The erased rectangle of a 3×32×32 image that was all 5s (nil when nothing changed).
    func erasedBox(_ img: [Float], size: Int = 32) -> (top: Int, left: Int, h: Int, w: Int)? {
        let changed = (0..<(size * size)).filter { img[$0] != 5 }
        guard !changed.isEmpty else { return nil }
        let rows = changed.map { $0 / size }, cols = changed.map { $0 % size }
        return (rows.min()!, cols.min()!, rows.max()! - rows.min()! + 1, cols.max()! - cols.min()! + 1)
    }

    func testShapesFrequencyAndFills() {
        var rng = RNG(seed: 5)
        let e = RandomErasing(prob: 0.25, mode: .pixel)
        var erased = 0, noise: [Float] = []
        let n = 4000
        for _ in 0..<n {
            var img = [Float](repeating: 5, count: 3 * 1024)
            let filled = img.withUnsafeMutableBufferPointer { e.apply($0.baseAddress!, channels: 3, height: 32, width: 32, rng: &rng) }
            guard let box = erasedBox(img) else { XCTAssertEqual(filled, 0); continue }
            XCTAssertEqual(filled, 1)
            erased += 1
            let area = Double(box.h * box.w) / 1024
            XCTAssert(area >= 0.015 && area <= 0.36, "area \(area)")
            XCTAssert(Double(box.h) / Double(box.w) >= 0.3 * 0.8 && Double(box.h) / Double(box.w) <= 1 / 0.3 * 1.25)
            // all three channels erased in the same rectangle, every pixel inside replaced, nothing outside
            for c in 0..<3 {
                for r in 0..<32 {
                    for col in 0..<32 {
                        let inside = (box.top..<(box.top + box.h)).contains(r) && (box.left..<(box.left + box.w)).contains(col)
                        let v = img[c * 1024 + r * 32 + col]
                        if inside { noise.append(v) } else { XCTAssertEqual(v, 5) }
                    }
                }
            }
        }
        XCTAssertEqual(Double(erased) / Double(n), 0.25, accuracy: 0.025)
        let mean = noise.reduce(0) { $0 + Double($1) } / Double(noise.count)
        let std = (noise.reduce(0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(noise.count)).squareRoot()
        XCTAssertEqual(mean, 0, accuracy: 0.02); XCTAssertEqual(std, 1, accuracy: 0.02)

        for mode in [RandomErasing.Mode.rand, .const] {
            var img = [Float](repeating: 5, count: 3 * 1024)
            img.withUnsafeMutableBufferPointer {
                _ = RandomErasing(prob: 1, mode: mode).apply($0.baseAddress!, channels: 3, height: 32, width: 32, rng: &rng)
            }
            let box = erasedBox(img)!
            for c in 0..<3 {
                let first = img[c * 1024 + box.top * 32 + box.left]
                if mode == .const { XCTAssertEqual(first, 0) }
                for r in box.top..<(box.top + box.h) { for col in box.left..<(box.left + box.w) {
                    XCTAssertEqual(img[c * 1024 + r * 32 + col], first, "\(mode): one colour per channel")
                } }
            }
        }
    }

    /// Training with erasing and mixup is still deterministic for a seed and thread count.
    func testTrainingWithErasingIsDeterministic() throws {
        func run() throws -> [Float] {
            let model = try VisionTransformer(config: TrainingTests.tinyConfig(), pool: Pools.two)
            var rng = RNG(seed: 1)
            try model.initialize(.timm, rng: &rng)
            var o = TrainingTests.options(epochs: 1)
            o.erasing = RandomErasing(prob: 0.5, mode: .pixel)
            o.mixup = Mixup(mixupAlpha: 0.8)
            let trainer = Trainer(model: model, options: o)
            trainer.log = { _ in }
            let (train, test) = TrainingTests.data()
            try trainer.fit(train: train, test: test)
            return trainer.stepLosses
        }
        let a = try run()
        XCTAssertEqual(a, try run())
        XCTAssert(a.allSatisfy(\.isFinite))
    }
}
