import ArgumentParser
import Foundation
import ViTKit

/// `vitkit predict`: a checkpoint's logits for images given as a tensor, so other programs (timm, numpy) can
/// compare outputs on exactly the same input.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Write a checkpoint's logits for images given as a safetensors tensor.",
        discussion: """
        --input holds a tensor 'x' of shape [N, C, H, W]: images already normalised, as the model takes them.
        --output gets a tensor 'logits' of shape [N, classes]. A checkpoint that records no ViTKit config (one timm
        wrote) is read with the model given by the model options (--config, --embed-dim, …).
        """)

    @Option(help: "Checkpoint (.safetensors): vitkit's, a train_state file, or a timm state_dict.") var checkpoint: String
    @Option(help: "safetensors file with the tensor 'x' [N, C, H, W].") var input: String
    @Option(help: "safetensors file to write the tensor 'logits' [N, classes] to.") var output: String
    @OptionGroup var model: ModelOptions
    @OptionGroup var threadOptions: ThreadOptions

    func run() throws {
        try runOrExit {
            let vit = try Checkpoint.model(from: checkpoint, pool: ThreadPool(threads: threadOptions.threads)) {
                try model.architecture(numClasses: $0)
            }
            guard let x = try SafeTensors.read(path: input).tensors["x"] else {
                throw ViTKitError("\(input) has no tensor 'x': expected images [N, C, H, W]")
            }
            let c = vit.inChans, s = vit.imgSize
            guard x.shape.count == 4, x.shape[1] == c, x.shape[2] == s, x.shape[3] == s else {
                throw ViTKitError("\(input): tensor 'x' has shape \(x.shape), the model takes [N, \(c), \(s), \(s)]")
            }
            let n = x.shape[0], per = c * s * s, classes = vit.numClasses, chunk = 256
            var logits = [Float](repeating: 0, count: n * classes)
            var start = 0
            while start < n {
                let b = min(chunk, n - start)
                x.values.withUnsafeBufferPointer { xs in
                    let out = vit.forward(images: xs.baseAddress! + start * per, batch: b)
                    for i in 0..<(b * classes) { logits[start * classes + i] = out[i] }
                }
                start += b
            }
            try SafeTensors.write(path: output, tensors: [("logits", SafeTensors.Tensor(shape: [n, classes], values: logits))])
            print("predict checkpoint=\(checkpoint) config=\(vit.name) images=\(n) output=\(output)")
        }
    }
}
