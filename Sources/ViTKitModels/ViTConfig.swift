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
    /// Class and register tokens.
    public var numPrefixTokens: Int { (classToken ? 1 : 0) + regTokens }
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
    ]

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
