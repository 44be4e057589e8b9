import ArgumentParser
import Foundation
import ViTKit

/// `vitkit init`: builds a model, runs an init mode, reports what it made (per layer and head for impulse) and
/// draws its attention maps.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Run a weight init (timm, skip, mimetic, impulse, post-…), report it and draw its attention maps.",
        discussion: """
        For impulse<K>: per layer and head the offset, the final MSE, the mean attention on the target over rows
        that have one, the share of those rows whose argmax is the target, and the time taken. For the follow-up's
        post-impulse: the same per layer and head on its pseudo input (MSE to the impulse), and the time in ms.

        With --pictures DIR it writes PNGs of block --layer's attention: for each head (a row) the T×T matrix, a
        zoom on its upper-left corner (outlined in the matrix), and where query token --query looks over the
        token grid. Maps are computed on the pseudo input (the position embedding, through the block's norm1) and,
        with --image, on a real image through the blocks before --layer. --sheet adds the same maps of timm,
        mimetic0.7_0.7 and impulse3 side by side (a row each).
        """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var threadOptions: ThreadOptions
    @OptionGroup var initArguments: InitArguments
    @Option(help: "Random seed.") var seed: UInt64 = 42
    @Option(help: "Number of classes.") var numClasses = 10
    @Option(help: "Also save the initialised model to this .safetensors file.") var output: String?
    @Option(help: "Write attention pictures (PNG) into this folder.") var pictures: String?
    @Option(help: "Block whose attention the pictures show.") var layer = 0
    @Option(help: "Query token of the grid pictures, as a patch index (default: the centre patch).") var query: Int?
    @Option(help: "Side of the zoomed upper-left corner, in tokens (default: two grid rows).") var zoom: Int?
    @Option(help: "Also draw the maps for this JPEG or PNG image (resized to the model's input, bicubic; CIFAR-10 mean/std).")
    var image: String?
    @Flag(help: "Also draw timm, mimetic0.7_0.7 and impulse3 side by side.") var sheet = false

    func validate() throws {
        let config: ViTConfig
        do { config = try model.resolve(numClasses: numClasses) } catch let e as ViTKitError { throw ValidationError(e.description) }
        if layer < 0 || layer >= config.depth {
            throw ValidationError("--layer must be a block index in 0..<\(config.depth), got \(layer)")
        }
        if let query, query < 0 || query >= config.numPatches {
            throw ValidationError("--query must be a patch index in 0..<\(config.numPatches) (\(config.gridSize)×\(config.gridSize) grid), got \(query)")
        }
        if let zoom, zoom < 1 { throw ValidationError("--zoom must be at least 1, got \(zoom)") }
        if pictures == nil && (image != nil || sheet) { throw ValidationError("--image and --sheet need --pictures DIR") }
    }

    func run() throws {
        try runOrExit {
            let config = try model.resolve(numClasses: numClasses)
            let mode = try initArguments.mode()
            let pool = ThreadPool(threads: threadOptions.threads)
            // read the image before the long init, so a bad path fails at once
            let pixels = try image.map { try Self.loadImage($0, config: config) }
            let (vit, results, seconds) = try initialised(mode, config: config, pool: pool)
            for r in results {
                let layers = r.layers.count == 1 ? "\(r.layers.lowerBound)" : "\(r.layers.lowerBound)-\(r.layers.upperBound)"
                for h in 0..<config.numHeads {
                    print(String(format: "layer=%@ head=%d offset=(%d,%d) final_mse=%.4e target_mass=%.3f argmax_on_target=%.3f seconds=%.2f",
                                 layers, h, r.offsets[h].0, r.offsets[h].1, r.finalLoss, r.targetMass[h],
                                 r.argmaxOnTarget[h], r.seconds))
                }
            }
            if case .post(let post) = mode, post.kind == .impulse {
                for layer in 0..<config.depth {
                    for (h, st) in try vit.impulseStatistics(layer: layer).enumerated() {
                        print(String(format: "layer=%d head=%d offset=(%d,%d) mse=%.4e target_mass=%.3f argmax_on_target=%.3f",
                                     layer, h, st.offset.0, st.offset.1, st.mse, st.targetMass, st.argmaxOnTarget))
                    }
                }
            }
            if case .post = mode {
                print(String(format: "vitkit init config=%@ init=%@ grid=%d dim=%d heads=%d threads=%d milliseconds=%.1f",
                             config.name, mode.description, config.gridSize, config.embedDim, config.numHeads, pool.threadCount,
                             seconds * 1e3))
            } else {
                print(String(format: "vitkit init config=%@ init=%@ grid=%d dim=%d heads=%d iters=%d threads=%d seconds=%.2f",
                             config.name, mode.description, config.gridSize, config.embedDim, config.numHeads,
                             initArguments.impulseIterations, pool.threadCount, seconds))
            }
            if let output {
                try Checkpoint.save(vit, to: output, extra: initArguments.metadata.merging(["seed": "\(seed)"]) { $1 })
            }
            guard let pictures else { return }
            try FileSystem.createFolder(pictures)
            var models = [(mode, vit)]
            if sheet {
                for other in [InitMode.timm, .mimetic(alpha: 0.7, beta: 0.7), .impulse(kernel: 3)] where other != mode {
                    models.append((other, try initialised(other, config: config, pool: pool).0))
                }
                models.sort { Self.sheetOrder($0.0) < Self.sheetOrder($1.0) }
            }
            try draw(models, primary: mode, config: config, pixels: pixels, into: pictures)
        }
    }

    /// A fresh model initialised with `mode` from the command's seed.
    func initialised(_ mode: InitMode, config: ViTConfig, pool: ThreadPool) throws
        -> (VisionTransformer, [ImpulseInit.Result], Double) {
        let vit = try VisionTransformer(config: config, pool: pool)
        var rng = RNG(seed: seed)
        let t0 = Date()
        let results = try vit.initialize(mode, options: initArguments.options, rng: &rng)
        return (vit, results, Date().timeIntervalSince(t0))
    }

    static func sheetOrder(_ m: InitMode) -> Int {
        switch m { case .timm: 0; case .skip: 1; case .mimetic: 2; case .impulse: 3; case .post: 4 }
    }

    /// The pictures of `primary` (one per input) and, with more than one model, the sheets.
    func draw(_ models: [(InitMode, VisionTransformer)], primary: InitMode, config c: ViTConfig, pixels: [Float]?,
              into dir: String) throws {
        let q = query ?? (c.gridSize / 2) * c.gridSize + c.gridSize / 2
        var inputs: [(name: String, tokens: (VisionTransformer) throws -> [Float])] = [
            ("pseudo", { try $0.positionEmbeddingTokens() })]
        if let pixels { inputs.append(("image", { $0.blockInput(layer: layer, image: pixels) })) }
        for (name, tokens) in inputs {
            var sheetRows: [[Float]] = []
            var t = 0, prefix = 0
            for (mode, vit) in models {
                let x = try tokens(vit)
                t = x.count / c.embedDim
                prefix = t == c.numPatches ? 0 : c.numPrefixTokens
                let maps = vit.attentionMaps(layer: layer, input: x)
                let z = min(zoom ?? 2 * c.gridSize, t)
                if mode == primary {
                    let path = (dir as NSString).appendingPathComponent("\(mode)-layer\(layer)-\(name).png")
                    try AttentionPictures.layer(maps, heads: c.numHeads, tokens: t, prefix: prefix, grid: c.gridSize,
                                                zoom: z, query: q).writePNG(to: path)
                    print("wrote \(path)")
                }
                sheetRows.append(maps)
            }
            if models.count > 1 {
                let path = (dir as NSString).appendingPathComponent("sheet-layer\(layer)-\(name).png")
                try AttentionPictures.sheet(sheetRows, heads: c.numHeads, tokens: t, prefix: prefix, grid: c.gridSize,
                                            zoom: min(zoom ?? 2 * c.gridSize, t), query: q).writePNG(to: path)
                print("wrote \(path) (rows: \(models.map { "\($0.0)" }.joined(separator: ", ")))")
            }
        }
    }

    /// A PNG as the model's normalised [C × H × W] input.
    static func loadImage(_ path: String, config c: ViTConfig) throws -> [Float] {
        if c.inChans != 3 { throw ViTKitError("--image needs a 3-channel model, but in_chans is \(c.inChans)") }
        return try ImageFolder.decode(path).resized(width: c.imgSize, height: c.imgSize, filter: .bicubic)
            .normalized(mean: CIFAR10.mean, std: CIFAR10.std)
    }
}
