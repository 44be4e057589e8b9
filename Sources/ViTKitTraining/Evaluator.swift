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

extension ImageClassifier {
    /// Evaluates on every image of `dataset`, `batchSize` at a time (the last batch may be smaller). Throws when
    /// the dataset does not fit the model (`ImageDataset.checkFits`).
    public func evaluate(on dataset: ImageDataset, batchSize: Int) throws -> Evaluation {
        try dataset.checkFits(architecture, role: "evaluation")
        let loader = BatchLoader(dataset: dataset, capacity: batchSize)
        let c = numClasses
        var lossSum = 0.0, correct = [0, 0]
        var start = 0
        while start < dataset.count {
            let n = min(batchSize, dataset.count - start)
            loader.load(pool, indices: Array(start..<(start + n))[...], flipRng: nil)
            let logits = forward(images: loader.images.pointer, batch: n)
            loader.labels.withUnsafeBufferPointer { labels in
                lossSum += Double(CrossEntropy.forwardBackward(logits: logits, labels: labels.baseAddress!, batch: n,
                                                               classes: c, smoothing: 0, dlogits: nil)) * Double(n)
                TopK.count(&correct, ks: [1, 5], logits: logits, labels: labels.baseAddress!, batch: n, classes: c)
            }
            start += n
        }
        let count = Double(dataset.count)
        return Evaluation(loss: lossSum / count, top1: 100 * Double(correct[0]) / count, top5: 100 * Double(correct[1]) / count,
                          count: dataset.count)
    }
}
