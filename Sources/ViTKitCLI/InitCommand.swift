import ArgumentParser
import Foundation
import ViTKit

/// `vitkit init`: builds a model, runs an init mode and reports what it made (per layer and head for impulse).
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Run a weight init (timm, skip, mimetic, impulse) and report it.",
        discussion: """
        For impulse<K>: per layer and head the offset, the final MSE, the mean attention on the target over rows
        that have one, the share of those rows whose argmax is the target, and the time taken.
        """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var threadOptions: ThreadOptions
    @OptionGroup var initArguments: InitArguments
    @Option(help: "Random seed.") var seed: UInt64 = 42
    @Option(help: "Number of classes.") var numClasses = 10
    @Option(help: "Also save the initialised model to this .safetensors file.") var output: String?

    func validate() throws {
        do { _ = try model.resolve(numClasses: numClasses) } catch let e as ViTKitError { throw ValidationError(e.description) }
    }

    func run() throws {
        try runOrExit {
            let config = try model.resolve(numClasses: numClasses)
            let mode = try initArguments.mode()
            let pool = ThreadPool(threads: threadOptions.threads)
            let vit = try VisionTransformer(config: config, pool: pool)
            var rng = RNG(seed: seed)
            let t0 = Date()
            let results = try vit.initialize(mode, options: initArguments.options, rng: &rng)
            let seconds = Date().timeIntervalSince(t0)
            for r in results {
                let layers = r.layers.count == 1 ? "\(r.layers.lowerBound)" : "\(r.layers.lowerBound)-\(r.layers.upperBound)"
                for h in 0..<config.numHeads {
                    print(String(format: "layer=%@ head=%d offset=(%d,%d) final_mse=%.4e target_mass=%.3f argmax_on_target=%.3f seconds=%.2f",
                                 layers, h, r.offsets[h].0, r.offsets[h].1, r.finalLoss, r.targetMass[h],
                                 r.argmaxOnTarget[h], r.seconds))
                }
            }
            print(String(format: "vitkit init config=%@ init=%@ grid=%d dim=%d heads=%d iters=%d threads=%d seconds=%.2f",
                         config.name, mode.description, config.gridSize, config.embedDim, config.numHeads,
                         initArguments.impulseIterations, pool.threadCount, seconds))
            if let output {
                try Checkpoint.save(vit, to: output, extra: ["init": mode.description, "seed": "\(seed)"])
            }
        }
    }
}
