import ViTKitCore

extension VisionTransformer {
    /// The plain ViT inside a distilled one (vit-pytorch's `DistillableViT.to_vit()`): the same weights without
    /// `dist_token` and `head_dist`, and a position embedding over every token without the distillation token's
    /// row. It predicts with the class head alone, where the distilled model averages both heads. A model without a
    /// distillation token comes back as a copy.
    public func withoutDistillation() throws -> VisionTransformer {
        var c = config
        c.distilled = false
        c.name = c.name.replacingOccurrences(of: "_distilled", with: "")
        let plain = try VisionTransformer(config: c, pool: pool)
        let d = c.embedDim
        for e in plain.table.entries {
            let dst = plain.params.pointer + e.offset, src = params.pointer + table[e.name]!.offset
            if e.name == "pos_embed", !config.noEmbedClass, let at = config.distTokenIndex {
                dst.update(from: src, count: at * d)
                (dst + at * d).update(from: src + (at + 1) * d, count: e.count - at * d)
            } else {
                dst.update(from: src, count: e.count)
            }
        }
        return plain
    }
}
