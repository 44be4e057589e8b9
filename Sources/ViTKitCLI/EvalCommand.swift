import ArgumentParser
import Foundation
import ViTKit

/// `vitkit eval`: test loss and accuracy of a saved checkpoint.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval",
                                                    abstract: "Evaluate a checkpoint on a dataset's test split.")

    @Option(help: "Checkpoint (.safetensors): vitkit's, a train_state file, or a timm state_dict (with the model options).")
    var checkpoint: String
    @OptionGroup var model: ModelOptions
    @OptionGroup var data: DataOptions
    @OptionGroup var threadOptions: ThreadOptions
    @Option(name: [.customShort("b"), .long], help: "Batch size.") var batchSize = 256

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
    }

    func run() throws {
        try runOrExit {
            let pool = ThreadPool(threads: threadOptions.threads)
            var vit = try Checkpoint.model(from: checkpoint, pool: pool) { try model.architecture(numClasses: $0) }
            // another input size than the checkpoint's (timm's dynamic_img_size at evaluation): the same weights,
            // a learned position embedding resampled to the new grid, a sin-cos one rebuilt for it
            if let h = model.imgSize.first, case .vit(var c) = vit.architecture {
                let w = model.imgSize.count > 1 ? model.imgSize[1] : h
                if h != c.imgSize || w != c.width {
                    let from = "\(c.imgSize)×\(c.width)"
                    c.imgSize = h; c.imgWidth = w == h ? nil : w
                    let resized = try VisionTransformer(config: c, pool: pool)
                    let note = try Checkpoint.loadPretrained(resized, from: checkpoint)
                    print("# evaluating at \(h)×\(w) (trained at \(from))" + (note.map { ": \($0)" } ?? ""))
                    vit = resized
                }
            }
            let (_, test) = try data.load(seed: 0, imgSize: vit.imgSize, width: vit.inputWidth, channels: vit.inChans, threads: threadOptions.threads, train: false,
                                          model: try PretrainedConfig.recorded(at: checkpoint))
            let t0 = Date()
            let ev = try vit.evaluate(on: test, batchSize: batchSize)
            print(String(format: "eval checkpoint=%@ dataset=%@ images=%d test_loss=%.4f test_acc=%.2f test_top5=%.2f seconds=%.1f",
                         checkpoint, data.datasetName, ev.count, ev.loss, ev.top1, ev.top5, Date().timeIntervalSince(t0)))
        }
    }
}
