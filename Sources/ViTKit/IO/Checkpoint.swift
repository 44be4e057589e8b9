import Foundation

/// Model checkpoints: a safetensors file with timm's state_dict keys and shapes (so `timm` can load the
/// weights), plus the ViTKit config in the metadata. `TrainingState` files add what an exact resume needs.
public enum Checkpoint {
    /// Saves the model's parameters (and the fixed sin-cos `pos_embed` is left out, as the reference code does).
    public static func save(_ model: VisionTransformer, to path: String, extra: [String: String] = [:]) throws {
        var meta = extra
        meta["format"] = "pt"
        meta["vitkit_config"] = try json(model.config)
        try SafeTensors.write(path: path, tensors: weights(model), metadata: meta)
    }

    /// JSON with sorted keys, so that the same run writes the same bytes.
    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func weights(_ model: VisionTransformer, prefix: String = "") -> [(String, SafeTensors.Tensor)] {
        model.table.entries.map { e in (prefix + e.name, SafeTensors.Tensor(shape: e.shape, values: Array(model.parameter(e.name)!))) }
    }

    /// Reads the config stored in a checkpoint.
    public static func config(at path: String) throws -> ViTConfig {
        try config(metadata: try SafeTensors.read(path: path).metadata, path: path)
    }

    static func config(metadata: [String: String], path: String) throws -> ViTConfig {
        guard let json = metadata["vitkit_config"], let config = try? JSONDecoder().decode(ViTConfig.self, from: Data(json.utf8))
        else { throw ViTKitError("checkpoint \(path) has no ViTKit config in its metadata (key 'vitkit_config')") }
        return config
    }

    /// Loads parameters from a checkpoint into `model`, as `load_state_dict(strict=True)`: every parameter present
    /// with its shape, and no other tensor (a `pos_embed` for a model with the fixed sin-cos embedding, which timm
    /// keeps in its state_dict, is allowed). All missing, unexpected and mis-shaped tensors are named at once.
    /// A training state file (`train_state.safetensors`) is read for its weights.
    public static func load(_ model: VisionTransformer, from path: String) throws {
        let (tensors, meta) = try SafeTensors.read(path: path)
        try load(model, tensors: modelTensors(tensors, metadata: meta), what: "checkpoint \(path)")
    }

    /// The model's tensors of a file: all of them, or for a training state file all but the optimizer's.
    static func modelTensors(_ tensors: [String: SafeTensors.Tensor], metadata: [String: String]) -> [String: SafeTensors.Tensor] {
        metadata["train_state"] == nil ? tensors : tensors.filter { !$0.key.hasPrefix("optimizer.") }
    }

    /// The model a checkpoint holds, read in one pass: built from the config the file records, or for a file that
    /// records none (one timm wrote) from `fallback` called with the class count read off `head.weight`; then
    /// loaded as `load(_:from:)` loads (a training state file for its weights).
    public static func model(from path: String, pool: ThreadPool, fallback: (Int) throws -> ViTConfig) throws -> VisionTransformer {
        let (tensors, meta) = try SafeTensors.read(path: path)
        let config: ViTConfig
        if meta["vitkit_config"] != nil {
            config = try self.config(metadata: meta, path: path)
        } else {
            guard let head = tensors["head.weight"], head.shape.count == 2 else {
                throw ViTKitError("checkpoint \(path) records no ViTKit config and has no head.weight to read the class count from")
            }
            config = try fallback(head.shape[0])
        }
        let model = try VisionTransformer(config: config, pool: pool)
        try load(model, tensors: modelTensors(tensors, metadata: meta), what: "checkpoint \(path)")
        return model
    }

    static func load(_ model: VisionTransformer, tensors: [String: SafeTensors.Tensor], prefix: String = "", what: String) throws {
        var problems: [String] = []
        /// At most 8 named, then a count: a file for another model would list every tensor.
        func list(_ names: [String]) -> String {
            names.prefix(8).joined(separator: ", ") + (names.count > 8 ? " and \(names.count - 8) more" : "")
        }
        let expected = Set(model.table.entries.map { prefix + $0.name })
        let missing = model.table.entries.filter { tensors[prefix + $0.name] == nil }.map(\.name)
        let fixed: Set<String> = model.config.posEmbed == .sincos ? [prefix + "pos_embed"] : []
        let unexpected = tensors.keys.filter { $0.hasPrefix(prefix) && !expected.contains($0) && !fixed.contains($0) }.sorted()
        if !missing.isEmpty { problems.append("missing \(list(missing))") }
        if !unexpected.isEmpty { problems.append("unexpected \(list(unexpected))") }
        let misShaped = model.table.entries.compactMap { e -> String? in
            guard let t = tensors[prefix + e.name], t.shape != e.shape else { return nil }
            return "'\(e.name)' has shape \(t.shape), the model expects \(e.shape)"
        }
        if !misShaped.isEmpty { problems.append(list(misShaped)) }
        if !problems.isEmpty {
            throw ViTKitError("\(what) does not fit model \(model.config.name): " + problems.joined(separator: "; "))
        }
        for e in model.table.entries { _ = model.parameter(e.name)!.update(from: tensors[prefix + e.name]!.values) }
    }

    /// Saves everything an exact resume needs in one file, so it is replaced in one step: the weights, AdamW's
    /// moments (`optimizer.exp_avg.<name>`, `optimizer.exp_avg_sq.<name>`, as torch names them) and, in the
    /// metadata, the training state and the model config. Random draws are keyed by (seed, epoch), so the epoch
    /// is all of the random state.
    public static func saveTrainingState(_ model: VisionTransformer, optimizer: AdamW, state: TrainingState,
                                         to path: String) throws {
        var tensors = weights(model)
        for (kind, buffer) in [("exp_avg", optimizer.m), ("exp_avg_sq", optimizer.v)] {
            for e in model.table.entries {
                tensors.append(("optimizer.\(kind).\(e.name)",
                                SafeTensors.Tensor(shape: e.shape, values: Array(UnsafeBufferPointer(start: buffer.pointer + e.offset, count: e.count)))))
            }
        }
        let meta = ["vitkit_config": try json(model.config), "train_state": try json(state)]
        try SafeTensors.write(path: path, tensors: tensors, metadata: meta)
    }

    /// Restores a `saveTrainingState` file: the weights always, AdamW's moments and step unless `optimizer` is nil
    /// (timm's `--no-resume-opt`). The model must have the config the file was written with.
    @discardableResult
    public static func loadTrainingState(_ model: VisionTransformer, optimizer: AdamW?, from path: String) throws -> TrainingState {
        let (tensors, meta) = try SafeTensors.read(path: path)
        let what = "training state \(path)"
        guard let json = meta["train_state"], let state = try? JSONDecoder().decode(TrainingState.self, from: Data(json.utf8)),
              let cfg = meta["vitkit_config"], let config = try? JSONDecoder().decode(ViTConfig.self, from: Data(cfg.utf8))
        else { throw ViTKitError("\(what) has no training state in its metadata (keys 'train_state' and 'vitkit_config')") }
        guard config == model.config else {
            throw ViTKitError("\(what) was written for model \(config.name) (\(config)), not \(model.config.name) (\(model.config))")
        }
        try load(model, tensors: modelTensors(tensors, metadata: meta), what: what)
        if let optimizer {
            for (kind, buffer) in [("exp_avg", optimizer.m), ("exp_avg_sq", optimizer.v)] {
                for e in model.table.entries {
                    guard let t = tensors["optimizer.\(kind).\(e.name)"], t.shape == e.shape else {
                        throw ViTKitError("\(what) has no optimizer.\(kind).\(e.name) of shape \(e.shape)")
                    }
                    (buffer.pointer + e.offset).update(from: t.values, count: e.count)
                }
            }
            optimizer.step = state.optimizerStep
        }
        return state
    }
}

/// Where a run stands after an epoch: what `vitkit train --resume` continues from.
public struct TrainingState: Codable, Sendable, Equatable {
    /// Epochs finished.
    public var epoch: Int
    /// AdamW updates made.
    public var optimizerStep: Int
    /// Best evaluation top-1 so far (what `model_best` holds).
    public var bestTop1: Double?
    public var history: [EpochStats]
    /// The run's recipe, to report what a resumed command changes.
    public var settings: [String: String]
}
