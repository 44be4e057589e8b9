import Foundation
import ViTKitCore
import ViTKitData
import ViTKitDistributed
import ViTKitIO
import ViTKitImaging
import ViTKitModels
import ViTKitNN
import ViTKitPictures

/// The training loop: per epoch a seeded shuffle, full batches only (drop_last) prepared ahead by the
/// `PrefetchLoader` (crop, flip, RandAugment or colour jitter), random erasing, mixup/cutmix, then a `TrainStep`
/// (forward, loss, backward, gradient hook, clipping, AdamW) per batch; after each epoch the evaluation, and the
/// observers: the log line and progress, and with an output folder summary.csv, curves.png and the checkpoints.
public final class Trainer {
    /// The model trained.
    public let model: any ImageClassifier
    /// The recipe.
    public let options: TrainOptions
    /// AdamW, over the model's parameters.
    public let optimizer: Optimizer
    /// The step each batch takes; its `gradientHook` is where a data-parallel run reduces gradients.
    public let step: TrainStep
    /// Receives one plain line per epoch; the CLI prints them.
    public var log: (String) -> Void = { print($0) }
    /// Receives the in-place progress line during an epoch (only set on a terminal).
    public var progress: ((String) -> Void)?
    /// Observers called after the built-in ones (progress and log, then, with an output folder, summary.csv,
    /// curves.png and the checkpoints).
    public var observers: [TrainingObserver] = []
    /// Every epoch's numbers so far, a resumed run's earlier ones included.
    public private(set) var history: [EpochStats] = []
    /// The run's settings: written as `args.yaml` in the output folder when `fit` starts, recorded in every
    /// checkpoint and in the training state. By default the model's and the options'; a caller adds its own
    /// (the data, the init) with `RunConfiguration(model:options:other:)`.
    public var configuration: RunConfiguration
    /// How the model's input is made, recorded in every checkpoint (and the training state) for evaluation and
    /// prediction; nil records the training data's size, normalisation and class names with timm's eval defaults.
    public var pretrainedConfig: PretrainedConfig?
    /// What this `fit` records in every checkpoint: the configuration and the pretrained config.
    public private(set) var runMetadata: [String: String] = [:]
    /// Per-step training losses, in order (what the determinism test compares).
    public private(set) var stepLosses: [Float] = []
    /// Epochs already done (set by `resume`): `fit` continues with the next one.
    public private(set) var startEpoch = 0
    /// Best evaluation top-1 so far (what `model_best` holds).
    public private(set) var bestTop1: Double?
    /// The model EMA (`options.modelEMA`), made when `fit` or `resume` first needs it.
    public private(set) var ema: ModelEMA?
    /// Epochs the run trains: the schedule's count (`LRSchedule.totalEpochs`, cooldown and warmup prefix included).
    public private(set) var totalEpochs: Int

    /// Asked after every optimiser update and epoch: a reason (the CLI: "SIGINT" or "SIGTERM") ends `fit` there,
    /// the training state saved with the position inside the epoch (`EpochPosition`), and `fit` throws
    /// `TrainingInterrupted`. With several processes they agree, so all stop after the same update.
    public var stopRequest: () -> String? = { nil }
    /// Where the unfinished epoch `startEpoch` stands: set by `resume` from a state saved inside an epoch, and when a
    /// stop request ends `fit`; nil at an epoch's end.
    public private(set) var position: EpochPosition?
    /// What `--resume` continues from: epochs done, AdamW's step, the history and `position`.
    public var trainingState: TrainingState {
        TrainingState(epoch: startEpoch, optimizerStep: optimizer.step, bestTop1: bestTop1, history: history,
                      settings: configuration.arguments, position: position)
    }

    /// The processes training together (timm's DDP semantics, `DataParallel`); one by default.
    public let parallel: DataParallel
    /// Whether this process prints and writes the run's files (rank 0).
    public var isMain: Bool { parallel.communicator.rank == 0 }
    /// Images per optimiser step over all processes: batchSize × processes × gradAccumSteps.
    public var globalBatch: Int { options.batchSize * parallel.communicator.size * options.gradAccumSteps }

    /// A trainer for `model` with these options (the model keeps its current weights), on the processes of
    /// `communicator`: each trains on its share of every global batch, and the gradients are averaged.
    public init(model: any ImageClassifier, options: TrainOptions, communicator: Communicator = .single) {
        self.model = model
        self.options = options
        configuration = RunConfiguration(model: model.architecture, options: options)
        optimizer = Optimizer(table: model.table, algorithm: options.opt, beta1: Float(options.beta1), beta2: Float(options.beta2),
                              eps: Float(options.optEps), weightDecay: Float(options.weightDecay), momentum: Float(options.momentum),
                              lrScale: options.layerDecay.map { LayerDecay.scales(names: model.table.entries.map(\.name), decay: $0) } ?? [:])
        step = TrainStep(model: model, optimizer: optimizer, clipGrad: Float(options.clipGrad), smoothing: Float(options.smoothing),
                         accumulationSteps: max(1, options.gradAccumSteps))
        parallel = DataParallel(communicator: communicator)
        if communicator.size > 1 { step.reducer = parallel }
        totalEpochs = options.scheduler.totalEpochs
    }

    /// Distils from `teacher` with the options' `distillation` loss (DeiT's recipe): checks that the student and
    /// teacher fit each other (`Distiller`), then every step runs the teacher on the student's batch.
    public func distill(from teacher: any ImageClassifier) throws {
        step.distiller = try Distiller(student: model, teacher: teacher, loss: options.distillation)
    }

    /// `last.safetensors` in the output folder, or nil without one.
    public var lastCheckpointPath: String? { options.outputDir.map { ($0 as NSString).appendingPathComponent("last.safetensors") } }
    /// The file `--resume` reads: weights, optimizer moments and training state, replaced in one step per epoch.
    public var trainingStatePath: String? { options.outputDir.map { Self.trainingStatePath(in: $0) } }
    /// The training-state file in folder `dir`.
    public static func trainingStatePath(in dir: String) -> String { (dir as NSString).appendingPathComponent("train_state.safetensors") }
    /// What `--resume X` reads: X's `train_state.safetensors` when X is a folder, else X itself.
    public static func trainingStatePath(for resume: String) -> String {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: resume, isDirectory: &isDir) && isDir.boolValue ? trainingStatePath(in: resume) : resume
    }

    /// Continues the run saved in `path` (a `train_state.safetensors`): its weights, its history and epoch count,
    /// and, unless `optimizerState` is false (timm's `--no-resume-opt`), AdamW's moments and step. Returns the
    /// settings that differ between that run's configuration and this one (`RunConfiguration.changes(since:)`).
    @discardableResult
    public func resume(from path: String, optimizerState: Bool = true) throws -> [String: (String, String)] {
        let state = try Checkpoint.loadTrainingState(model, optimizer: optimizerState ? optimizer : nil, from: path)
        startEpoch = state.epoch; history = state.history; bestTop1 = state.bestTop1; position = state.position
        if options.modelEMA {
            let average = try ModelEMA(copying: model, decay: options.modelEMADecay, warmup: options.modelEMAWarmup)
            try Checkpoint.loadEMA(average.model, from: path)  // a state saved without one starts from the weights
            ema = average
        }
        return configuration.changes(since: RunConfiguration(arguments: state.settings))
    }

    /// Trains on `train`, evaluating on `test` when given, from `startEpoch` to the last epoch, or only up to epoch
    /// `stopAfter` (as if interrupted there). Throws when the loss stops being finite.
    @discardableResult
    public func fit(train: ImageDataset, test: ImageDataset?, stopAfter: Int? = nil) throws -> [EpochStats] {
        let o = options, world = parallel.communicator, k = max(1, o.gradAccumSteps)
        try train.checkFits(model.architecture, role: "training")
        try test?.checkFits(model.architecture, role: "evaluation")
        let repeatAug = o.augRepeats > 0 ? RepeatAugSampler(repeats: o.augRepeats, count: train.count, world: world.size) : nil
        let steps = repeatAug.map { $0.selectedPerRank / (o.batchSize * k) } ?? train.count / globalBatch
        if steps == 0 {
            let taken = repeatAug.map { "the \($0.selectedPerRank * world.size) images an epoch takes from \(train.count) with --aug-repeats \(o.augRepeats)" }
                ?? "the \(train.count) training images"
            throw ViTKitError("the global batch of \(globalBatch) images (batch \(o.batchSize) × \(world.size) processes × "
                + "\(k) accumulation steps) is larger than \(taken) (drop_last leaves no batch)")
        }
        if let p = position, p.steps != steps || p.step > steps {
            throw ViTKitError("the training state was saved after update \(p.step) of \(p.steps) in epoch \(startEpoch + 1), but this "
                + "run makes \(steps) updates an epoch: resume with the data, batch size, processes and accumulation steps it had")
        }
        if o.distillation.kind != .none && step.distiller == nil {
            throw ViTKitError("distillation \(o.distillation.kind.rawValue) needs a teacher: give one to Trainer.distill(from:) (vitkit: --distill-teacher FILE)")
        }
        if o.syncBN && world.size > 1 { model.synchronizeBatchNorm(parallel.batchNormSync) }
        defer { model.synchronizeBatchNorm(nil) }
        try parallel.start(model: model, optimizer: optimizer, configuration: configuration, train: train, test: test)
        if o.modelEMA {
            if ema == nil { ema = try ModelEMA(copying: model, decay: o.modelEMADecay, warmup: o.modelEMAWarmup) }
            for b in [ema!.model.params, ema!.model.state] { parallel.communicator.broadcast(b) }
        }
        try checkMemory(batch: o.batchSize)
        model.reserve(batch: o.batchSize)
        model.setDropPath(rate: o.dropPath, capacity: o.batchSize)
        model.setDropout(head: o.drop, pos: o.posDrop, capacity: o.batchSize)
        model.setInnerDropout(attn: o.attnDrop, proj: o.projDrop, capacity: o.batchSize)
        defer {
            model.setDropPath(rate: nil, capacity: 0); model.setDropout(head: 0, pos: 0, capacity: 0)
            model.setInnerDropout(attn: 0, proj: 0, capacity: 0)
        }
        let loader = PrefetchLoader(dataset: train, batchSize: o.batchSize, transform: try o.trainTransform(mean: train.mean),
                                    seed: o.seed, workers: o.workers)
        defer { loader.stop() }
        // rank r's micro-batch j of step s: images s·G + (j·N + r)·b ..< +b of the epoch's order, so the global
        // batch is the one a single process with batch G would take, image for image
        let batchStarts = (0..<(steps * k)).map { i in (i / k) * globalBatch + ((i % k) * world.size + world.rank) * o.batchSize }
        var mixup = o.mixup
        mixup.smoothing = o.smoothing
        let targets = AlignedBuffer(count: mixup.active ? o.batchSize * train.numClasses : 0)
        // each image's mixup draw, and (elem mode) the batch's originals
        let mixDraws = UnsafeMutablePointer<Mixup.Draw>.allocate(capacity: o.batchSize)
        mixDraws.initialize(repeating: Mixup.Draw(lam: 1, box: nil), count: o.batchSize)
        defer { mixDraws.deallocate() }
        let mixOriginals = AlignedBuffer(count: mixup.active && mixup.mode == .elem ? o.batchSize * train.imageBytes : 0)
        // the processes' stop votes, summed (allocated here: the step allocates nothing)
        let vote = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        defer { vote.deallocate() }
        func agreedStop() -> String? {
            let reason = stopRequest()
            guard world.size > 1 else { return reason }
            vote.pointee = reason == nil ? 0 : 1
            world.allReduceSum(vote, count: 1)
            return reason ?? (vote.pointee > 0 ? "another process's stop request" : nil)
        }
        var watchers: [TrainingObserver] = []
        if isMain {
            watchers.append(ProgressObserver(log: log, show: progress))
            if let dir = o.outputDir {
                try FileSystem.createFolder(dir)
                DurableFile.removeStale(in: dir)
                try configuration.writeYAML(inFolder: dir)
                watchers += [SummaryCSV(folder: dir), CurvesPNG(folder: dir), CheckpointWriter(folder: dir)] as [TrainingObserver]
            }
            watchers += observers
        }
        stepLosses.reserveCapacity(stepLosses.count + o.epochs * steps)
        runMetadata = try configuration.metadata().merging((pretrainedConfig ?? PretrainedConfig(trainedOn: train)).metadata()) { $1 }
        for w in watchers { try w.fitWillStart(self) }
        let schedule = o.scheduler(globalBatch: globalBatch, updatesPerEpoch: steps), epochs = schedule.totalEpochs
        totalEpochs = epochs
        let resumedAt = position, resumedEpoch = startEpoch  // startEpoch moves on with each epoch
        let savedState = isMain && o.outputDir != nil ? trainingStatePath : nil  // where a stop leaves the position
        for epoch in startEpoch..<max(startEpoch, min(epochs, stopAfter ?? epochs)) {
            // per epoch, or per update with --sched-on-updates (the epoch's first update's rate is the one logged)
            let metrics = history.map(\.testTop1)
            func rate(_ s: Int) -> Double { schedule.onUpdates ? schedule.lr(epoch * steps + s) : schedule.lr(epoch, metrics: metrics) }
            let lr = rate(0)
            var order = Array(0..<train.count)
            var shuffleRng = RNG.stream(seed: o.seed, 1, UInt64(epoch))
            order.shuffle(using: &shuffleRng)
            if let repeatAug { order = repeatAug.order(permutation: order, batch: o.batchSize, accumulation: k).order }
            // mixup draws per process, as timm's (rank 0 draws what a single process does)
            var mixRng = RNG.stream(seed: o.seed &+ UInt64(world.rank), 3, UInt64(epoch))
            // a resumed epoch goes on after its last update, every draw keyed as in an unbroken run
            let resumed = epoch == resumedEpoch ? resumedAt : nil, first = resumed?.step ?? 0
            if mixup.active {
                for _ in 0..<(first * k) { mixup.draw(into: mixDraws, batch: o.batchSize, size: train.size, width: train.width, rng: &mixRng) }
            }
            let t0 = Date()
            var lossSum = resumed?.lossSum ?? 0
            if first < steps { loader.start(epoch: epoch, order: order, batchStarts: Array(batchStarts[(first * k)...])) }
            for s in first..<steps {
                for micro in 0..<k {
                    let batch: (images: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Int32>)
                    do { batch = try loader.next() } catch {
                        throw ViTKitError("training stopped at epoch \(epoch + 1), step \(s + 1): \(error)")
                    }
                    defer { loader.release() }
                    if o.erasing.active {
                        let per = train.imageBytes, first = batchStarts[s * k + micro]
                        for b in 0..<o.batchSize {
                            // each image's own stream, keyed by its position in the epoch (as the loader's)
                            var eraseRng = RNG.stream(seed: o.seed, 4, UInt64(epoch) << 32 | UInt64(first + b))
                            o.erasing.apply(batch.images + b * per, channels: train.channels, height: train.size,
                                            width: train.width, rng: &eraseRng)
                        }
                    }
                    model.drawRegularisationMasks(seed: o.seed, epoch: epoch, firstPosition: batchStarts[s * k + micro], batch: o.batchSize)
                    let stepLoss: Float?
                    if mixup.active {
                        mixup.draw(into: mixDraws, batch: o.batchSize, size: train.size, width: train.width, rng: &mixRng)
                        Mixup.mix(images: batch.images, batch: o.batchSize, channels: train.channels, size: train.size,
                                  width: train.width, mode: mixup.mode, draws: mixDraws, original: mixOriginals.pointer)
                        mixup.targets(labels: batch.labels, batch: o.batchSize, classes: train.numClasses, draws: mixDraws,
                                      into: targets.pointer)
                        stepLoss = step.accumulate(images: batch.images, targets: targets.pointer, batch: o.batchSize, lr: Float(rate(s)))
                    } else {
                        stepLoss = step.accumulate(images: batch.images, labels: batch.labels, batch: o.batchSize, lr: Float(rate(s)))
                    }
                    guard let loss = stepLoss else { continue }
                    // the NaN guard: the step left the weights alone, and the last checkpoint is the last good one
                    if !loss.isFinite {
                        let kept = lastCheckpointPath.flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
                        throw ViTKitError("training stopped: the loss is \(loss) at epoch \(epoch + 1), step \(s + 1); "
                            + (kept.map { "the last good checkpoint is kept at \($0)" } ?? "no checkpoint was written yet"))
                    }
                    ema?.update(from: model, step: optimizer.step)
                    stepLosses.append(loss)
                    lossSum += Double(loss)
                    let rate = Double((s + 1 - first) * globalBatch) / Date().timeIntervalSince(t0)
                    for w in watchers {
                        try w.stepDidEnd(self, epoch: epoch, step: s, of: steps, meanLoss: lossSum / Double(s + 1), imagesPerSecond: rate)
                    }
                }
                if let reason = agreedStop() {
                    position = EpochPosition(step: s + 1, steps: steps, lossSum: lossSum,
                                             seconds: (resumed?.seconds ?? 0) + Date().timeIntervalSince(t0))
                    for w in watchers { try w.fitWasInterrupted(self) }
                    throw TrainingInterrupted(reason: reason, epoch: epoch, step: s + 1, steps: steps, savedTo: savedState)
                }
            }
            position = nil
            parallel.distributeBatchNorm(model, mode: o.syncBN ? .none : o.distBN)
            let seconds = (resumed?.seconds ?? 0) + Date().timeIntervalSince(t0)
            var stats = EpochStats(epoch: epoch + 1, lr: lr, trainLoss: lossSum / Double(steps), seconds: seconds)
            if let test, (epoch + 1) % o.evalEvery == 0 || epoch + 1 == epochs {
                let e0 = Date()
                let ev = try parallel.evaluate(model, on: test, batchSize: o.batchSize)
                stats.testLoss = ev.loss; stats.testTop1 = ev.top1; stats.testTop5 = ev.top5
                if let ema {
                    // timm: the EMA's evaluation takes the eval columns and picks the best checkpoint
                    parallel.distributeBatchNorm(ema.model, mode: o.syncBN ? .none : o.distBN)
                    let e = try parallel.evaluate(ema.model, on: test, batchSize: o.batchSize)
                    stats.modelTestLoss = ev.loss; stats.modelTestTop1 = ev.top1
                    stats.testLoss = e.loss; stats.testTop1 = e.top1; stats.testTop5 = e.top5
                }
                stats.evalSeconds = Date().timeIntervalSince(e0)
            }
            history.append(stats)
            let improved = stats.testTop1.map { top1 in bestTop1.map { top1 > $0 } ?? true } ?? false
            if improved { bestTop1 = stats.testTop1 }
            startEpoch = epoch + 1
            for w in watchers { try w.epochDidEnd(self, stats, improved: improved) }
            if epoch + 1 < epochs, let reason = agreedStop() {
                throw TrainingInterrupted(reason: reason, epoch: epoch + 1, step: 0, steps: steps, savedTo: savedState)
            }
        }
        return history
    }

    /// `epoch=3 lr=0.000505 train_loss=… test_loss=… test_acc=… seconds=… eval_seconds=…`: `seconds` is the
    /// training part, `eval_seconds` the evaluation after it (on a large test set as long again).
    public static func line(_ s: EpochStats) -> String {
        var l = String(format: "epoch=%d lr=%.6g train_loss=%.4f", s.epoch, s.lr, s.trainLoss)
        if let tl = s.testLoss, let acc = s.testTop1 { l += String(format: " test_loss=%.4f test_acc=%.2f", tl, acc) }
        if let acc = s.modelTestTop1 { l += String(format: " (EMA) model_test_acc=%.2f", acc) }
        l += String(format: " seconds=%.1f", s.seconds)
        if let e = s.evalSeconds { l += String(format: " eval_seconds=%.1f", e) }
        return l
    }

    static func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? "\(t / 3600)h\(t % 3600 / 60)m" : t >= 60 ? "\(t / 60)m\(t % 60)s" : "\(t)s"
    }

    /// Refuses, before the activations are allocated, a batch whose buffers (the model's, and a teacher's
    /// evaluation ones) would not fit in the memory the system has available now; the message gives the estimate
    /// beside what is already held (parameters, gradients, optimiser state) and the largest batch that fits.
    func checkMemory(batch: Int) throws {
        guard let available = SystemMemory.availableBytes() else { return }
        let teacher = step.distiller?.teacher
        func need(_ b: Int) -> Int {
            model.activationBytes(batch: b) + (teacher?.activationBytes(batch: b, inference: true) ?? 0)
        }
        if model.hasTrainingActivations(batch: batch) { return }  // held already: nothing new to allocate
        let activations = need(batch)
        if activations <= available { return }
        var fits = batch
        while fits > 1 && need(fits) > available { fits /= 2 }
        let held = 4 * (model.params.count + model.grads.count + model.state.count
            + optimizer.stateBuffers.reduce(0) { $0 + $1.buffer.count })
        throw ViTKitError("batch \(batch) of \(model.name) needs about \(SystemMemory.text(activations)) of activations"
            + (teacher.map { " (the teacher \($0.name)'s included)" } ?? "")
            + ", beside \(SystemMemory.text(held)) of parameters, gradients and optimiser state already held, but "
            + "\(SystemMemory.text(available)) is available: lower --batch-size (\(need(fits) <= available ? "\(fits) fits" : "not even 1 fits"))"
            + ", or keep the global batch with --grad-accum-steps")
    }
}
