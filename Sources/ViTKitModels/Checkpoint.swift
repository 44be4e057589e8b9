import Foundation
import ViTKitCore
import ViTKitIO
import ViTKitImaging
import ViTKitNN

/// Model checkpoints: a safetensors file with timm's state_dict keys and shapes (so `timm` can load the
/// weights), plus the ViTKit config in the metadata. `TrainingState` files add what an exact resume needs.
public enum Checkpoint {
    /// Saves the model's state_dict: its parameters and buffers (the fixed sin-cos `pos_embed` is left out, as
    /// the reference code does), with the architecture in the metadata.
    public static func save(_ model: any ImageClassifier, to path: String, extra: [String: String] = [:]) throws {
        var meta = extra.merging(try model.architecture.metadata()) { $1 }
        meta["format"] = "pt"
        try SafeTensors.write(path: path, tensors: weights(model), metadata: meta)
    }

    /// JSON with sorted keys, so that the same run writes the same bytes.
    package static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    package static func weights(_ model: any ImageClassifier, prefix: String = "") -> [(String, SafeTensors.Tensor)] {
        model.stateDictEntries.map { e, p in
            (prefix + e.name, SafeTensors.Tensor(shape: e.shape, values: Array(UnsafeBufferPointer(start: p, count: e.count))))
        }
    }

    /// The architecture a checkpoint records in its metadata (read from its header alone), or nil for a file that
    /// records none (one timm wrote).
    public static func architecture(at path: String) throws -> ModelConfig? {
        try ModelConfig.from(metadata: try SafeTensors.readMetadata(path: path), path: path)
    }

    /// Reads the ViT config stored in a checkpoint.
    public static func config(at path: String) throws -> ViTConfig {
        guard case .vit(let c)? = try ModelConfig.from(metadata: try SafeTensors.read(path: path).metadata, path: path) else {
            throw ViTKitError("checkpoint \(path) has no ViTKit ViT config in its metadata (key 'vitkit_config')")
        }
        return c
    }

    /// Loads parameters and buffers from a checkpoint into `model`, as `load_state_dict(strict=True)`: every tensor
    /// present with its shape, and no other (a `pos_embed` for a ViT with the fixed sin-cos embedding, which timm
    /// keeps in its state_dict, is allowed). All missing, unexpected and mis-shaped tensors are named at once.
    /// A training state file (`train_state.safetensors`) is read for its weights.
    public static func load(_ model: any ImageClassifier, from path: String) throws {
        let (tensors, meta) = try SafeTensors.read(path: path)
        try load(model, tensors: modelTensors(tensors, metadata: meta), what: "checkpoint \(path)")
    }

    /// Loads a checkpoint to start training from (`--pretrained`), as timm's `checkpoint_filter_fn` does: a learned
    /// `pos_embed` of another grid is resampled to the model's (`resample_abs_pos_embed`: prefix rows kept, the grid
    /// resized bicubic with antialias), then every tensor is loaded as `load(_:from:)` loads. Returns a note saying
    /// what was resampled, or nil.
    @discardableResult
    public static func loadPretrained(_ model: any ImageClassifier, from path: String) throws -> String? {
        let (read, meta) = try SafeTensors.read(path: path)
        var tensors = modelTensors(read, metadata: meta), note: String?
        if case .vit(let c) = model.architecture, c.posEmbed == .learn, let pe = tensors["pos_embed"],
           pe.shape != [1, c.posEmbedLen, c.embedDim] {
            let prefix = c.noEmbedClass ? 0 : c.numPrefixTokens
            tensors["pos_embed"] = try resampledPositionEmbedding(pe, grid: c.gridHeight, width: c.gridWidth, prefixTokens: prefix,
                                                                  dim: c.embedDim, what: "checkpoint \(path)")
            note = "pos_embed resampled from \(pe.shape) to \([1, c.posEmbedLen, c.embedDim]) (bicubic, as timm)"
        }
        try load(model, tensors: tensors, what: "checkpoint \(path)")
        return note
    }

    /// timm's `resample_abs_pos_embed(posemb, new_size=(grid, width ?? grid), num_prefix_tokens=prefixTokens,
    /// interpolation='bicubic', antialias=True)` (the old grid square, as timm assumes without `old_size`).
    package static func resampledPositionEmbedding(_ pe: SafeTensors.Tensor, grid: Int, width: Int? = nil, prefixTokens: Int, dim: Int,
                                                   what: String) throws -> SafeTensors.Tensor {
        let gw = width ?? grid
        guard pe.shape.count == 3, pe.shape[0] == 1, pe.shape[2] == dim else {
            throw ViTKitError("\(what): pos_embed has shape \(pe.shape), expected [1, tokens, \(dim)]")
        }
        let rows = pe.shape[1] - prefixTokens, old = Int(Double(max(0, rows)).squareRoot())
        guard old > 0, old * old == rows else {
            throw ViTKitError("\(what): pos_embed has \(pe.shape[1]) rows; with \(prefixTokens) prefix tokens that is not a square grid")
        }
        let grid2 = FloatResize.resize(Array(pe.values[(prefixTokens * dim)...]), height: old, width: old, channels: dim,
                                       toHeight: grid, toWidth: gw)
        return SafeTensors.Tensor(shape: [1, prefixTokens + grid * gw, dim], values: Array(pe.values.prefix(prefixTokens * dim)) + grid2)
    }

    /// The model's tensors of a file: all of them, or for a training state file all but the optimizer's.
    package static func modelTensors(_ tensors: [String: SafeTensors.Tensor], metadata: [String: String]) -> [String: SafeTensors.Tensor] {
        metadata["train_state"] == nil ? tensors : tensors.filter { !$0.key.hasPrefix("optimizer.") && !$0.key.hasPrefix("ema.") }
    }

    /// The model a checkpoint holds, read in one pass: built from the architecture the file records, or for a file
    /// that records none (one timm wrote) from `fallback` called with the class count read off `head.weight`; then
    /// loaded as `load(_:from:)` loads (a training state file for its weights).
    public static func model(from path: String, pool: ThreadPool, fallback: (Int) throws -> ModelConfig) throws -> any ImageClassifier {
        let (tensors, meta) = try SafeTensors.read(path: path)
        let config: ModelConfig
        if let recorded = try ModelConfig.from(metadata: meta, path: path) {
            config = recorded
        } else {
            guard let head = tensors["head.weight"], head.shape.count == 2 else {
                throw ViTKitError("checkpoint \(path) records no ViTKit config and has no head.weight to read the class count from")
            }
            config = try fallback(head.shape[0])
        }
        let model = try config.makeModel(pool: pool)
        try load(model, tensors: modelTensors(tensors, metadata: meta), what: "checkpoint \(path)")
        return model
    }

    package static func load(_ model: any ImageClassifier, tensors: [String: SafeTensors.Tensor], prefix: String = "", what: String) throws {
        var problems: [String] = []
        /// At most 8 named, then a count: a file for another model would list every tensor.
        func list(_ names: [String]) -> String {
            names.prefix(8).joined(separator: ", ") + (names.count > 8 ? " and \(names.count - 8) more" : "")
        }
        let entries = model.stateDictEntries
        let expected = Set(entries.map { prefix + $0.0.name })
        let missing = entries.filter { tensors[prefix + $0.0.name] == nil }.map(\.0.name)
        var fixed: Set<String> = []
        if case .vit(let c) = model.architecture, c.posEmbed == .sincos { fixed.insert(prefix + "pos_embed") }
        let unexpected = tensors.keys.filter { $0.hasPrefix(prefix) && !expected.contains($0) && !fixed.contains($0) }.sorted()
        if !missing.isEmpty { problems.append("missing \(list(missing))") }
        if !unexpected.isEmpty { problems.append("unexpected \(list(unexpected))") }
        let misShaped = entries.compactMap { e, _ -> String? in
            guard let t = tensors[prefix + e.name], t.shape != e.shape else { return nil }
            return "'\(e.name)' has shape \(t.shape), the model expects \(e.shape)"
        }
        if !misShaped.isEmpty { problems.append(list(misShaped)) }
        if !problems.isEmpty {
            throw ViTKitError("\(what) does not fit model \(model.name): " + problems.joined(separator: "; "))
        }
        for (e, p) in entries { p.update(from: tensors[prefix + e.name]!.values, count: e.count) }
    }
}
