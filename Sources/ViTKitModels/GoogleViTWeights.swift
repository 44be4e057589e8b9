import Foundation
import ViTKitCore
import ViTKitIO
import ViTKitImaging
import ViTKitNN

/// Google's official JAX ViT checkpoints (`.npz`), read as timm's `_load_weights` reads them (and
/// jeonsworld/ViT-pytorch's `load_from`): `embedding/kernel` [kh, kw, in, out], `cls`,
/// `Transformer/posembed_input/pos_embedding`, per block `Transformer/encoderblock_<i>/` `LayerNorm_0`,
/// `MultiHeadDotProductAttention_1/{query,key,value}` ([D, heads, head dim]) and `out` ([heads, head dim, D]),
/// `LayerNorm_2`, `MlpBlock_3/Dense_{0,1}`, then `Transformer/encoder_norm` and `head`.
///
/// As in timm: the position embedding is resampled when the token grid differs (`resample_abs_pos_embed`,
/// bilinear, no antialiasing, prefix tokens kept); the head is loaded only when its class count matches (else it
/// keeps its init, for fine-tuning); `encoder_norm` goes to `norm` when the model has one (with average pooling
/// and fc_norm it has none, and fc_norm keeps its init); register tokens keep their init.
public enum GoogleViTWeights {
    /// What was loaded, and what was left at its init (name: why).
    public struct Report: Sendable {
        /// The ViTKit tensors filled from the file.
        public var loaded: [String] = []
        /// Tensors left at their init, with why (e.g. the head, for another class count).
        public var kept: [String: String] = [:]
    }

    /// Loads the `.npz` at `path` into `model`.
    @discardableResult
    public static func load(_ model: VisionTransformer, from path: String) throws -> Report {
        let w = try NumPy.readNPZ(path: path)
        let what = "pretrained weights \(path)"
        guard let prefix = ["", "opt/target/", "params/"].first(where: { w[$0 + "embedding/kernel"] != nil }) else {
            throw ViTKitError("\(what) have no embedding/kernel: not a Google ViT checkpoint")
        }
        if w[prefix + "pos_embedding"] != nil || w[prefix + "Transformer/encoderblock/LayerNorm_0/scale"] != nil {
            throw ViTKitError("\(what) are in the big_vision layout (stacked blocks), which ViTKit does not read")
        }
        let c = model.config
        var report = Report()
        func get(_ key: String) throws -> NumPy.Tensor {
            guard var t = w[prefix + key] else { throw ViTKitError("\(what) have no \(prefix + key)") }
            if t.shape.count == 4 && t.shape.prefix(3) == [1, 1, 1] { t.shape = [t.shape[3]] }  // as timm's _n2p
            return t
        }
        func set(_ name: String, _ t: NumPy.Tensor, from key: String) throws {
            guard let dst = model.parameter(name), let e = model.table.entries.first(where: { $0.name == name }) else { return }
            guard t.shape == e.shape else {
                throw ViTKitError("\(what): \(prefix + key) gives \(name) the shape \(t.shape), the model has \(e.shape)")
            }
            _ = dst.update(from: t.values)
            report.loaded.append(name)
        }

        try set("patch_embed.proj.weight", (try get("embedding/kernel")).permuted([3, 2, 0, 1]), from: "embedding/kernel")
        try set("patch_embed.proj.bias", try get("embedding/bias"), from: "embedding/bias")
        if c.classToken { try set("cls_token", try get("cls"), from: "cls") }
        if c.regTokens > 0 { report.kept["reg_token"] = "not in Google checkpoints" }
        if c.posEmbed == .learn {
            var pe = try get("Transformer/posembed_input/pos_embedding")
            let expected = [1, c.posEmbedLen, c.embedDim]
            if pe.shape != expected {
                pe = try resamplePositionEmbedding(pe, grid: c.gridSize, prefixTokens: c.noEmbedClass ? 0 : c.numPrefixTokens, what: what)
            }
            try set("pos_embed", pe, from: "Transformer/posembed_input/pos_embedding")
        } else {
            report.kept["pos_embed"] = "the model's position embedding is the fixed sin-cos table"
        }
        for i in 0..<c.depth {
            let p = "Transformer/encoderblock_\(i)/", b = "blocks.\(i)."
            try set(b + "norm1.weight", try get(p + "LayerNorm_0/scale"), from: p + "LayerNorm_0/scale")
            try set(b + "norm1.bias", try get(p + "LayerNorm_0/bias"), from: p + "LayerNorm_0/bias")
            let mha = p + "MultiHeadDotProductAttention_1/"
            var qkvW: [Float] = [], qkvB: [Float] = []
            for n in ["query", "key", "value"] {
                let k = try get(mha + n + "/kernel")  // [D, heads, head dim] → rows of [heads·head dim, D]
                qkvW += NumPy.Tensor(shape: [k.shape[0], k.values.count / max(1, k.shape[0])], values: k.values).permuted([1, 0]).values
                qkvB += try get(mha + n + "/bias").values
            }
            try set(b + "attn.qkv.weight", NumPy.Tensor(shape: [qkvW.count / c.embedDim, c.embedDim], values: qkvW), from: mha + "*/kernel")
            try set(b + "attn.qkv.bias", NumPy.Tensor(shape: [qkvB.count], values: qkvB), from: mha + "*/bias")
            let out = (try get(mha + "out/kernel")).permuted([2, 0, 1])  // [heads, head dim, D] → [D, heads, head dim]
            try set(b + "attn.proj.weight", NumPy.Tensor(shape: [out.shape[0], out.values.count / max(1, out.shape[0])], values: out.values),
                    from: mha + "out/kernel")
            try set(b + "attn.proj.bias", try get(mha + "out/bias"), from: mha + "out/bias")
            try set(b + "norm2.weight", try get(p + "LayerNorm_2/scale"), from: p + "LayerNorm_2/scale")
            try set(b + "norm2.bias", try get(p + "LayerNorm_2/bias"), from: p + "LayerNorm_2/bias")
            for r in 0..<2 {
                let dense = p + "MlpBlock_3/Dense_\(r)/"
                try set(b + "mlp.fc\(r + 1).weight", (try get(dense + "kernel")).permuted([1, 0]), from: dense + "kernel")
                try set(b + "mlp.fc\(r + 1).bias", try get(dense + "bias"), from: dense + "bias")
            }
        }
        if model.parameter("norm.weight") != nil {
            try set("norm.weight", try get("Transformer/encoder_norm/scale"), from: "Transformer/encoder_norm/scale")
            try set("norm.bias", try get("Transformer/encoder_norm/bias"), from: "Transformer/encoder_norm/bias")
        } else if model.parameter("fc_norm.weight") != nil {
            report.kept["fc_norm"] = "timm loads encoder_norm only into norm"
        }
        if let hb = w[prefix + "head/bias"], hb.shape.last == c.numClasses {
            try set("head.weight", (try get("head/kernel")).permuted([1, 0]), from: "head/kernel")
            try set("head.bias", hb, from: "head/bias")
        } else {
            report.kept["head"] = "the checkpoint's head has \(w[prefix + "head/bias"]?.shape.last.map(String.init) ?? "no") classes, the model \(c.numClasses)"
        }
        return report
    }

    /// timm's `resample_abs_pos_embed` as `_load_weights` calls it: the first `prefixTokens` rows kept, the rest a
    /// square grid resized to `grid`×`grid` with PyTorch's bilinear `interpolate` (align_corners False, no antialias).
    static func resamplePositionEmbedding(_ pe: NumPy.Tensor, grid: Int, prefixTokens: Int, what: String) throws -> NumPy.Tensor {
        guard pe.shape.count == 3, pe.shape[0] == 1 else { throw ViTKitError("\(what): pos_embedding has shape \(pe.shape), expected [1, tokens, dim]") }
        let tokens = pe.shape[1], d = pe.shape[2], old = Int(Double(tokens - prefixTokens).squareRoot())
        guard old * old == tokens - prefixTokens, old > 0 else {
            throw ViTKitError("\(what): pos_embedding has \(tokens) rows; with \(prefixTokens) prefix tokens that is not a square grid")
        }
        var out = Array(pe.values.prefix(prefixTokens * d))
        let taps = (0..<grid).map { linearTaps(out: $0, inSize: old, outSize: grid) }
        let base = prefixTokens * d
        for y in 0..<grid {
            for x in 0..<grid {
                for k in 0..<d {
                    var v: Float = 0
                    for (iy, wy) in taps[y] { for (ix, wx) in taps[x] { v += wy * wx * pe.values[base + (iy * old + ix) * d + k] } }
                    out.append(v)
                }
            }
        }
        return NumPy.Tensor(shape: [1, prefixTokens + grid * grid, d], values: out)
    }

    /// PyTorch's bilinear source taps for output index `o` (half-pixel centres, negative coordinates clamped to 0).
    static func linearTaps(out o: Int, inSize: Int, outSize: Int) -> [(Int, Float)] {
        let scale = Float(inSize) / Float(outSize)
        let src = max(0, (Float(o) + 0.5) * scale - 0.5)
        let i0 = min(Int(src), inSize - 1), i1 = min(i0 + 1, inSize - 1), l = src - Float(i0)
        return [(i0, 1 - l), (i1, l)]
    }
}
