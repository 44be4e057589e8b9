import ViTKitCore
import ViTKitData
import ViTKitIO
import ViTKitImaging
import ViTKitModels
import ViTKitNN
import ViTKitPictures

/// Loss (plain cross-entropy, no smoothing) and top-1/top-5 accuracy of a model on a dataset.
public struct Evaluation: Sendable, Equatable {
    /// Mean cross-entropy over the images.
    public var loss: Double
    /// Top-1 accuracy, in percent.
    public var top1: Double
    /// Top-5 accuracy, in percent.
    public var top5: Double
    /// Images evaluated.
    public var count: Int
}

extension Evaluation {
    /// The evaluation from summed counts: the loss summed over the images, the top-1 and top-5 hits, the images.
    package init(sums: (loss: Double, top1: Int, top5: Int, count: Int)) {
        let n = Double(max(sums.count, 1))
        self.init(loss: sums.loss / n, top1: 100 * Double(sums.top1) / n, top5: 100 * Double(sums.top5) / n, count: sums.count)
    }
}

extension ImageClassifier {
    /// Evaluates on every image of `dataset`, `batchSize` at a time (the last batch may be smaller). Throws when
    /// the dataset does not fit the model (`ImageDataset.checkFits`).
    public func evaluate(on dataset: ImageDataset, batchSize: Int) throws -> Evaluation {
        Evaluation(sums: try evaluationSums(on: dataset, batchSize: batchSize, range: 0..<dataset.count))
    }

    /// The summed loss, top-1 and top-5 hits over the images `range` of `dataset` (what a data-parallel
    /// evaluation adds across ranks).
    package func evaluationSums(on dataset: ImageDataset, batchSize: Int, range: Range<Int>) throws
        -> (loss: Double, top1: Int, top5: Int, count: Int) {
        try dataset.checkFits(architecture, role: "evaluation")
        let loader = BatchLoader(dataset: dataset, capacity: batchSize)
        let c = numClasses
        var lossSum = 0.0, correct = [0, 0]
        var start = range.lowerBound
        while start < range.upperBound {
            let n = min(batchSize, range.upperBound - start)
            loader.load(pool, indices: Array(start..<(start + n))[...], flipRng: nil)
            let logits = forward(images: loader.images.pointer, batch: n)
            loader.labels.withUnsafeBufferPointer { labels in
                lossSum += Double(CrossEntropy.forwardBackward(logits: logits, labels: labels.baseAddress!, batch: n,
                                                               classes: c, smoothing: 0, dlogits: nil)) * Double(n)
                TopK.count(&correct, ks: [1, 5], logits: logits, labels: labels.baseAddress!, batch: n, classes: c)
            }
            start += n
        }
        return (lossSum, correct[0], correct[1], range.count)
    }
}
