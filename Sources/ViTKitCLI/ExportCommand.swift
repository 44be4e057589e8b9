import ArgumentParser
import Foundation
import ViTKit

/// `vitkit export`: the weights alone, as a safetensors file with timm's state_dict keys.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a checkpoint's weights alone (timm's keys and shapes) to a safetensors file.",
        discussion: """
        Reads a vitkit checkpoint or train_state file (dropping the optimizer state), or a timm state_dict with the
        model options, checks that it fits the model, and writes the weights with the config in the metadata.
        timm loads the result with load_state_dict(strict=True) (with the fixed sin-cos position embedding, as in
        the paper's code, pos_embed is not a weight and is not written).
        """)

    @Option(help: "Checkpoint to read (.safetensors).") var checkpoint: String
    @Option(help: "File to write (.safetensors).") var output: String
    @OptionGroup var model: ModelOptions
    @Flag(help: "Write the plain ViT inside a distilled one (vit-pytorch's to_vit()): without dist_token and head_dist.")
    var dropDistillation = false

    func run() throws {
        try runOrExit {
            var vit = try Checkpoint.model(from: checkpoint, pool: ThreadPool(threads: 1)) { try model.architecture(numClasses: $0) }
            if dropDistillation {
                guard let distilled = vit as? VisionTransformer, distilled.config.distilled else {
                    throw ViTKitError("--drop-distillation: \(checkpoint) holds \(vit.name), which has no distillation token")
                }
                vit = try distilled.withoutDistillation()
            }
            try Checkpoint.save(vit, to: output, extra: try PretrainedConfig.recorded(at: checkpoint)?.metadata() ?? [:])
            print("export checkpoint=\(checkpoint) config=\(vit.name) tensors=\(vit.stateDictEntries.count) "
                + "parameters=\(vit.parameterCount) output=\(output)")
        }
    }
}
