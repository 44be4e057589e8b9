import Foundation
import ViTKitCore
import ViTKitIO
import ViTKitModels
import ViTKitPictures

/// Watches a `Trainer.fit`: what a run shows and keeps (progress, the log line, summary.csv, curves.png,
/// checkpoints) are observers, so a user can add their own or leave some out. Every method has a default that
/// does nothing; a throw stops training with that error.
public protocol TrainingObserver: AnyObject {
    /// Before the first epoch `fit` runs (after a resume, the epochs done are in `trainer.history`).
    func fitWillStart(_ trainer: Trainer) throws
    /// After each step of epoch `epoch` (0-based), with the epoch's mean loss so far and its images per second.
    func stepDidEnd(_ trainer: Trainer, epoch: Int, step: Int, of steps: Int, meanLoss: Double, imagesPerSecond: Double) throws
    /// After each epoch, its evaluation included; `improved` says whether its top-1 is the best so far.
    func epochDidEnd(_ trainer: Trainer, _ stats: EpochStats, improved: Bool) throws
    /// When a stop request (`Trainer.stopRequest`) ends `fit` inside an epoch, after the step it was in:
    /// `trainer.trainingState` holds the position (`EpochPosition`).
    func fitWasInterrupted(_ trainer: Trainer) throws
}

extension TrainingObserver {
    /// Does nothing.
    public func fitWillStart(_ trainer: Trainer) throws {}
    /// Does nothing.
    public func stepDidEnd(_ trainer: Trainer, epoch: Int, step: Int, of steps: Int, meanLoss: Double, imagesPerSecond: Double) throws {}
    /// Does nothing.
    public func epochDidEnd(_ trainer: Trainer, _ stats: EpochStats, improved: Bool) throws {}
    /// Does nothing.
    public func fitWasInterrupted(_ trainer: Trainer) throws {}
}

/// The live progress line (epoch, step, loss, images/s, ETA) given to `show`, and the plain epoch line to `log`.
public final class ProgressObserver: TrainingObserver {
    let log: (String) -> Void, show: ((String) -> Void)?
    private var started = Date()

    /// Prints epoch lines with `log` and, when `show` is given, a live line with rate and ETA.
    public init(log: @escaping (String) -> Void, show: ((String) -> Void)?) { self.log = log; self.show = show }

    /// Shows the live line.
    public func stepDidEnd(_ trainer: Trainer, epoch: Int, step: Int, of steps: Int, meanLoss: Double, imagesPerSecond: Double) throws {
        guard let show else { return }
        let epochs = trainer.totalEpochs
        let perStep = Double(trainer.options.batchSize) / max(imagesPerSecond, 1e-9)
        let eta = perStep * Double(steps - step - 1 + (epochs - epoch - 1) * steps)
        show(String(format: "epoch %d/%d step %d/%d loss %.4f  %.1f img/s  ETA %@", epoch + 1, epochs, step + 1, steps, meanLoss,
                    imagesPerSecond, Trainer.duration(eta)))
    }

    /// Logs the epoch's line.
    public func epochDidEnd(_ trainer: Trainer, _ stats: EpochStats, improved: Bool) throws { log(Trainer.line(stats)) }
}

/// timm's `summary.csv` in the output folder: a header, then a row per epoch. A resumed run rewrites the rows it
/// resumes from: the saved history is the record, whatever a stop between two writes left in the file.
public final class SummaryCSV: TrainingObserver {
    /// The CSV file.
    public let path: String
    /// `summary.csv` in `folder`.
    public init(folder: String) { path = (folder as NSString).appendingPathComponent("summary.csv") }

    /// Writes the header, or keeps the rows of the epochs a resumed run already has.
    public func fitWillStart(_ trainer: Trainer) throws {
        try DurableFile.write(Data("epoch,train_loss,eval_loss,eval_top1,eval_top5,lr\n".utf8), to: path)
        for s in trainer.history { try append(s) }
    }

    /// Appends the epoch's row.
    public func epochDidEnd(_ trainer: Trainer, _ stats: EpochStats, improved: Bool) throws { try append(stats) }

    private func append(_ s: EpochStats) throws {
        func f(_ v: Double?) -> String { v.map { String(format: "%.6g", $0) } ?? "" }
        let row = "\(s.epoch - 1),\(f(s.trainLoss)),\(f(s.testLoss)),\(f(s.testTop1)),\(f(s.testTop5)),\(f(s.lr))\n"
        guard let h = FileHandle(forWritingAtPath: path) else { throw ViTKitError("cannot append to \(path)") }
        h.seekToEndOfFile(); h.write(Data(row.utf8)); h.closeFile()
    }
}

/// `curves.png` in the output folder, redrawn after each epoch.
public final class CurvesPNG: TrainingObserver {
    /// The picture file.
    public let path: String
    /// `curves.png` in `folder`.
    public init(folder: String) { path = (folder as NSString).appendingPathComponent("curves.png") }

    /// Redraws the curves with every epoch so far.
    public func epochDidEnd(_ trainer: Trainer, _ stats: EpochStats, improved: Bool) throws {
        try CurvePlot.render(trainer.history.map(\.curvePoint)).writePNG(to: path)
    }
}

/// The checkpoints of a run, after each epoch: `train_state.safetensors` (what `--resume` continues from),
/// `last.safetensors`, and `model_best.safetensors` when the top-1 improved; each with the trainer's metadata
/// and pretrained config.
public final class CheckpointWriter: TrainingObserver {
    /// The output folder.
    public let folder: String
    /// Checkpoints in `folder`.
    public init(folder: String) { self.folder = folder }

    /// Writes the training state and `last`, and `model_best` when `improved`.
    public func epochDidEnd(_ trainer: Trainer, _ stats: EpochStats, improved: Bool) throws {
        let meta = try saveTrainingState(trainer)
        try Checkpoint.save(trainer.model, to: (folder as NSString).appendingPathComponent("last.safetensors"), extra: meta)
        if improved {
            // with model EMA the best top-1 is the EMA's, so model_best holds its weights (timm's best metric)
            try Checkpoint.save(trainer.ema?.model ?? trainer.model,
                                to: (folder as NSString).appendingPathComponent("model_best.safetensors"), extra: meta)
        }
    }

    /// Writes the training state with the position inside the epoch; `last` and `model_best` stay the last
    /// finished epoch's.
    public func fitWasInterrupted(_ trainer: Trainer) throws { try saveTrainingState(trainer) }

    /// Writes `trainer.trainingState`; returns the metadata the checkpoints carry (the run's, and the epochs done).
    @discardableResult
    private func saveTrainingState(_ trainer: Trainer) throws -> [String: String] {
        let meta = trainer.runMetadata.merging(["epoch": "\(trainer.startEpoch)"]) { $1 }
        try Checkpoint.saveTrainingState(trainer.model, optimizer: trainer.optimizer, state: trainer.trainingState,
                                         to: Trainer.trainingStatePath(in: folder), extra: meta, ema: trainer.ema?.model)
        return meta
    }
}
