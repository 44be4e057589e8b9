import ViTKitCore
import ViTKitIO
import ViTKitImaging
import ViTKitNN

/// How tokens are pooled into one vector before the head (timm's `global_pool`).
public enum GlobalPool: String, Sendable, CaseIterable, Codable {
    /// Mean of the patch tokens (prefix tokens excluded).
    case avg
    /// The class token (token 0).
    case token
}

/// The position embedding (timm's learned `pos_embed`, or the paper fork's fixed `sin_pe`).
public enum PosEmbedKind: String, Sendable, CaseIterable, Codable {
    /// A trainable parameter, trunc-normal(.02) at init.
    case learn
    /// Fixed 2D sin-cos (timm's `build_sincos2d_pos_embed`, temperature 10000), not a parameter.
    case sincos
}

/// Architecture of a VisionTransformer with timm's semantics and argument names.
public struct ViTConfig: Sendable, Equatable, Codable {
    /// The registered name (`small`, `vit_tiny_patch2_32`, …).
    public var name: String
    /// Input height, and width unless `imgWidth` says otherwise, in pixels.
    public var imgSize: Int
    /// Input width when it differs from the height (timm's `img_size=(H, W)`); nil: square.
    public var imgWidth: Int? = nil
    /// Patch width and height.
    public var patchSize: Int
    /// Input channels.
    public var inChans = 3
    /// Outputs of the head.
    public var numClasses: Int
    /// Token width.
    public var embedDim: Int
    /// Number of transformer blocks.
    public var depth: Int
    /// Attention heads per block.
    public var numHeads: Int
    /// MLP hidden width as a multiple of `embedDim`.
    public var mlpRatio: Double = 4
    /// Whether qkv has a bias.
    public var qkvBias = true
    /// Whether a class token leads the sequence.
    public var classToken = false
    /// Register tokens after the class token.
    public var regTokens = 0
    /// A distillation token and its own head, as timm's `VisionTransformerDistilled` (DeiT): tokens
    /// [cls, dist, patches] with the class token, [dist, patches] without one (the paper's average-pooled model:
    /// a prefix token left out of the average). The head reads the pooled features and `head_dist` the
    /// distillation token (through `norm`, or `fc_norm` with average pooling); evaluation averages the two.
    public var distilled = false
    /// What the head reads: the class token or the mean of the patch tokens.
    public var globalPool = GlobalPool.avg
    /// Position embedding skips the prefix (class/register) tokens: added before they are concatenated.
    public var noEmbedClass = true
    /// LayerNorm after pooling instead of before it; nil means timm's default (true exactly for avg pooling).
    public var fcNorm: Bool? = nil
    /// The position embedding: learned or fixed sin-cos.
    public var posEmbed = PosEmbedKind.sincos
    /// LayerNorm's epsilon.
    public var normEps: Float = 1e-6

    /// A config with these sizes and timm's defaults for the rest.
    public init(name: String, imgSize: Int, patchSize: Int, numClasses: Int = 10, embedDim: Int, depth: Int,
                numHeads: Int) {
        self.name = name; self.imgSize = imgSize; self.patchSize = patchSize; self.numClasses = numClasses
        self.embedDim = embedDim; self.depth = depth; self.numHeads = numHeads
    }

    /// Input height, in pixels.
    public var imgHeight: Int { imgSize }
    /// Input width, in pixels.
    public var width: Int { imgWidth ?? imgSize }
    /// Whether the input (and so the patch grid) is square.
    public var isSquare: Bool { width == imgSize }
    /// Patches per column (grid rows).
    public var gridHeight: Int { imgSize / patchSize }
    /// Patches per row (grid columns).
    public var gridWidth: Int { width / patchSize }
    /// Patches per side of a square grid (the grid's height otherwise; what needs a square grid checks `isSquare`).
    public var gridSize: Int { gridHeight }
    /// Patches per image.
    public var numPatches: Int { gridHeight * gridWidth }
    /// Class, distillation and register tokens.
    public var numPrefixTokens: Int { (classToken ? 1 : 0) + (distilled ? 1 : 0) + regTokens }
    /// The distillation token's place in the sequence (right after the class token), when the model has one.
    public var distTokenIndex: Int? { distilled ? (classToken ? 1 : 0) : nil }
    /// Tokens per image: prefix and patches.
    public var numTokens: Int { numPatches + numPrefixTokens }
    /// The MLP's hidden width.
    public var mlpHidden: Int { Int(Double(embedDim) * mlpRatio) }
    /// Whether the head's norm sits after the pooling (timm's `fc_norm`, on by default with average pooling).
    public var useFcNorm: Bool { fcNorm ?? (globalPool == .avg) }
    /// Rows of the position embedding: timm's `embed_len`.
    public var posEmbedLen: Int { noEmbedClass ? numPatches : numTokens }

    /// The named configurations. All use the paper's small-dataset kwargs: fixed sin-cos position embedding,
    /// no class token, average pooling with fc_norm (osiriszjq/structured_init `timm/models/vision_transformer.py` L1969-1975 with the README's kwargs).
    public static let named: [String: ViTConfig] = [
        "vit_tiny_patch2_32": ViTConfig(name: "vit_tiny_patch2_32", imgSize: 32, patchSize: 2, embedDim: 192,
                                        depth: 12, numHeads: 3),
        "vit_tiny_patch16_224": ViTConfig(name: "vit_tiny_patch16_224", imgSize: 224, patchSize: 16,
                                          numClasses: 1000, embedDim: 192, depth: 12, numHeads: 3),
        "vit_small_patch16_224": ViTConfig(name: "vit_small_patch16_224", imgSize: 224, patchSize: 16,
                                           numClasses: 1000, embedDim: 384, depth: 12, numHeads: 6),
        "vit_base_patch16_224": ViTConfig(name: "vit_base_patch16_224", imgSize: 224, patchSize: 16,
                                          numClasses: 1000, embedDim: 768, depth: 12, numHeads: 12),
        "small": ViTConfig(name: "small", imgSize: 32, patchSize: 4, embedDim: 192, depth: 6, numHeads: 3),
        "deit_tiny_patch16_224": .deit("deit_tiny_patch16_224", embedDim: 192, numHeads: 3, distilled: false),
        "deit_small_patch16_224": .deit("deit_small_patch16_224", embedDim: 384, numHeads: 6, distilled: false),
        "deit_base_patch16_224": .deit("deit_base_patch16_224", embedDim: 768, numHeads: 12, distilled: false),
        "deit_tiny_distilled_patch16_224": .deit("deit_tiny_distilled_patch16_224", embedDim: 192, numHeads: 3, distilled: true),
        "deit_small_distilled_patch16_224": .deit("deit_small_distilled_patch16_224", embedDim: 384, numHeads: 6, distilled: true),
        "deit_base_distilled_patch16_224": .deit("deit_base_distilled_patch16_224", embedDim: 768, numHeads: 12, distilled: true),
    ]

    /// timm's DeiT (`timm/models/deit.py`): 224 pixels, patch 16, depth 12, class token read by the head, learned
    /// position embedding over every token, `norm` before pooling, 1000 classes.
    static func deit(_ name: String, embedDim: Int, numHeads: Int, distilled: Bool) -> ViTConfig {
        var c = ViTConfig(name: name, imgSize: 224, patchSize: 16, numClasses: 1000, embedDim: embedDim, depth: 12, numHeads: numHeads)
        c.classToken = true; c.globalPool = .token; c.noEmbedClass = false; c.posEmbed = .learn; c.distilled = distilled
        return c
    }

    /// Looks up a named configuration.
    public static func named(_ name: String) throws -> ViTConfig {
        guard let c = named[name] else {
            throw ViTKitError("unknown config '\(name)': expected one of \(named.keys.sorted().joined(separator: ", "))")
        }
        return c
    }

    /// Checks that the numbers make a valid model.
    public func validate() throws {
        func positive(_ v: Int, _ what: String) throws {
            if v < 1 { throw ViTKitError("\(what) must be at least 1, got \(v)") }
        }
        try positive(imgSize, "img size"); try positive(patchSize, "patch size"); try positive(embedDim, "embed dim")
        try positive(depth, "depth"); try positive(numHeads, "num heads"); try positive(numClasses, "num classes")
        try positive(inChans, "in chans")
        if imgSize % patchSize != 0 {
            throw ViTKitError("img size \(imgSize) is not divisible by patch size \(patchSize)")
        }
        if let w = imgWidth {
            try positive(w, "img width")
            if w % patchSize != 0 { throw ViTKitError("img width \(w) is not divisible by patch size \(patchSize)") }
        }
        if embedDim % numHeads != 0 {
            throw ViTKitError("embed dim \(embedDim) is not divisible by num heads \(numHeads)")
        }
        if regTokens < 0 { throw ViTKitError("reg tokens must be 0 or more, got \(regTokens)") }
        if distilled && regTokens > 0 {
            throw ViTKitError("a distilled ViT (timm's VisionTransformerDistilled) has no register tokens, got \(regTokens)")
        }
        if mlpRatio <= 0 || mlpHidden < 1 { throw ViTKitError("mlp ratio must be positive, got \(mlpRatio)") }
        if globalPool == .token && !classToken {
            throw ViTKitError("global pool 'token' needs a class token (use --class-token or --global-pool avg)")
        }
        if posEmbed == .sincos && !noEmbedClass && numPrefixTokens > 0 {
            throw ViTKitError("the sin-cos position embedding covers patch tokens only: it needs no_embed_class "
                + "when there are class or register tokens")
        }
        if posEmbed == .sincos && embedDim % 4 != 0 {
            throw ViTKitError("the sin-cos position embedding needs embed dim divisible by 4, got \(embedDim)")
        }
    }
}

extension ViTConfig {
    /// Reads a config as `Codable` would, with each setting a checkpoint may predate (written before it existed)
    /// taking its default.
    public init(from decoder: any Decoder) throws {
        let k = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try k.decode(String.self, forKey: .name), imgSize: try k.decode(Int.self, forKey: .imgSize),
                  patchSize: try k.decode(Int.self, forKey: .patchSize), numClasses: try k.decode(Int.self, forKey: .numClasses),
                  embedDim: try k.decode(Int.self, forKey: .embedDim), depth: try k.decode(Int.self, forKey: .depth),
                  numHeads: try k.decode(Int.self, forKey: .numHeads))
        func read<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            if let v = try k.decodeIfPresent(T.self, forKey: key) { value = v }
        }
        imgWidth = try k.decodeIfPresent(Int.self, forKey: .imgWidth)
        fcNorm = try k.decodeIfPresent(Bool.self, forKey: .fcNorm)
        try read(.inChans, &inChans); try read(.mlpRatio, &mlpRatio); try read(.qkvBias, &qkvBias)
        try read(.classToken, &classToken); try read(.regTokens, &regTokens); try read(.distilled, &distilled)
        try read(.globalPool, &globalPool); try read(.noEmbedClass, &noEmbedClass); try read(.posEmbed, &posEmbed)
        try read(.normEps, &normEps)
    }
}
