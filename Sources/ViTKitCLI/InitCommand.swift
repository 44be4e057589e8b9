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
    @Option(name: .customLong("init"), help: "Weight init: \(InitMode.validForms).") var initText = "impulse3"
    @Option(help: "Impulse init: Adam iterations.") var impulseIterations = 10_000
    @Option(help: "Impulse init: Adam learning rate.") var impulseLr: Float = 1e-4
    @Option(help: "Impulse init: column renormalisation period (iterations).") var impulseRenorm = 100
    @Flag(help: "Impulse init: optimise Q, K for every layer instead of once for all.") var impulsePerLayer = false
    @Option(help: "Random seed.") var seed: UInt64 = 42
    @Option(help: "Number of classes.") var numClasses = 10
    @Option(help: "Also save the initialised model to this .safetensors file.") var output: String?

    func validate() throws {
        if impulseIterations < 0 || impulseRenorm < 1 || !(impulseLr > 0) {
            throw ValidationError("--impulse-iterations must be 0 or more, --impulse-renorm at least 1, --impulse-lr positive")
        }
        do {
            _ = try model.resolve(numClasses: numClasses)
            _ = try InitMode(parsing: initText)
        } catch let e as ViTKitError { throw ValidationError(e.description) }
    }

    func run() throws {
        try runOrExit {
            let config = try model.resolve(numClasses: numClasses)
            let mode = try InitMode(parsing: initText)
            let pool = ThreadPool(threads: threadOptions.threads)
            let vit = try VisionTransformer(config: config, pool: pool)
            var o = InitOptions()
            o.impulseIterations = impulseIterations; o.impulseLR = impulseLr; o.impulseRenormEvery = impulseRenorm
            o.impulsePerLayer = impulsePerLayer
            var rng = RNG(seed: seed)
            let t0 = Date()
            let results = try vit.initialize(mode, options: o, rng: &rng)
            let seconds = Date().timeIntervalSince(t0)
            for (i, r) in results.enumerated() {
                let layers = impulsePerLayer ? "\(i)" : "0-\(config.depth - 1)"
                for h in 0..<config.numHeads {
                    print(String(format: "layer=%@ head=%d offset=(%d,%d) final_mse=%.4e target_mass=%.3f argmax_on_target=%.3f seconds=%.2f",
                                 layers, h, r.offsets[h].0, r.offsets[h].1, r.finalLoss, r.targetMass[h],
                                 r.argmaxOnTarget[h], r.seconds))
                }
            }
            print(String(format: "vitkit init config=%@ init=%@ grid=%d dim=%d heads=%d iters=%d threads=%d seconds=%.2f",
                         config.name, mode.description, config.gridSize, config.embedDim, config.numHeads,
                         impulseIterations, pool.threadCount, seconds))
            if let output {
                try Checkpoint.save(vit, to: output, extra: ["init": mode.description, "seed": "\(seed)"])
            }
        }
    }
}
