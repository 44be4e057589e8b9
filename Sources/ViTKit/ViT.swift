/// A Vision Transformer with the shape of lucidrains' vit-pytorch `ViT(image_size, patch_size, num_classes, dim,
/// depth, heads, mlp_dim)`, built on timm's `VisionTransformer` (timm's parameter names, so its files load in timm).
///
/// ```swift
/// let vit = try ViT(imageSize: 32, patchSize: 4, numClasses: 10, dim: 192, depth: 6, heads: 3, mlpDim: 768)
/// let logits = try vit(images)          // images: Tensor [N, 3, 32, 32], normalised; logits: [N, 10]
/// try vit.save(to: "vit.safetensors")   // loads in timm with strict=True
/// ```
///
/// It comes initialised (timm's init unless `initialization` says otherwise, e.g. the paper's `.impulse(kernel: 3)`)
/// and runs on `ThreadPool.shared` unless given a pool.
public final class ViT {
    /// The underlying model: what `Trainer`, `TrainStep` and `Checkpoint` take.
    public let model: VisionTransformer

    /// - Parameters:
    ///   - imageSize: the height of the input pictures, and their width unless `imageWidth` is given, in pixels.
    ///   - imageWidth: the width of non-square pictures (vit-pytorch's `image_size=(H, W)`).
    ///   - patchSize: the side of a patch; `imageSize` and the width must be multiples of it.
    ///   - numClasses: the head's outputs.
    ///   - dim: the embedding width; a multiple of `heads`.
    ///   - depth: the number of transformer blocks.
    ///   - heads: attention heads per block.
    ///   - mlpDim: the MLP's hidden width (timm's `mlp_ratio` = mlpDim / dim).
    ///   - channels: input channels (3 for RGB).
    ///   - pool: `.cls` prepends a class token and reads it out (vit-pytorch's default); `.mean` averages the
    ///     patch tokens (the paper's model, with timm's `fc_norm`).
    ///   - positionEmbedding: `.learn` (vit-pytorch's) or the fixed 2D `.sincos` table (the paper's, which the
    ///     impulse init needs).
    ///   - initialization: how the weights start: timm's init, PyTorch's (`.skip`), or the paper's `.mimetic`
    ///     and `.impulse` modes.
    ///   - distillationToken: add a distillation token and head (vit-pytorch's `DistillableViT`, timm's
    ///     `VisionTransformerDistilled`) for a `DistillWrapper`; predictions average the two heads.
    ///   - seed: the init's random seed (the same seed gives the same weights).
    ///   - threads: the pool the model computes on.
    public init(imageSize: Int, imageWidth: Int? = nil, patchSize: Int, numClasses: Int, dim: Int, depth: Int, heads: Int, mlpDim: Int,
                channels: Int = 3, pool: Pool = .cls, positionEmbedding: PosEmbedKind = .learn,
                initialization: InitMode = .timm, distillationToken: Bool = false, seed: UInt64 = 0, threads: ThreadPool = .shared) throws {
        var c = ViTConfig(name: "vit", imgSize: imageSize, patchSize: patchSize, numClasses: numClasses, embedDim: dim,
                          depth: depth, numHeads: heads)
        guard dim > 0, mlpDim > 0 else { throw ViTKitError("dim and mlpDim must be positive, got \(dim) and \(mlpDim)") }
        c.inChans = channels
        if let imageWidth, imageWidth != imageSize { c.imgWidth = imageWidth }
        c.mlpRatio = Double(mlpDim) / Double(dim)
        guard c.mlpHidden == mlpDim else { throw ViTKitError("mlpDim \(mlpDim) is not a multiple of dim \(dim) that timm can express") }
        c.classToken = pool == .cls
        c.globalPool = pool == .cls ? .token : .avg
        c.posEmbed = positionEmbedding
        c.distilled = distillationToken
        model = try VisionTransformer(config: c, pool: threads)
        var rng = RNG(seed: seed)
        try model.initialize(initialization, options: InitOptions(), rng: &rng)
    }

    /// Wraps a model already built (and loaded or initialised).
    public init(_ model: VisionTransformer) { self.model = model }

    /// How the tokens become the head's input.
    public enum Pool: Sendable { case cls, mean }

    /// The logits [N, classes] of normalised images [N, C, H, W].
    public func callAsFunction(_ images: Tensor) throws -> Tensor {
        let c = model.config
        guard images.shape.count == 4, images.shape[1] == c.inChans, images.shape[2] == c.imgSize, images.shape[3] == c.width else {
            throw ViTKitError("images have shape \(images.shape); the model takes [N, \(c.inChans), \(c.imgSize), \(c.width)]")
        }
        let n = images.shape[0]
        return try Tensor(shape: [n, c.numClasses], values: try model.predict(images: images.values, count: n))
    }

    /// Reads a ViT from a safetensors file: one vitkit wrote (its config is in the metadata), or a timm
    /// state_dict together with the `config` it was made with.
    public static func load(_ path: String, config: ViTConfig? = nil, threads: ThreadPool = .shared) throws -> ViT {
        let m = try Checkpoint.model(from: path, pool: threads) { classes in
            guard var c = config else { throw ViTKitError("\(path) records no ViTKit config: pass the ViTConfig it was made with") }
            c.numClasses = classes
            return .vit(c)
        }
        guard let vit = m as? VisionTransformer else { throw ViTKitError("\(path) holds \(m.name), not a ViT") }
        return ViT(vit)
    }

    /// Writes the weights with timm's state_dict keys and the config in the metadata (`timm.create_model(…)
    /// .load_state_dict(…, strict=True)` reads them).
    public func save(to path: String) throws { try Checkpoint.save(model, to: path) }

    /// The number of parameters (timm's `sum(p.numel() for p in model.parameters())`).
    public var parameterCount: Int { model.parameterCount }
}

extension Trainer {
    /// A trainer for a `ViT`.
    public convenience init(model vit: ViT, options: TrainOptions) { self.init(model: vit.model, options: options) }
}

extension ImageDataset {
    /// An image folder's split (`root/train/<class>/<image>`, or for `train: false` the first of `val`,
    /// `validation`, `test`), for a model of `size` pixels, with timm's ViT normalisation (0.5, 0.5) unless told.
    public static func imageFolder(_ root: String, train: Bool, size: Int, mean: [Float] = [0.5, 0.5, 0.5],
                                   std: [Float] = [0.5, 0.5, 0.5]) throws -> ImageDataset {
        var o = ImageFolder.Options(size: size)
        o.mean = mean; o.std = std
        let classes = try ImageFolder.classNames(in: try ImageFolder.splitFolder(root: root, train: true))
        return try ImageFolder.load(root: root, train: train, classes: classes, options: o).dataset
    }

    /// A dataset from your own pixels: `images` holds `labels.count` pictures of `channels` × `size` × `size`
    /// bytes each (planes, as CIFAR stores them), `labels` are 0 ..< `classes`.
    public static func fromArrays(images: [UInt8], labels: [Int], channels: Int = 3, size: Int, classes: Int,
                                  mean: [Float] = [0.5, 0.5, 0.5], std: [Float] = [0.5, 0.5, 0.5],
                                  name: String = "arrays") throws -> ImageDataset {
        guard images.count == labels.count * channels * size * size else {
            throw ViTKitError("\(images.count) bytes are not \(labels.count) pictures of \(channels)×\(size)×\(size)")
        }
        if let bad = labels.first(where: { !(0..<classes).contains($0) }) {
            throw ViTKitError("label \(bad) is outside 0..<\(classes)")
        }
        return ImageDataset(name: name, images: images, labels: labels.map { Int32($0) }, channels: channels, size: size,
                            numClasses: classes, mean: mean, std: std)
    }
}
