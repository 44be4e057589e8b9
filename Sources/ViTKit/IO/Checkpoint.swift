import Foundation

/// Model checkpoints: a safetensors file with timm's state_dict keys and shapes (so `timm` can load the
/// weights), plus the ViTKit config in the metadata.
public enum Checkpoint {
    /// Saves the model's parameters (and the fixed sin-cos `pos_embed` is left out, as the reference code does).
    public static func save(_ model: VisionTransformer, to path: String, extra: [String: String] = [:]) throws {
        let tensors = model.table.entries.map { e in
            (e.name, SafeTensors.Tensor(shape: e.shape, values: Array(model.parameter(e.name)!)))
        }
        var meta = extra
        meta["format"] = "pt"
        meta["vitkit_config"] = String(data: try JSONEncoder().encode(model.config), encoding: .utf8)!
        try SafeTensors.write(path: path, tensors: tensors, metadata: meta)
    }

    /// Reads the config stored in a checkpoint.
    public static func config(at path: String) throws -> ViTConfig {
        let (_, meta) = try SafeTensors.read(path: path)
        guard let json = meta["vitkit_config"], let config = try? JSONDecoder().decode(ViTConfig.self, from: Data(json.utf8))
        else { throw ViTKitError("checkpoint \(path) has no ViTKit config in its metadata (key 'vitkit_config')") }
        return config
    }

    /// Loads parameters from a checkpoint into `model`; every parameter must be present with the right shape.
    public static func load(_ model: VisionTransformer, from path: String) throws {
        let (tensors, _) = try SafeTensors.read(path: path)
        for e in model.table.entries {
            guard let t = tensors[e.name] else { throw ViTKitError("checkpoint \(path) has no tensor '\(e.name)'") }
            guard t.shape == e.shape else {
                throw ViTKitError("checkpoint \(path): tensor '\(e.name)' has shape \(t.shape), expected \(e.shape)")
            }
            _ = model.parameter(e.name)!.update(from: t.values)
        }
    }
}
