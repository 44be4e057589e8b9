import Foundation
import ViTKitCore

/// timm's layer-wise learning-rate decay (`--layer-decay`, `param_groups_layer_decay` with the models'
/// `group_matcher`): each tensor gets a layer id, and its rate is lr · decay^(last id − id).
///
///   id 0: the stem (ViT's cls_token, dist_token, reg_token, pos_embed, patch_embed; ConvMixer's stem)
///   id i + 1: blocks.i;  ViT's final `norm` shares the last block's id (timm's MATCH_PREV_GROUP)
///   last id: everything else (fc_norm, the head and head_dist), one past the last block
public enum LayerDecay {
    /// Each tensor's rate factor (timm's `lr_scale`), by name.
    public static func scales(names: [String], decay: Double) -> [String: Float] {
        let blockIndex: (String) -> Int? = { name in
            guard name.hasPrefix("blocks.") else { return nil }
            return Int(name.dropFirst(7).prefix { $0.isNumber })
        }
        let depth = (names.compactMap(blockIndex).max() ?? -1) + 1
        let stem = ["cls_token", "dist_token", "reg_token", "pos_embed", "patch_embed", "norm_pre", "stem"]
        let last = depth + 1
        func layer(_ name: String) -> Int {
            if stem.contains(where: { name.hasPrefix($0) }) { return 0 }
            if let i = blockIndex(name) { return i + 1 }
            if name.hasPrefix("norm.") { return depth }
            return last
        }
        var out: [String: Float] = [:]
        for n in names { out[n] = Float(Foundation.pow(decay, Double(last - layer(n)))) }
        return out
    }
}
