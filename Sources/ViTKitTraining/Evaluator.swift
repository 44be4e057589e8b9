import ViTKitCore
import ViTKitData
import ViTKitIO
import ViTKitImaging
import ViTKitModels
import ViTKitNN
import ViTKitPictures

/// Loss (plain cross-entropy, no smoothing) and top-1/top-5 accuracy of a model on a dataset.
public struct Evaluation: Sendable, Equatable {
    public var loss: Double
    public var top1: Double
    public var top5: Double
    public var count: Int
}

extension ImageClassifier {
    /// Evaluates on every image of `dataset`, `batchSize` at a time (the last batch may be smaller). Throws when
    /// the dataset does not fit the model (`ImageDataset.checkFits`).
    public func evaluate(on dataset: ImageDataset, batchSize: Int) throws -> Evaluation {
        try dataset.checkFits(architecture, role: "evaluation")
        let loader = BatchLoader(dataset: dataset, capacity: batchSize)
        let c = numClasses
        var lossSum = 0.0, top1 = 0, top5 = 0
        var start = 0
        while start < dataset.count {
            let n = min(batchSize, dataset.count - start)
            loader.load(pool, indices: Array(start..<(start + n))[...], flipRng: nil)
            let logits = forward(images: loader.images.pointer, batch: n)
            loader.labels.withUnsafeBufferPointer { labels in
                lossSum += Double(CrossEntropy.forwardBackward(logits: logits, labels: labels.baseAddress!, batch: n,
                                                               classes: c, smoothing: 0, dlogits: nil)) * Double(n)
                for b in 0..<n {
                    let row = logits + b * c, target = row[Int(labels[b])]
                    // rank of the true class = how many logits beat it
                    var better = 0
                    for j in 0..<c where row[j] > target || (row[j] == target && j < Int(labels[b])) { better += 1 }
                    if better == 0 { top1 += 1 }
                    if better < 5 { top5 += 1 }
                }
            }
            start += n
        }
        let count = Double(dataset.count)
        return Evaluation(loss: lossSum / count, top1: 100 * Double(top1) / count, top5: 100 * Double(top5) / count,
                          count: dataset.count)
    }
}
