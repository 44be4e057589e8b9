import ArgumentParser
import Foundation
import ViTKit

/// `vitkit predict`: a checkpoint's logits for images, given as files or as a tensor, so other programs (timm,
/// numpy) can compare outputs on exactly the same input.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Write a checkpoint's logits for image files, or for images given as a safetensors tensor.",
        discussion: """
        --image takes JPEG or PNG files: each passes the checkpoint's eval transform (shorter side to size/crop_pct,
        centre crop) and normalisation (the mean and std it was trained with, as its pretrained_cfg records; --mean,
        --std, --crop-pct and --interpolation override them), and a line per image names the top class.
        --input holds a tensor 'x' of shape [N, C, H, W]: images already normalised, as the model takes them.
        --output gets a tensor 'logits' of shape [N, classes]. A checkpoint that records no ViTKit config (one timm
        wrote) is read with the model given by the model options (--config, --embed-dim, …).
        """)

    @Option(help: "Checkpoint (.safetensors): vitkit's, a train_state file, or a timm state_dict.") var checkpoint: String
    @Option(help: "safetensors file with the tensor 'x' [N, C, H, W].") var input: String?
    @Option(parsing: .upToNextOption, help: ArgumentHelp("JPEG or PNG files (instead of --input).", valueName: "file"))
    var image: [String] = []
    @Option(help: "safetensors file to write the tensor 'logits' [N, classes] to.") var output: String
    @OptionGroup var model: ModelOptions
    @OptionGroup var data: DataOptions
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if (input == nil) == image.isEmpty { throw ValidationError("give one of --input FILE or --image FILE…") }
    }

    func run() throws {
        try runOrExit {
            let vit = try Checkpoint.model(from: checkpoint, pool: ThreadPool(threads: threadOptions.threads)) {
                try model.architecture(numClasses: $0)
            }
            let recorded = try PretrainedConfig.recorded(at: checkpoint)
            let c = vit.inChans, s = vit.imgSize, w = vit.inputWidth
            let x: SafeTensors.Tensor
            if let input {
                guard let t = try SafeTensors.read(path: input).tensors["x"] else {
                    throw ViTKitError("\(input) has no tensor 'x': expected images [N, C, H, W]")
                }
                guard t.shape.count == 4, t.shape[1] == c, t.shape[2] == s, t.shape[3] == w else {
                    throw ViTKitError("\(input): tensor 'x' has shape \(t.shape), the model takes [N, \(c), \(s), \(w)]")
                }
                x = t
            } else {
                if c != 3 { throw ViTKitError("--image needs a 3-channel model, but model \(vit.name) takes \(c) channels") }
                var values: [Float] = []
                values.reserveCapacity(image.count * 3 * s * w)
                for file in image {
                    values += try data.modelInput(file, size: s, width: w, model: recorded, fallback: ([0.5, 0.5, 0.5], [0.5, 0.5, 0.5])).1
                }
                x = SafeTensors.Tensor(shape: [image.count, c, s, w], values: values)
            }
            let logits = try vit.predict(images: x.values, count: x.shape[0])
            let n = x.shape[0], classes = vit.numClasses
            try SafeTensors.write(path: output, tensors: [("logits", SafeTensors.Tensor(shape: [n, classes], values: logits))])
            for (i, file) in image.enumerated() {
                let row = logits[(i * classes)..<((i + 1) * classes)]
                let top = row.indices.max { row[$0] < row[$1] }! - i * classes
                let peak = row.max()!, total = row.reduce(0) { $0 + exp(Double($1 - peak)) }
                let name = recorded?.labelNames.flatMap { $0.indices.contains(top) ? $0[top] : nil } ?? "\(top)"
                print(String(format: "image=%@ class=%d name=%@ probability=%.4f", file, top, name, 1 / total))
            }
            print("predict checkpoint=\(checkpoint) config=\(vit.name) images=\(n) output=\(output)")
        }
    }
}
