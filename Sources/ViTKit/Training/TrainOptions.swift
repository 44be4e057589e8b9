/// The training recipe. Defaults are the paper's small-dataset recipe (spec §5.1): AdamW lr 1e-3, weight decay
/// 0.01, eps 1e-3, batch 512, 200 epochs of per-epoch cosine to 1e-6 after 10 warmup epochs from 1e-5,
/// gradient-norm clipping at 3, label smoothing 0.1, horizontal flips with probability 0.5, seed 42.
public struct TrainOptions: Sendable, Equatable {
    public var epochs = 200
    public var batchSize = 512
    public var lr = 1e-3
    public var minLR = 1e-6
    public var warmupLR = 1e-5
    public var warmupEpochs = 10
    public var weightDecay = 0.01
    public var optEps = 1e-3
    public var beta1 = 0.9
    public var beta2 = 0.999
    /// Global gradient-norm clip; 0 turns clipping off.
    public var clipGrad = 3.0
    public var smoothing = 0.1
    /// Probability of a horizontal flip per training image.
    public var hflip = 0.5
    /// Mixup/cutmix (off by default, as in the paper's small-dataset recipe); its smoothing is `smoothing`.
    public var mixup = Mixup()
    /// Random erasing on each normalised training image, before mixup (off by default).
    public var erasing = RandomErasing(prob: 0)
    public var seed: UInt64 = 42
    /// Evaluate every N epochs, and after the last one.
    public var evalEvery = 1
    /// Folder for summary.csv and checkpoints; nil writes nothing.
    public var outputDir: String? = nil

    public init() {}

    public var scheduler: CosineLRScheduler {
        CosineLRScheduler(baseLR: lr, minLR: minLR, warmupLR: warmupLR, warmupEpochs: warmupEpochs, epochs: epochs)
    }
}

/// What one epoch measured.
public struct EpochStats: Sendable, Equatable {
    public var epoch: Int
    public var lr: Double
    public var trainLoss: Double
    public var testLoss: Double?
    public var testTop1: Double?
    public var testTop5: Double?
    public var seconds: Double
}
