import ViTKitCore

/// Changes to a named model, timm's `create_model(name, **kwargs)` overrides: each nil leaves the named config's
/// value. Options of the other family are refused by name (a ViT has no kernel size, a ConvMixer no heads).
public struct ModelOverrides: Sendable, Equatable {
    /// Input size, patch size, width and depth (both families).
    public var imgSize: Int?, patchSize: Int?, embedDim: Int?, depth: Int?
    /// ViT: the input width when it differs from `imgSize` (timm's `img_size=(H, W)`).
    public var imgWidth: Int?
    /// Input channels (timm's `in_chans`).
    public var inChans: Int?
    // ViT
    /// ViT only: heads, MLP ratio, class token, register tokens, pooling.
    public var numHeads: Int?, mlpRatio: Double?, classToken: Bool?, regTokens: Int?, globalPool: GlobalPool?
    /// ViT only: position embedding, whether it leaves out the prefix tokens, the head's norm.
    public var posEmbed: PosEmbedKind?, noEmbedClass: Bool?, fcNorm: Bool?
    /// ViT only: a distillation token and head (timm's `VisionTransformerDistilled`).
    public var distilled: Bool?
    // ConvMixer
    /// ConvMixer only: filter width, spatial init, frozen filters, distinct filters.
    public var kernelSize: Int?, spatialInit: SpatialInit?, freezeSpatial: Bool?, spatialHeads: Int?

    /// No overrides.
    public init() {}

    /// The option names (`--num-heads`, …) of the overrides set for the family that does not have them.
    var vitOnly: [String] {
        [("--num-heads", numHeads != nil), ("--mlp-ratio", mlpRatio != nil), ("--class-token", classToken != nil),
         ("--reg-tokens", regTokens != nil), ("--global-pool", globalPool != nil), ("--pos-embed", posEmbed != nil),
         ("--no-embed-class", noEmbedClass != nil), ("--fc-norm", fcNorm != nil), ("--distilled", distilled != nil),
         ("--img-size H W (non-square)", imgWidth != nil && imgWidth != imgSize)].filter(\.1).map(\.0)
    }
    var convMixerOnly: [String] {
        [("--kernel-size", kernelSize != nil), ("--spatial-init", spatialInit != nil), ("--freeze-spatial", freezeSpatial != nil),
         ("--spatial-heads", spatialHeads != nil)].filter(\.1).map(\.0)
    }
}

extension ModelConfig {
    /// Every registered name: the ViT configs and the reference's ConvMixers (plus `convmixer`, the generic one).
    public static var registeredNames: [String] { ViTConfig.named.keys.sorted() + ConvMixerConfig.named.keys.sorted() }

    /// Whether `name` is a ConvMixer's (they all start `convmixer`).
    public static func isConvMixer(_ name: String) -> Bool { name.hasPrefix("convmixer") }

    /// The registered model `name` with `overrides` applied, for `numClasses` outputs (`seed` picks a ConvMixer's
    /// shared filters), validated; unknown names and mismatched options are errors that say which.
    public static func named(_ name: String, numClasses: Int, overrides o: ModelOverrides = ModelOverrides(),
                             seed: UInt64 = 0) throws -> ModelConfig {
        if isConvMixer(name) {
            if let first = o.vitOnly.first { throw ViTKitError("\(first) is a ViT option; model \(name) is a ConvMixer") }
            var c = try ConvMixerConfig.named(name)
            c.numClasses = numClasses; c.choiceSeed = seed
            if let v = o.imgSize { c.imgSize = v }
            if let v = o.inChans { c.inChans = v }
            if let v = o.patchSize { c.patchSize = v }
            if let v = o.embedDim { c.dim = v }
            if let v = o.depth { c.depth = v }
            if let v = o.kernelSize { c.kernelSize = v }
            if let v = o.spatialInit { c.spatialInit = v }
            if let v = o.freezeSpatial { c.trainableSpatial = !v }
            if let v = o.spatialHeads { c.spatialHeads = v }
            try c.validate()
            return .convMixer(c)
        }
        if let first = o.convMixerOnly.first { throw ViTKitError("\(first) is a ConvMixer option; model \(name) is a ViT") }
        var c = try ViTConfig.named(name)
        c.numClasses = numClasses
        if let v = o.imgSize { c.imgSize = v }
        if let v = o.imgWidth, v != c.imgSize { c.imgWidth = v }
        if let v = o.inChans { c.inChans = v }
        if let v = o.patchSize { c.patchSize = v }
        if let v = o.embedDim { c.embedDim = v }
        if let v = o.depth { c.depth = v }
        if let v = o.numHeads { c.numHeads = v }
        if let v = o.mlpRatio { c.mlpRatio = v }
        if let v = o.classToken { c.classToken = v }
        if let v = o.regTokens { c.regTokens = v }
        if let v = o.globalPool { c.globalPool = v }
        if let v = o.posEmbed { c.posEmbed = v }
        if let v = o.noEmbedClass { c.noEmbedClass = v }
        if let v = o.fcNorm { c.fcNorm = v }
        if let v = o.distilled { c.distilled = v }
        try c.validate()
        return .vit(c)
    }
}

extension ModelConfig {
    /// The model's options by timm's names (`model`, `img_size`, `embed_dim`, …), values as `args.yaml` writes
    /// them: what `vitkit train -c args.yaml` rebuilds this model from.
    public var arguments: [String: String] {
        switch self {
        case .convMixer(let c):
            return ["model": c.name, "img_size": "\(c.imgSize)", "patch_size": "\(c.patchSize)", "in_chans": "\(c.inChans)",
                    "num_classes": "\(c.numClasses)", "embed_dim": "\(c.dim)", "depth": "\(c.depth)",
                    "kernel_size": "\(c.kernelSize)", "spatial_init": "\(c.spatialInit)", "freeze_spatial": "\(!c.trainableSpatial)",
                    "spatial_heads": "\(c.spatialHeads)"]
        case .vit(let c):
            var a = ["model": c.name, "img_size": c.isSquare ? "\(c.imgSize)" : "[\(c.imgSize), \(c.width)]", "patch_size": "\(c.patchSize)", "in_chans": "\(c.inChans)",
                     "num_classes": "\(c.numClasses)", "embed_dim": "\(c.embedDim)", "depth": "\(c.depth)",
                     "num_heads": "\(c.numHeads)", "mlp_ratio": "\(c.mlpRatio)", "qkv_bias": "\(c.qkvBias)",
                     "class_token": "\(c.classToken)", "reg_tokens": "\(c.regTokens)", "global_pool": c.globalPool.rawValue,
                     "no_embed_class": "\(c.noEmbedClass)", "pos_embed": c.posEmbed.rawValue, "norm_eps": "\(c.normEps)"]
            if let fc = c.fcNorm { a["fc_norm"] = "\(fc)" }
            if c.distilled { a["distilled"] = "true" }
            return a
        }
    }
}
