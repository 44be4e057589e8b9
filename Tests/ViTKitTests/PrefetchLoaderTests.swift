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

/// The prefetching loader: the same batches whatever the number of worker threads, plain normalisation when
/// nothing is random, epochs that differ, and a clean stop mid-epoch.
final class PrefetchLoaderTests: XCTestCase {
    static let dataset: ImageDataset = {
        var rng = RNG(seed: 4)
        let n = 40, bytes = (0..<(n * 3 * 8 * 8)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        return ImageDataset(name: "t", images: bytes, labels: (0..<n).map { Int32($0 % 5) }, channels: 3, size: 8,
                            numClasses: 5, mean: [0.4, 0.5, 0.6], std: [0.2, 0.25, 0.3])
    }()

    static let augmented = TrainTransform(crop: RandomResizedCrop(scale: (0.5, 1)), hflip: 0.5,
                                          randAugment: try! RandAugment(config: "rand-m9-mstd0.5-inc1", mean: dataset.mean))

    /// All batches of one epoch, images and labels concatenated.
    func epoch(_ loader: PrefetchLoader, _ e: Int, order: [Int]) throws -> (images: [Float], labels: [Int32]) {
        loader.start(epoch: e, order: order)
        var images: [Float] = [], labels: [Int32] = []
        let per = loader.batchSize * loader.dataset.imageBytes
        for _ in 0..<(order.count / loader.batchSize) {
            let b = try loader.next()
            images += UnsafeBufferPointer(start: b.images, count: per)
            labels += UnsafeBufferPointer(start: b.labels, count: loader.batchSize)
            loader.release()
        }
        return (images, labels)
    }

    func testSameBatchesForAnyWorkerCount() throws {
        var rng = RNG(seed: 1)
        var order = Array(0..<40); order.shuffle(using: &rng)
        let runs = try [0, 1, 3].map { w in
            try epoch(PrefetchLoader(dataset: Self.dataset, batchSize: 4, transform: Self.augmented, seed: 7, workers: w), 2, order: order)
        }
        XCTAssertEqual(runs[0].labels, order.prefix(40).map { Self.dataset.labels[$0] })
        for r in runs.dropFirst() {
            XCTAssertEqual(r.labels, runs[0].labels)
            XCTAssertEqual(r.images, runs[0].images)
        }
        // the images really are augmented: not the plain normalisation
        let plain = try epoch(PrefetchLoader(dataset: Self.dataset, batchSize: 4, transform: TrainTransform(hflip: 0), seed: 7), 2, order: order)
        XCTAssertNotEqual(plain.images, runs[0].images)
    }

    func testWithoutAugmentationItIsNormalisation() throws {
        let order = Array((0..<40).reversed())
        let loader = PrefetchLoader(dataset: Self.dataset, batchSize: 8, transform: TrainTransform(hflip: 0), seed: 7, workers: 2)
        let got = try epoch(loader, 0, order: order)
        let ds = Self.dataset
        for (j, i) in order.enumerated() {
            for k in 0..<ds.imageBytes {
                let c = k / 64
                let want = (Float(ds.images[i * ds.imageBytes + k]) / 255 - ds.mean[c]) / ds.std[c]
                XCTAssertEqual(got.images[j * ds.imageBytes + k], want, accuracy: 2e-6)
            }
        }
        // drop_last: 45 indices at batch 8 give 5 batches
        loader.start(epoch: 1, order: Array(0..<40) + [0, 1, 2, 3, 4])
        for _ in 0..<5 { _ = try loader.next(); loader.release() }
    }

    func testEpochsDifferAndStopMidEpochIsClean() throws {
        let order = Array(0..<40)
        let a = PrefetchLoader(dataset: Self.dataset, batchSize: 4, transform: Self.augmented, seed: 7, workers: 2)
        let e0 = try epoch(a, 0, order: order), e1 = try epoch(a, 1, order: order)
        XCTAssertNotEqual(e0.images, e1.images, "each epoch draws new augmentations")
        // abandon an epoch after one batch (as when training stops on a NaN), then run epoch 1 again
        a.start(epoch: 0, order: order)
        _ = try a.next(); a.release()
        a.stop()
        XCTAssertEqual(try epoch(a, 1, order: order).images, e1.images)
        // a different seed, different draws
        let b = PrefetchLoader(dataset: Self.dataset, batchSize: 4, transform: Self.augmented, seed: 8, workers: 1)
        XCTAssertNotEqual(try epoch(b, 1, order: order).images, e1.images)
    }
}
