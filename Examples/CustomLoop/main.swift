// A training loop of your own over ViTKit's TrainStep: your data as arrays, your schedule, your batches.
//
//   swift run -c release CustomLoop 3      (epochs)
import Foundation
import ViTKit

let epochs = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 3 : 3
do {
    // 512 16×16 pictures of four gratings (ViTKit's generated data), as plain arrays, normalised by hand
    let data = SyntheticDataset.make(count: 512, classes: 4, size: 16, seed: 1)
    let pixels = data.images.map { (Float($0) / 255 - 0.5) / 0.25 }
    let labels = data.labels
    let perImage = 3 * 16 * 16, batch = 64

    let vit = try ViT(imageSize: 16, patchSize: 4, numClasses: 4, dim: 64, depth: 2, heads: 2, mlpDim: 256)
    let step = TrainStep(model: vit.model, optimizer: AdamW(table: vit.model.table, weightDecay: 0.05), clipGrad: 1, smoothing: 0.1)
    // sees the gradients the update uses (averaged over the processes first, in a multi-process run); here it only measures them
    var gradientNorm: Float = 0
    step.gradientHook = { grads in
        var s: Float = 0
        for i in 0..<grads.count { s += grads.pointer[i] * grads.pointer[i] }
        gradientNorm = s.squareRoot()
    }
    vit.model.reserve(batch: batch)
    var rng = RNG(seed: 7)
    var images = [Float](repeating: 0, count: batch * perImage), targets = [Int32](repeating: 0, count: batch)
    for epoch in 0..<epochs {
        var order = Array(0..<labels.count)
        order.shuffle(using: &rng)
        let lr = Float(1e-3 * 0.5 * (1 + cos(Double.pi * Double(epoch) / Double(epochs))))  // cosine, no warmup
        var total: Float = 0
        let steps = labels.count / batch
        for s in 0..<steps {
            for (j, i) in order[(s * batch)..<((s + 1) * batch)].enumerated() {
                images.replaceSubrange((j * perImage)..<((j + 1) * perImage), with: pixels[(i * perImage)..<((i + 1) * perImage)])
                targets[j] = labels[i]
            }
            total += images.withUnsafeBufferPointer { x in
                targets.withUnsafeBufferPointer { step(images: x.baseAddress!, labels: $0.baseAddress!, batch: batch, lr: lr) }
            }
        }
        let predicted = try vit(Tensor(shape: [labels.count, 3, 16, 16], values: pixels)).argmaxOfRows
        let accuracy = Double(zip(predicted, labels).filter { $0 == Int($1) }.count) / Double(labels.count)
        print(String(format: "epoch %d lr %.2e loss %.4f gradient norm %.3f train accuracy %.1f%%", epoch + 1, lr,
                     total / Float(steps), gradientNorm, 100 * accuracy))
    }
} catch {
    print("error: \(error)")
    exit(1)
}
