import ArgumentParser
import CStopSignals
import Foundation
import ViTKit

/// `vitkit train`: trains a ViT with the paper's recipe and reports test accuracy per epoch.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a Vision Transformer or a ConvMixer (defaults: the paper's small-dataset recipe).",
        discussion: """
        With no --data-dir it trains on a generated dataset, so it runs anywhere with no download.
        -c FILE (--config-file) reads options from a YAML file whose keys are option names (batch_size or
        batch-size; model for --config), such as the args.yaml a run writes; options on the command line win.
        Prints one line per epoch (epoch=… lr=… train_loss=… test_loss=… test_acc=… seconds=…), a live progress
        line on a terminal, and writes summary.csv, last.safetensors and model_best.safetensors (weights that timm
        loads) and train_state.safetensors (what --resume continues from) to --output.
        """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var data: DataOptions
    @OptionGroup var threadOptions: ThreadOptions
    @OptionGroup var initArguments: InitArguments
    @Option(help: "Epochs.") var epochs = 200
    @Option(name: [.customShort("b"), .long], help: "Batch size.") var batchSize = 512
    @Option(help: "Peak learning rate (default 1e-3, or scaled from --lr-base when that is given).") var lr: Double?
    @Option(help: ArgumentHelp("timm's --lr-base: when --lr is not given, the peak learning rate is this times (global batch / "
        + "--lr-base-size), square-rooted with --lr-base-scale sqrt (the default for AdamW); the global batch is "
        + "batch × processes × --grad-accum-steps.", valueName: "lr"))
    var lrBase: Double?
    @Option(help: "The batch size --lr-base is the rate for.") var lrBaseSize = 256
    @Option(help: "How --lr-base scales with the batch: linear or sqrt (empty: timm's choice, sqrt for AdamW).") var lrBaseScale = ""
    @Option(help: "Micro-batches per optimiser step: the gradients of this many batches are averaged (timm's --grad-accum-steps).")
    var gradAccumSteps = 1
    @Flag(help: "Under mpirun: BatchNorm statistics over the global batch, across processes (torch's SyncBatchNorm; ConvMixer).")
    var syncBn = false
    @Option(help: "Under mpirun, after each epoch: reduce (average) or broadcast (rank 0's) the BatchNorm running statistics, or none.")
    var distBn = "reduce"
    @Option(help: "Final learning rate of the cosine.") var minLr = 1e-6
    @Option(help: "Learning rate at the start of warmup.") var warmupLr = 1e-5
    @Option(help: "Warmup epochs.") var warmupEpochs = 10
    @Option(help: "Learning-rate schedule: timm's cosine, step, multistep, poly, constant, plateau; or jeonsworld/ViT-pytorch's per-update warmup-cosine, warmup-linear.")
    var sched = "cosine"
    @Option(help: "step: epochs between decays (timm's --decay-epochs).") var decayEpochs = 90.0
    @Option(parsing: .upToNextOption, help: "multistep: the epochs to decay at.") var decayMilestones: [Int] = [90, 180, 270]
    @Option(help: "step, multistep and plateau: the decay factor; poly: the power.") var decayRate = 0.1
    @Option(help: "plateau: evaluations without a better top-1 before the rate decays (timm counts epochs; evaluate every epoch to match).")
    var patienceEpochs = 10
    @Option(help: "Repeated augmentation (timm's --aug-repeats, DeiT's RepeatAugSampler): copies of each image per epoch, dealt to the processes; 0: off.")
    var augRepeats = 0.0
    @Option(help: "Layer-wise learning-rate decay (timm's --layer-decay): each layer's rate is lr · decay^(layers above it).")
    var layerDecay: Double?
    @Option(help: "cosine and poly: epochs at --min-lr after the schedule (added to --epochs, as timm).") var cooldownEpochs = 0
    @Flag(help: "Warm up before the schedule's --epochs instead of within them (added to the epochs, as timm).") var warmupPrefix = false
    @Flag(help: "Move the schedule every optimiser update instead of every epoch.") var schedOnUpdates = false
    @Option(help: "warmup-cosine and warmup-linear: warmup updates (jeonsworld's --warmup_steps).") var warmupSteps = 500
    @Option(help: "AdamW weight decay (on weights with ndim > 1 that are not biases, nor pos_embed, cls_token, reg_token, as timm).") var weightDecay = 0.01
    @Option(help: "AdamW epsilon.") var optEps = 1e-3
    @Option(help: "Optimiser, as timm's --opt: adamw, adam, sgd (Nesterov momentum, as timm), momentum, nesterov, lamb (timm's Lamb: trust ratio per tensor, gradients clipped at norm 1).") var opt = "adamw"
    @Option(help: "Momentum of the SGD optimisers.") var momentum = 0.9
    @Flag(help: "Accepted for timm's command lines: ViTKit trains in float32 on the CPU, so it changes nothing (a note says so).")
    var amp = false
    @Flag(help: "Accepted for timm's command lines: there is no GPU memory to pin (a note says so).") var pinMem = false
    @Flag(help: "Options not given take timm train.py's defaults instead of vitkit's (the first paper's small-data recipe), and a vit_* model is timm's stock one: a timm command means here what it means in timm.")
    var timmDefaults = false
    @Option(help: "The head's outputs (timm's --num-classes): checked against the data's classes, which the head follows.")
    var numClasses: Int?
    @Option(help: "Stochastic depth (timm's --drop-path): the rate of the last block, rising linearly from 0 at the first (ViT).")
    var dropPath = 0.0
    @Option(help: "Dropout on the features before the head (timm's --drop; ViT).") var drop = 0.0
    @Option(help: "Dropout after the position embedding (timm's pos_drop_rate; ViT).") var posDrop = 0.0
    @Option(help: "Dropout on the attention weights (timm's --attn-drop; ViT).") var attnDrop = 0.0
    @Option(help: "Dropout after the attention projection and in the MLP (timm's --proj-drop; ViT).") var projDrop = 0.0
    @Flag(help: "Keep an exponential moving average of the weights (timm's ModelEmaV3); it is evaluated each epoch and picks model_best.")
    var modelEma = false
    @Option(help: "Decay of the model EMA.") var modelEmaDecay = 0.9998
    @Flag(help: "Warm the EMA's decay up as 1 − (1 + step)^(−2/3).") var modelEmaWarmup = false
    @Option(parsing: .upToNextOption, help: "Adam's betas, two numbers.") var optBetas: [Double] = [0.9, 0.999]
    @Option(help: "Clip the global gradient norm to this (0: off).") var clipGrad = 3.0
    @Option(help: "Label smoothing.") var smoothing = 0.1
    @Option(help: "Horizontal flip probability.") var hflip = 0.5
    @Option(help: "RandAugment as a timm string (rand-m<magnitude>-n<ops>-mstd<noise>-p<prob>-inc<0|1>), or none.")
    var aa = "rand-m9-mstd0.5-inc1"
    @Option(parsing: .upToNextOption, help: "RandomResizedCrop area range, two numbers (1 1: no crop; timm's default is 0.08 1).")
    var scale: [Double] = [1, 1]
    @Option(parsing: .upToNextOption, help: "RandomResizedCrop aspect-ratio range, two numbers (timm's default is 0.75 1.3333).")
    var ratio: [Double] = [1, 1]
    @Option(help: "Interpolation of the crop and RandAugment's geometric ops: random (bilinear or bicubic), bilinear, bicubic.")
    var trainInterpolation = "random"
    @Option(parsing: .upToNextOption, help: "Colour jitter brightness/contrast/saturation, one or three numbers; only when --aa is none.")
    var colorJitter: [Double] = [0.4]
    @Option(name: [.customShort("j"), .long], help: "Background threads preparing batches (0: in the training thread).")
    var workers = 1
    @Option(help: "Random erasing probability per image (0: off).") var reprob = 0.0
    @Option(help: "Random erasing fill: pixel (per-pixel noise), rand (one colour per channel) or const (zeros).")
    var remode = RandomErasing.Mode.pixel
    @Option(help: "Random erasing: rectangles per erased image.") var recount = 1
    @Option(help: "Mixup alpha (0: off): the batch is mixed with itself reversed, λ ~ Beta(alpha, alpha).") var mixup = 0.0
    @Option(help: "Cutmix alpha (0: off).") var cutmix = 0.0
    @Option(help: "Probability of mixing a batch when mixup or cutmix is on.") var mixupProb = 1.0
    @Option(help: "Probability of cutmix instead of mixup when both are on.") var mixupSwitchProb = 0.5
    @Option(help: "Mixup mode, as timm: batch (one draw per batch), pair (one per mirrored pair), elem (one per image).") var mixupMode = "batch"
    @Option(help: "Random seed.") var seed: UInt64 = 42
    @Option(help: "Evaluate every N epochs (and after the last).") var evalEvery = 1
    @Option(help: "Output folder (summary.csv, checkpoints).") var output = "runs/train"
    @Option(help: ArgumentHelp("Continue the run saved in this folder (its train_state.safetensors) or file, from the epoch after "
        + "its last; with the same settings, it ends with the same weights as a run never stopped.", valueName: "dir"))
    var resume: String? = nil
    @Flag(help: "With --resume, start AdamW afresh instead of restoring its moments and step (timm's --no-resume-opt).")
    var noResumeOpt = false
    @Option(help: ArgumentHelp("Start from these weights after the init: a Google ViT .npz (as timm's _load_weights: position "
        + "embedding resampled to the grid, head kept at its init for another class count) or a .safetensors state_dict.",
        valueName: "file"))
    var pretrained: String? = nil
    @Option(name: [.customLong("distill-teacher"), .customLong("teacher-path")],
            help: ArgumentHelp("Distil from this teacher (DeiT): a ViTKit or timm ConvMixer or ViT checkpoint (.safetensors) taking the same "
                + "pictures and classes; it runs in eval mode on each training batch. The student gets a distillation token and head "
                + "(--distilled true).", valueName: "file"))
    var distillTeacher: String?
    @Option(help: "The teacher's named model, for a file that records no architecture (a timm state_dict); it takes the student's image size and channels.")
    var teacherModel: String?
    @Option(name: [.customLong("distill-type"), .customLong("distillation-type")],
            help: "DeiT's distillation: none, soft (KL to the teacher at temperature tau) or hard (cross-entropy to its top class). Default: soft with a teacher, else none.")
    var distillType: String?
    @Option(name: [.customLong("distill-alpha"), .customLong("distillation-alpha")], help: "Weight of the distillation loss: (1 − alpha)·base + alpha·distill.")
    var distillAlpha = 0.5
    @Option(name: [.customLong("distill-tau"), .customLong("distillation-tau")], help: "Temperature of the soft distillation loss.")
    var distillTau = 1.0
    @Option(name: [.customLong("distill-reduction"), .customLong("distillation-reduction")], help: "Soft loss averaging: numel (DeiT's: the KL sum over batch × classes) or batchmean (vit-pytorch's DistillWrapper: over the batch).")
    var distillReduction = "numel"

    /// The distillation the options ask for.
    var distillKind: DistillationLoss.Kind {
        DistillationLoss.Kind(rawValue: (distillType ?? (distillTeacher == nil ? "none" : "soft")).lowercased()) ?? .none
    }

    func validate() throws {
        func check(_ ok: Bool, _ msg: @autoclosure () -> String) throws { if !ok { throw ValidationError(msg()) } }
        try check(epochs >= 1, "--epochs must be at least 1, got \(epochs)")
        try check(batchSize >= 1, "--batch-size must be at least 1, got \(batchSize)")
        if let lr { try check(lr > 0 && lr.isFinite, "--lr must be a positive number, got \(lr)") }
        if let lrBase { try check(lrBase > 0 && lrBase.isFinite, "--lr-base must be a positive number, got \(lrBase)") }
        try check(lrBaseSize >= 1, "--lr-base-size must be at least 1, got \(lrBaseSize)")
        try check(["", "linear", "sqrt"].contains(lrBaseScale), "--lr-base-scale '\(lrBaseScale)': expected linear or sqrt")
        try check(LRSchedule.Kind(rawValue: sched) != nil,
                  "--sched '\(sched)': expected one of \(LRSchedule.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        try check(decayEpochs > 0 && cooldownEpochs >= 0 && warmupSteps >= 0 && decayRate >= 0,
                  "--decay-epochs must be positive, --cooldown-epochs, --warmup-steps and --decay-rate 0 or more")
        try check(gradAccumSteps >= 1, "--grad-accum-steps must be at least 1, got \(gradAccumSteps)")
        try check(["", "none", "reduce", "broadcast"].contains(distBn), "--dist-bn '\(distBn)': expected reduce, broadcast or none")
        try check(minLr >= 0 && warmupLr >= 0, "--min-lr and --warmup-lr must be 0 or more")
        try check(warmupEpochs >= 0, "--warmup-epochs must be 0 or more, got \(warmupEpochs)")
        try check(weightDecay >= 0, "--weight-decay must be 0 or more, got \(weightDecay)")
        try check(optEps > 0, "--opt-eps must be positive, got \(optEps)")
        try check(Optimizer.Algorithm(rawValue: opt.lowercased()) != nil, "--opt '\(opt)': expected adamw, adam, sgd, momentum, nesterov or lamb")
        try check(augRepeats == 0 || augRepeats >= 1, "--aug-repeats must be 0 (off) or at least 1, got \(augRepeats)")
        try check(patienceEpochs >= 0, "--patience-epochs must be 0 or more, got \(patienceEpochs)")
        try check(layerDecay.map { $0 > 0 && $0 <= 1 } ?? true, "--layer-decay must be in (0, 1], got \(layerDecay ?? 0)")
        try check(optBetas.count == 2 && optBetas.allSatisfy { $0 >= 0 && $0 < 1 }, "--opt-betas takes two numbers in [0, 1), got \(optBetas)")
        try check(drop >= 0 && drop < 1 && posDrop >= 0 && posDrop < 1, "--drop and --pos-drop must be in [0, 1)")
        try check(attnDrop >= 0 && attnDrop < 1 && projDrop >= 0 && projDrop < 1, "--attn-drop and --proj-drop must be in [0, 1)")
        try check(dropPath >= 0 && dropPath < 1, "--drop-path must be in [0, 1), got \(dropPath)")
        try check(modelEmaDecay >= 0 && modelEmaDecay < 1, "--model-ema-decay must be in [0, 1), got \(modelEmaDecay)")
        try check(momentum >= 0 && momentum < 1, "--momentum must be in [0, 1), got \(momentum)")
        try check(clipGrad >= 0, "--clip-grad must be 0 (off) or positive, got \(clipGrad)")
        try check(smoothing >= 0 && smoothing < 1, "--smoothing must be in [0, 1), got \(smoothing)")
        try check(hflip >= 0 && hflip <= 1, "--hflip must be a probability in [0, 1], got \(hflip)")
        try check((0...1).contains(reprob), "--reprob must be a probability in [0, 1], got \(reprob)")
        try check(recount >= 1, "--recount must be at least 1, got \(recount)")
        try check(mixup >= 0 && cutmix >= 0, "--mixup and --cutmix must be 0 (off) or positive, got \(mixup), \(cutmix)")
        try check((0...1).contains(mixupProb) && (0...1).contains(mixupSwitchProb),
                  "--mixup-prob and --mixup-switch-prob must be probabilities in [0, 1]")
        try check(Mixup.Mode(rawValue: mixupMode) != nil, "--mixup-mode '\(mixupMode)': expected batch, pair or elem")
        try check((mixup == 0 && cutmix == 0) || batchSize % 2 == 0,
                  "mixup and cutmix pair image i with image B−1−i: the batch size must be even, got \(batchSize)")
        try check(scale.count == 2 && scale[0] > 0 && scale[0] <= scale[1] && scale[1] <= 1,
                  "--scale takes two numbers 0 < min ≤ max ≤ 1, got \(scale)")
        try check(ratio.count == 2 && ratio[0] > 0 && ratio[0] <= ratio[1], "--ratio takes two numbers 0 < min ≤ max, got \(ratio)")
        try check(["random", "bilinear", "bicubic"].contains(trainInterpolation),
                  "--train-interpolation '\(trainInterpolation)': expected random, bilinear or bicubic")
        try check(colorJitter.count != 4, "--color-jitter: hue (a fourth value) is not supported")
        try check((colorJitter.count == 1 || colorJitter.count == 3) && colorJitter.allSatisfy { $0 >= 0 },
                  "--color-jitter takes one or three numbers ≥ 0, got \(colorJitter)")
        try check(workers >= 0, "--workers must be 0 or more, got \(workers)")
        do { _ = try options.trainTransform(mean: [0.5, 0.5, 0.5]) } catch let e as ViTKitError { throw ValidationError(e.description) }
        try check(evalEvery >= 1, "--eval-every must be at least 1, got \(evalEvery)")
        try check(DistillationLoss.Kind(rawValue: (distillType ?? "none").lowercased()) != nil, "--distill-type '\(distillType ?? "")': expected none, soft or hard")
        try check(DistillationLoss.Reduction(rawValue: distillReduction) != nil, "--distill-reduction '\(distillReduction)': expected numel or batchmean")
        try check(distillKind == .none || distillTeacher != nil, "--distill-type \(distillKind.rawValue) needs a teacher: --distill-teacher FILE")
        try check((0...1).contains(distillAlpha), "--distill-alpha must be in [0, 1], got \(distillAlpha)")
        try check(distillTau > 0 && distillTau.isFinite, "--distill-tau must be positive, got \(distillTau)")
        try check(distillKind == .none || model.distilled != false,
                  "--distill-type \(distillKind.rawValue) trains the student's distillation head: it excludes --distilled false")
        try check(distillKind == .none || !model.isConvMixer, "distillation trains a ViT student's distillation token; \(model.config) is a ConvMixer")
        try check(teacherModel == nil || distillTeacher != nil, "--teacher-model names the architecture of --distill-teacher's file: give that too")
        try check(resume != nil || !noResumeOpt, "--no-resume-opt needs --resume")
        try check(resume == nil || pretrained == nil, "--pretrained and --resume exclude each other: a resumed run has its weights")
        do { _ = try model.architecture(numClasses: 10) } catch let e as ViTKitError { throw ValidationError(e.description) }
        try check(!model.isConvMixer || initArguments.initText == "timm",
                  "--init \(initArguments.initText) is a ViT init; a ConvMixer's depthwise filters start as --spatial-init says")
        try check(!model.isConvMixer || !(pretrained ?? "").lowercased().hasSuffix(".npz"),
                  "--pretrained .npz holds Google ViT weights; a ConvMixer takes a .safetensors state_dict")
    }

    var options: TrainOptions {
        var o = TrainOptions()
        o.epochs = epochs; o.batchSize = batchSize; o.lr = lr ?? 1e-3; o.minLR = minLr; o.warmupLR = warmupLr
        o.warmupEpochs = warmupEpochs; o.weightDecay = weightDecay; o.optEps = optEps; o.clipGrad = clipGrad
        o.erasing = RandomErasing(prob: reprob, mode: remode, count: recount)
        o.mixup = Mixup(mixupAlpha: mixup, cutmixAlpha: cutmix, prob: mixupProb, switchProb: mixupSwitchProb)
        o.mixup.mode = Mixup.Mode(rawValue: mixupMode) ?? .batch
        o.smoothing = smoothing; o.hflip = hflip; o.seed = seed; o.evalEvery = evalEvery; o.outputDir = output
        o.autoAugment = ["none", ""].contains(aa.lowercased()) ? nil : aa
        if scale.count == 2 { o.scale = (scale[0], scale[1]) }
        if ratio.count == 2 { o.ratio = (ratio[0], ratio[1]) }
        o.trainInterpolation = ResampleFilter(rawValue: trainInterpolation)
        let cj = colorJitter.count == 3 ? colorJitter : [Double](repeating: colorJitter.first ?? 0, count: 3)
        o.colorJitter = (cj[0], cj[1], cj[2]); o.workers = workers
        o.lrBase = lr == nil ? lrBase : nil; o.lrBaseSize = lrBaseSize; o.lrBaseScale = lrBaseScale
        o.sched = LRSchedule.Kind(rawValue: sched) ?? .cosine; o.decayEpochs = decayEpochs; o.decayMilestones = decayMilestones
        o.decayRate = decayRate; o.patienceEpochs = patienceEpochs; o.augRepeats = augRepeats; o.layerDecay = layerDecay; o.cooldownEpochs = cooldownEpochs; o.warmupPrefix = warmupPrefix
        o.schedOnUpdates = schedOnUpdates; o.warmupSteps = warmupSteps
        o.opt = Optimizer.Algorithm(rawValue: opt.lowercased()) ?? .adamw; o.momentum = momentum
        o.dropPath = dropPath; o.drop = drop; o.posDrop = posDrop; o.attnDrop = attnDrop; o.projDrop = projDrop; o.modelEMA = modelEma; o.modelEMADecay = modelEmaDecay; o.modelEMAWarmup = modelEmaWarmup
        if optBetas.count == 2 { o.beta1 = optBetas[0]; o.beta2 = optBetas[1] }
        o.gradAccumSteps = gradAccumSteps; o.syncBN = syncBn; o.distBN = DistributedBatchNorm(rawValue: distBn) ?? .none
        o.distillation = DistillationLoss(kind: distillKind, alpha: distillAlpha, tau: distillTau,
                                          reduction: DistillationLoss.Reduction(rawValue: distillReduction) ?? .numel)
        return o
    }

    func run() throws {
        // under mpirun: one rank of the job; only rank 0 prints (every rank reports its own errors)
        let world: Communicator
        do { world = try Communicator.world() } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8)); throw ExitCode.failure
        }
        if world.rank != 0 { _ = freopen("/dev/null", "w", stdout) }
        do { try train(world: world) } catch let stop as TrainingInterrupted {
            // every process stopped after the same update (the trainer's vote), so the job ends together
            if world.rank == 0 { FileHandle.standardError.write(Data("\(stop)\n".utf8)) }
            world.finalize()
            let signal = vitkit_stop_signal()
            throw ExitCode(128 + (signal == 0 ? SIGTERM : signal))  // 0: another process was asked
        } catch {
            // a rank that stops alone would leave the others waiting in a collective: MPI_Abort ends them all
            if world.usesMPI { fflush(stderr); world.abort(code: 1) }
            throw error
        }
        world.finalize()
    }

    /// Trains; returns the number of training images.
    @discardableResult
    func train(world: Communicator) throws -> Int {
        var trainImages = 0
        try runOrExit(rank: world.size > 1 ? world.rank : nil) {
            let shape = try model.architecture(numClasses: 1)
            let (loaded, test) = try data.load(seed: seed, imgSize: shape.imgSize, width: shape.inputWidth, channels: shape.inChans,
                                               threads: threadOptions.threads)
            let train = loaded!
            trainImages = train.count
            if let numClasses, numClasses != train.numClasses {
                throw ViTKitError("--num-classes \(numClasses), but the training data \(train.name) has \(train.numClasses) classes (the head follows the data)")
            }
            let config = try model.architecture(numClasses: train.numClasses, seed: seed, distilled: distillKind == .none ? nil : true)
            try train.checkFits(config, role: "training")  // before the init, which can take a while
            // the weights a run starts from must fit the data too: say so before any work, as for the options
            if let from = resume.map(Trainer.trainingStatePath(for:)) ?? pretrained.flatMap({ $0.lowercased().hasSuffix(".npz") ? nil : $0 }),
               let recorded = try Checkpoint.architecture(at: from) {
                // a resumed run is the recorded model; pretrained weights may come from another grid (resampled)
                try train.checkFits(recorded, role: "training", size: resume != nil)
                try test.checkFits(recorded, role: "evaluation", size: resume != nil)
            }
            let pool = ThreadPool(threads: threadOptions.threads)
            let teacher = try distillTeacher.map { try Self.loadTeacher($0, model: teacherModel, student: config, pool: pool) }
            let net = try config.makeModel(pool: pool)
            let initMode = try initArguments.mode()
            let trainer = Trainer(model: net, options: options, communicator: world)
            trainer.configuration = runConfiguration(model: config, processes: world.size)
            if let teacher, let path = distillTeacher {
                try trainer.distill(from: teacher)
                print("# distilling from \(path): \(teacher.name), \(teacher.parameterCount) parameters, in eval mode; "
                    + "distill-type \(distillKind.rawValue) alpha \(distillAlpha)" + (distillKind == .soft ? " tau \(distillTau) (\(distillReduction))" : ""))
            }
            if let resume {
                let path = Trainer.trainingStatePath(for: resume)
                let changed = try trainer.resume(from: path, optimizerState: !noResumeOpt)
                print("# resumed from \(path) " + (trainer.position.map { "at epoch \(trainer.startEpoch + 1) after update \($0.step) of \($0.steps)" }
                                                       ?? "after epoch \(trainer.startEpoch)")
                    + (noResumeOpt ? " (weights only: AdamW starts afresh)" : ""))
                for k in changed.keys.sorted() { print("# resume: \(k) was \(changed[k]!.0), now \(changed[k]!.1)") }
            } else {
                var rng = RNG(seed: seed)
                let impulse = try net.initialize(initMode, options: initArguments.options, rng: &rng)
                for r in impulse {
                    print("# impulse init: offsets \(r.offsets) loss \(r.initialLoss) -> \(r.finalLoss) target mass "
                        + "\(r.targetMass) argmax on target \(r.argmaxOnTarget) seconds \(String(format: "%.1f", r.seconds))")
                }
                if let pretrained {
                    if pretrained.lowercased().hasSuffix(".npz"), let vit = net as? VisionTransformer {
                        let report = try GoogleViTWeights.load(vit, from: pretrained)
                        print("# pretrained \(pretrained): \(report.loaded.count) tensors loaded"
                            + report.kept.keys.sorted().map { "; \($0) kept at its init (\(report.kept[$0]!))" }.joined())
                    } else {
                        let note = try Checkpoint.loadPretrained(net, from: pretrained)
                        print("# pretrained \(pretrained): all \(net.stateDictEntries.count) tensors loaded" + (note.map { "; \($0)" } ?? ""))
                    }
                }
            }
            trainer.pretrainedConfig = PretrainedConfig(trainedOn: train, interpolation: data.interpolation ?? .bicubic,
                                                        cropPct: data.cropPct ?? 1)
            let tty = isatty(fileno(stderr)) != 0
            if tty { trainer.progress = { FileHandle.standardError.write(Data(("\r\u{1B}[2K" + $0).utf8)) } }
            trainer.log = { line in
                if tty { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
                print(line); fflush(stdout)
            }
            let initText: String
            if case .convMixer(let c) = config { initText = "spatial:\(c.spatialInit)\(c.trainableSpatial ? "" : ",frozen")" } else { initText = "\(initMode)" }
            print("# vitkit config=\(config.name) init=\(initText) dataset=\(data.datasetName) "
                + "train=\(train.count) test=\(test.count) params=\(net.parameterCount) threads=\(pool.threadCount) "
                + "batch=\(batchSize) epochs=\(epochs) output=\(output)")
            if amp { print("# --amp: ViTKit trains in float32 on the CPU; the flag changes nothing") }
            if pinMem { print("# --pin-mem: there is no GPU memory to pin; the flag changes nothing") }
            fflush(stdout)
            // from here on a Ctrl-C (or SIGTERM) finishes the step, saves the position in the epoch and exits 130
            // (143); a second one exits at once
            vitkit_catch_stop_signals()
            trainer.stopRequest = {
                switch vitkit_stop_signal() { case 0: nil; case SIGINT: "SIGINT"; case SIGTERM: "SIGTERM"; default: "a signal" }
            }
            if let at = ProcessInfo.processInfo.environment["VITKIT_TEST_SIGNAL_AT"] { trainer.observers.append(try SignalAtStep(at)) }
            try trainer.fit(train: train, test: test)
        }
        return trainImages
    }

    /// The teacher in `path`, built from its recorded architecture or (a timm file) `model`, the
    /// `--teacher-model` name, at the student's image size and channels; any failure is an error naming the file.
    static func loadTeacher(_ path: String, model teacherModel: String?, student: ModelConfig,
                            pool: ThreadPool) throws -> any ImageClassifier {
        do {
            return try Checkpoint.model(from: path, pool: pool) { classes in
                guard let teacherModel else {
                    throw ViTKitError("it records no ViTKit architecture (a timm state_dict?): name its model with --teacher-model")
                }
                var o = ModelOverrides()
                o.imgSize = student.imgSize; o.imgWidth = student.inputWidth; o.inChans = student.inChans
                return try ModelConfig.named(teacherModel, numClasses: classes, overrides: o)
            }
        } catch {
            throw ViTKitError("--distill-teacher \(path): \(error)")
        }
    }

    /// Every setting of the run (the model's options, the recipe, the data, the init, threads and folders), so
    /// that `vitkit train -c args.yaml` and the seed reproduce it.
    func runConfiguration(model architecture: ModelConfig, processes: Int = 1) -> RunConfiguration {
        var other: [String: String] = [
            "dataset": data.datasetName, "data_dir": data.dataDir ?? "", "per_class": "\(data.perClass)",
            "synthetic_train": "\(data.syntheticTrain)", "synthetic_test": "\(data.syntheticTest)",
            "crop_pct": "\(data.cropPct ?? 1)", "interpolation": (data.interpolation ?? .bicubic).rawValue,
            "skip_bad_images": "\(data.skipBadImages)", "mean": "\(data.mean)", "std": "\(data.std)",
            "coarse_labels": "\(data.coarseLabels)", "threads": "\(threadOptions.threads)", "world_size": "\(processes)",
            "output": output, "resume": resume ?? "", "no_resume_opt": "\(noResumeOpt)", "pretrained": pretrained ?? "",
            "distill_teacher": distillTeacher ?? "", "teacher_model": teacherModel ?? "",
        ]
        other.merge(initArguments.metadata) { $1 }
        return RunConfiguration(model: architecture, options: options, other: other)
    }
}

extension RandomErasing.Mode: ExpressibleByArgument {}

/// Test hook (`VITKIT_TEST_SIGNAL_AT=EPOCH:UPDATE[:COUNT]`, 1-based): raises SIGINT COUNT times (default 1) at the end
/// of that update, so a test interrupts a run at a known place with a real signal through the real handler.
final class SignalAtStep: TrainingObserver {
    let epoch: Int, update: Int, count: Int

    init(_ spec: String) throws {
        let v = spec.split(separator: ":").compactMap { Int($0) }
        guard v.count == 2 || v.count == 3 else { throw ViTKitError("VITKIT_TEST_SIGNAL_AT '\(spec)': expected EPOCH:UPDATE[:COUNT]") }
        epoch = v[0]; update = v[1]; count = v.count == 3 ? v[2] : 1
    }

    func stepDidEnd(_ trainer: Trainer, epoch: Int, step: Int, of steps: Int, meanLoss: Double, imagesPerSecond: Double) throws {
        if epoch + 1 == self.epoch && step + 1 == update { for _ in 0..<count { raise(SIGINT) } }
    }
}
