// Train a ViT on your own image folder from code: root/train/<class>/<image>, root/val/<class>/<image>.
//
//   swift run -c release TrainOnFolder ~/data/pets 20 64        (folder, epochs, image size)
//   swift run -c release TrainOnFolder --demo /tmp/demo 2 16    (first writes a small folder of generated pictures)
import Foundation
import ViTKit

var args = Array(CommandLine.arguments.dropFirst())
let demo = args.first == "--demo"
if demo { args.removeFirst() }
guard let root = args.first else {
    print("usage: TrainOnFolder [--demo] FOLDER [EPOCHS] [IMAGE_SIZE]")
    exit(2)
}
let epochs = args.count > 1 ? Int(args[1]) ?? 10 : 10
let size = args.count > 2 ? Int(args[2]) ?? 32 : 32

do {
    if demo {
        // two classes told apart by colour, 24 pictures each per split
        var rng = RNG(seed: 1)
        for split in ["train", "val"] {
            for (k, name) in ["red", "blue"].enumerated() {
                let dir = "\(root)/\(split)/\(name)"
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                for i in 0..<24 {
                    var picture = RGBImage(width: size + 8, height: size)
                    for p in 0..<(picture.width * picture.height) {
                        let noise = UInt8(rng.int(below: 60))
                        picture.pixels[3 * p] = k == 0 ? 180 + noise : noise
                        picture.pixels[3 * p + 1] = noise
                        picture.pixels[3 * p + 2] = k == 1 ? 180 + noise : noise
                    }
                    try picture.writePNG(to: "\(dir)/\(i).png")
                }
            }
        }
    }
    let train = try ImageDataset.imageFolder(root, train: true, size: size)
    let test = try ImageDataset.imageFolder(root, train: false, size: size)
    print("\(train.count) training and \(test.count) test images, classes \(train.classNames)")

    // the paper's model shape at this size: patch size/8, average pooling, fixed sin-cos positions, impulse init
    let vit = try ViT(imageSize: size, patchSize: max(1, size / 8), numClasses: train.numClasses, dim: 96, depth: 4,
                      heads: 3, mlpDim: 384, pool: .mean, positionEmbedding: .sincos, initialization: .impulse(kernel: 3))
    var options = TrainOptions()
    options.epochs = epochs
    options.batchSize = min(64, train.count)
    options.warmupEpochs = min(2, epochs - 1)
    options.outputDir = "\(root)/run"
    let trainer = Trainer(model: vit, options: options)
    try trainer.fit(train: train, test: test)
    print("best top-1 \(trainer.bestTop1 ?? 0)%; checkpoints and curves.png in \(root)/run")
} catch {
    print("error: \(error)")
    exit(1)
}
