import ViTKitCore
import ViTKitIO
import ViTKitImaging
import ViTKitNN

/// Architecture of a ConvMixer with timm's semantics and names (`dim`, `depth`, `kernel_size`, `patch_size`), plus
/// the reference's spatial-filter settings (`init`, `trainable`, `num_heads`).
public struct ConvMixerConfig: Sendable, Equatable, Codable {
    /// The registered name (timm's, with the CIFAR variants).
    public var name: String
    /// Input width and height, in pixels.
    public var imgSize: Int
    /// The stem's patch size and stride.
    public var patchSize: Int
    /// Input channels.
    public var inChans = 3
    /// Outputs of the head.
    public var numClasses: Int
    /// Channels (timm's `dim`).
    public var dim: Int
    /// Number of blocks.
    public var depth: Int
    /// Width of the depthwise filters.
    public var kernelSize: Int
    /// How the depthwise filters start (`softmax` also reparametrises them in the forward pass).
    public var spatialInit: SpatialInit = .random
    /// false: the depthwise convs' weights and biases are frozen (not updated, not decayed, still saved).
    public var trainableSpatial = true
    /// Distinct depthwise filters per block; 0 means one per channel. Fewer are shared: channel c uses filter
    /// `choice[c]`, drawn with replacement as the reference does.
    public var spatialHeads = 0
    /// Seeds the draw of which filter each channel uses when `spatialHeads` is below `dim`.
    public var choiceSeed: UInt64 = 0
    /// BatchNorm's epsilon.
    public var bnEps: Float = 1e-5
    /// BatchNorm's running-statistics momentum.
    public var bnMomentum: Float = 0.1

    /// A config with these sizes; the spatial init defaults to `random` (PyTorch's) with trainable filters.
    public init(name: String, imgSize: Int = 32, patchSize: Int, numClasses: Int = 10, dim: Int, depth: Int, kernelSize: Int,
                spatialInit: SpatialInit = .random, trainableSpatial: Bool = true) {
        self.name = name; self.imgSize = imgSize; self.patchSize = patchSize; self.numClasses = numClasses; self.dim = dim
        self.depth = depth; self.kernelSize = kernelSize; self.spatialInit = spatialInit; self.trainableSpatial = trainableSpatial
    }

    /// Pixels per side after the stem.
    public var gridSize: Int { imgSize / patchSize }
    /// Distinct depthwise filters per block.
    public var filterCount: Int { spatialHeads < 1 || spatialHeads > dim ? dim : spatialHeads }

    /// The reference's registered models, `convmixer_<dim>_<depth>_<k>_<train|random|impulse|box>` (patch 2 on
    /// 32×32), and `convmixer` (256/8, k 5, p 2, learned filters) to set up with options.
    public static let named: [String: ConvMixerConfig] = {
        var all: [String: ConvMixerConfig] = [
            "convmixer": ConvMixerConfig(name: "convmixer", patchSize: 2, dim: 256, depth: 8, kernelSize: 5),
        ]
        for (dim, depth, k) in [(256, 8, 3), (512, 6, 3), (512, 6, 5)] {
            let base = "convmixer_\(dim)_\(depth)_\(k)_"
            for (suffix, initMode, trainable) in [("train", SpatialInit.random, true), ("random", .random, false),
                                                  ("impulse", .box(1), false), ("box", .box(k * k), false)] {
                all[base + suffix] = ConvMixerConfig(name: base + suffix, patchSize: 2, dim: dim, depth: depth, kernelSize: k,
                                                     spatialInit: initMode, trainableSpatial: trainable)
            }
        }
        return all
    }()

    /// Looks up a named configuration.
    public static func named(_ name: String) throws -> ConvMixerConfig {
        guard let c = named[name] else {
            throw ViTKitError("unknown ConvMixer '\(name)': expected one of \(named.keys.sorted().joined(separator: ", "))")
        }
        return c
    }

    /// Checks that the numbers make a valid model.
    public func validate() throws {
        for (v, what) in [(imgSize, "img size"), (patchSize, "patch size"), (dim, "dim"), (depth, "depth"),
                          (kernelSize, "kernel size"), (numClasses, "num classes"), (inChans, "in chans")] where v < 1 {
            throw ViTKitError("\(what) must be at least 1, got \(v)")
        }
        if imgSize % patchSize != 0 { throw ViTKitError("img size \(imgSize) is not divisible by patch size \(patchSize)") }
        if kernelSize % 2 == 0 {
            throw ViTKitError("kernel size \(kernelSize) is even: padding 'same' is implemented for odd kernels (3, 5, 7, 9, …)")
        }
        if spatialHeads < 0 { throw ViTKitError("spatial heads must be 0 (one filter per channel) or more, got \(spatialHeads)") }
        try spatialInit.validate(kernel: kernelSize)
    }
}
