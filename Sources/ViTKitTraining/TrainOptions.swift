import ViTKitCore
import ViTKitData
import ViTKitIO
import ViTKitImaging
import ViTKitModels
import ViTKitNN
import ViTKitPictures

/// The training recipe. Defaults are the paper's small-dataset recipe (osiriszjq/structured_init's README command and its `train.py` defaults): AdamW lr 1e-3, weight decay
/// 0.01, eps 1e-3, batch 512, 200 epochs of per-epoch cosine to 1e-6 after 10 warmup epochs from 1e-5,
/// gradient-norm clipping at 3, label smoothing 0.1, horizontal flips with probability 0.5, RandAugment
/// `rand-m9-mstd0.5-inc1`, crop scale and ratio (1, 1) (no crop), seed 42.
public struct TrainOptions: Sendable {
    /// Epochs to train.
    public var epochs = 200
    /// Images per step (full batches only).
    public var batchSize = 512
    /// Peak learning rate, after warmup.
    public var lr = 1e-3
    /// Learning rate the cosine ends at.
    public var minLR = 1e-6
    /// Learning rate of the first warmup epoch.
    public var warmupLR = 1e-5
    /// Epochs of linear warmup.
    public var warmupEpochs = 10
    /// AdamW's decoupled weight decay.
    public var weightDecay = 0.01
    /// AdamW's epsilon.
    public var optEps = 1e-3
    /// AdamW's β₁.
    public var beta1 = 0.9
    /// AdamW's β₂.
    public var beta2 = 0.999
    /// Global gradient-norm clip; 0 turns clipping off.
    public var clipGrad = 3.0
    /// Label smoothing of the cross-entropy.
    public var smoothing = 0.1
    /// Probability of a horizontal flip per training image.
    public var hflip = 0.5
    /// timm's `--aa` RandAugment string; nil turns it off (and colour jitter on).
    public var autoAugment: String? = "rand-m9-mstd0.5-inc1"
    /// RandomResizedCrop area fraction and aspect-ratio ranges; (1, 1) and (1, 1) mean no crop.
    public var scale = (1.0, 1.0)
    /// RandomResizedCrop's aspect-ratio range.
    public var ratio = (1.0, 1.0)
    /// Interpolation of the crop's resize and of RandAugment's geometric ops; nil = bilinear or bicubic at random.
    public var trainInterpolation: ResampleFilter? = nil
    /// Colour-jitter strength (brightness, contrast, saturation), used only when RandAugment is off.
    public var colorJitter = (0.4, 0.4, 0.4)
    /// Background threads preparing batches (0: in the training thread).
    public var workers = 1
    /// Mixup/cutmix (off by default, as in the paper's small-dataset recipe); its smoothing is `smoothing`.
    public var mixup = Mixup()
    /// Random erasing on each normalised training image, before mixup (off by default).
    public var erasing = RandomErasing(prob: 0)
    /// The run's seed: the init, shuffles and augmentation draws all follow from it.
    public var seed: UInt64 = 42
    /// Evaluate every N epochs, and after the last one.
    public var evalEvery = 1
    /// Folder for summary.csv and checkpoints; nil writes nothing.
    public var outputDir: String? = nil

    /// Micro-batches per optimiser step (timm's `--grad-accum-steps`): each step averages the gradients of this
    /// many batches of `batchSize`.
    public var gradAccumSteps = 1
    /// timm's `--lr-base`: when set, the peak learning rate is this scaled by the global batch
    /// (batchSize × processes × gradAccumSteps) over `lrBaseSize`, instead of `lr`.
    public var lrBase: Double? = nil
    /// timm's `--lr-base-size`: the batch `lrBase` is the rate for.
    public var lrBaseSize = 256
    /// timm's `--lr-base-scale`: `linear`, `sqrt`, or empty for timm's choice by optimiser (sqrt for Adam, AdamW and
    /// Lamb, linear for SGD).
    public var lrBaseScale = ""
    /// timm's `--sync-bn`: BatchNorm statistics over the whole global batch, across processes (ConvMixer).
    public var syncBN = false
    /// timm's `--dist-bn`: how the processes' BatchNorm running statistics are made equal after each epoch.
    public var distBN = DistributedBatchNorm.reduce

    /// timm's `--opt`: adamw (the paper's), adam, sgd (Nesterov, as timm), momentum, nesterov.
    public var opt = Optimizer.Algorithm.adamw
    /// timm's `--momentum`, for the SGD family.
    public var momentum = 0.9
    /// timm's `--drop-path`: stochastic depth, rising linearly from 0 at the first block to this at the last (ViT).
    public var dropPath = 0.0
    /// timm's `--drop`: dropout on the features before the head (ViT).
    public var drop = 0.0
    /// timm's `pos_drop_rate`: dropout after the position embedding (ViT).
    public var posDrop = 0.0
    /// timm's `--attn-drop` (`attn_drop_rate`): dropout on the attention weights (ViT).
    public var attnDrop = 0.0
    /// timm's `proj_drop_rate`: dropout after the attention projection and in the MLP, after its activation and
    /// after fc2 (ViT).
    public var projDrop = 0.0
    /// timm's `--model-ema`: keep an exponential moving average of the weights, evaluated each epoch.
    public var modelEMA = false
    /// timm's `--model-ema-decay`.
    public var modelEMADecay = 0.9998
    /// timm's `--model-ema-warmup`.
    public var modelEMAWarmup = false
    /// The learning-rate schedule's form (timm's `--sched`; jeonsworld's per-step `warmup-cosine`/`warmup-linear`).
    public var sched = LRSchedule.Kind.cosine
    /// timm's `--decay-epochs`: `step`'s interval.
    public var decayEpochs = 90.0
    /// timm's `--decay-milestones`: `multistep`'s epochs.
    public var decayMilestones = [90, 180, 270]
    /// timm's `--decay-rate`: step and multistep's factor, poly's power.
    public var decayRate = 0.1
    /// timm's `--patience-epochs`: `plateau`'s evaluations without improvement before it decays the rate.
    public var patienceEpochs = 10
    /// timm's `--aug-repeats`: copies of each image per epoch (`RepeatAugSampler`); 0: off.
    public var augRepeats = 0.0
    /// timm's `--layer-decay`: each layer's rate is lr · layerDecay^(layers after it) (nil: off).
    public var layerDecay: Double? = nil
    /// timm's `--cooldown-epochs`: epochs at `minLR` after a cosine or poly schedule.
    public var cooldownEpochs = 0
    /// timm's `--warmup-prefix`: the warmup comes before the schedule's `epochs` instead of within them.
    public var warmupPrefix = false
    /// timm's `--sched-on-updates`: the schedule moves every optimiser update instead of every epoch.
    public var schedOnUpdates = false
    /// Warmup updates of jeonsworld's per-step schedules (its `--warmup_steps`).
    public var warmupSteps = 500
    /// Distillation from a teacher (DeiT's `--distillation-type`, `-alpha`, `-tau`); `.none` by default. A kind other
    /// than `.none` needs the teacher given to `Trainer.distill(from:)`.
    public var distillation = DistillationLoss()

    /// The paper's recipe.
    public init() {}

    /// The peak learning rate for a global batch of `globalBatch` images per step: `lr`, or with `lrBase` set,
    /// timm's scaling `lrBase · (globalBatch / lrBaseSize)` (square-rooted for `sqrt`).
    public func peakLR(globalBatch: Int) -> Double {
        guard let base = lrBase else { return lr }
        let ratio = Double(globalBatch) / Double(lrBaseSize)
        // timm's choice: sqrt for the Adam family and Lamb, linear for the others
        let scaling = lrBaseScale.isEmpty ? (opt.isAdam ? "sqrt" : "linear") : lrBaseScale
        return base * (scaling == "sqrt" ? ratio.squareRoot() : ratio)
    }

    /// The per-image transform for a dataset with this `mean` (RandAugment fills with it).
    public func trainTransform(mean: [Float]) throws -> TrainTransform {
        TrainTransform(
            crop: RandomResizedCrop(scale: scale, ratio: ratio, interpolation: trainInterpolation),
            hflip: hflip,
            randAugment: try autoAugment.map { try RandAugment(config: $0, mean: mean, interpolation: trainInterpolation) },
            colorJitter: ColorJitter(brightness: colorJitter.0, contrast: colorJitter.1, saturation: colorJitter.2))
    }

    /// The recipe by timm's option names, values as `args.yaml` writes them (part of `RunConfiguration`).
    public var arguments: [String: String] {
        func list(_ values: Double...) -> String { "[" + values.map { "\($0)" }.joined(separator: ", ") + "]" }
        return ["epochs": "\(epochs)", "batch_size": "\(batchSize)", "lr": lrBase == nil ? "\(lr)" : "", "min_lr": "\(minLR)",
                "lr_base": lrBase.map { "\($0)" } ?? "", "lr_base_size": "\(lrBaseSize)", "lr_base_scale": lrBaseScale,
                "grad_accum_steps": "\(gradAccumSteps)", "sync_bn": "\(syncBN)", "dist_bn": distBN.rawValue,
                "warmup_lr": "\(warmupLR)", "warmup_epochs": "\(warmupEpochs)", "weight_decay": "\(weightDecay)",
                "opt_eps": "\(optEps)", "opt": opt.rawValue, "momentum": "\(momentum)",
                "drop_path": "\(dropPath)", "drop": "\(drop)", "pos_drop": "\(posDrop)", "attn_drop": "\(attnDrop)", "proj_drop": "\(projDrop)", "model_ema": "\(modelEMA)", "model_ema_decay": "\(modelEMADecay)", "model_ema_warmup": "\(modelEMAWarmup)", "opt_betas": list(beta1, beta2), "clip_grad": "\(clipGrad)", "smoothing": "\(smoothing)",
                "hflip": "\(hflip)", "aa": autoAugment ?? "none", "scale": list(scale.0, scale.1), "ratio": list(ratio.0, ratio.1),
                "train_interpolation": trainInterpolation?.rawValue ?? "random",
                "color_jitter": list(colorJitter.0, colorJitter.1, colorJitter.2),
                "mixup": "\(mixup.mixupAlpha)", "mixup_mode": mixup.mode.rawValue, "cutmix": "\(mixup.cutmixAlpha)", "mixup_prob": "\(mixup.prob)",
                "mixup_switch_prob": "\(mixup.switchProb)", "sched": sched.rawValue, "decay_epochs": "\(decayEpochs)",
                "decay_milestones": "[" + decayMilestones.map(String.init).joined(separator: ", ") + "]",
                "decay_rate": "\(decayRate)", "patience_epochs": "\(patienceEpochs)", "aug_repeats": "\(augRepeats)", "layer_decay": layerDecay.map { "\($0)" } ?? "null", "cooldown_epochs": "\(cooldownEpochs)", "warmup_prefix": "\(warmupPrefix)",
                "sched_on_updates": "\(schedOnUpdates)", "distillation_type": distillation.kind.rawValue,
                "distillation_alpha": "\(distillation.alpha)", "distillation_tau": "\(distillation.tau)",
                "distillation_reduction": distillation.reduction.rawValue, "warmup_steps": "\(warmupSteps)", "reprob": "\(erasing.prob)", "remode": erasing.mode.rawValue,
                "recount": "\(erasing.count)", "seed": "\(seed)", "eval_every": "\(evalEvery)", "workers": "\(workers)"]
    }

    /// The learning-rate schedule these options give.
    public var scheduler: LRSchedule { scheduler(globalBatch: batchSize * gradAccumSteps, updatesPerEpoch: 1) }

    /// The learning-rate schedule for a global batch of `globalBatch` images per step (`peakLR(globalBatch:)`) and
    /// `updatesPerEpoch` optimiser updates per epoch.
    public func scheduler(globalBatch: Int, updatesPerEpoch: Int) -> LRSchedule {
        LRSchedule(options: self, baseLR: peakLR(globalBatch: globalBatch), updatesPerEpoch: updatesPerEpoch)
    }
}

/// What one epoch measured.
public struct EpochStats: Codable, Sendable, Equatable {
    /// The epoch, 1-based.
    public var epoch: Int
    /// The learning rate it trained with.
    public var lr: Double
    /// Mean training loss over its steps.
    public var trainLoss: Double
    /// Evaluation loss, when it was evaluated.
    public var testLoss: Double?
    /// Evaluation top-1, in percent.
    public var testTop1: Double?
    /// Evaluation top-5, in percent.
    public var testTop5: Double?
    /// With model EMA: the trained model's own evaluation (the test columns are then the EMA's, as timm's).
    public var modelTestLoss: Double? = nil, modelTestTop1: Double? = nil
    /// The training part of the epoch.
    public var seconds: Double
    /// The evaluation after it (nil when the epoch was not evaluated).
    public var evalSeconds: Double?
}

extension EpochStats {
    /// The numbers `curves.png` draws.
    public var curvePoint: CurvePlot.Point { .init(epoch: epoch, trainLoss: trainLoss, testLoss: testLoss, testTop1: testTop1) }
}
