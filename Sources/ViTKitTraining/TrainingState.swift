import Foundation
import ViTKitCore
import ViTKitData
import ViTKitIO
import ViTKitImaging
import ViTKitModels
import ViTKitNN
import ViTKitPictures

/// The training state file (`train_state.safetensors`): a checkpoint plus what an exact resume needs.
extension Checkpoint {
    /// Saves everything an exact resume needs in one file, so it is replaced in one step: the weights (and
    /// buffers), the optimiser's state (`optimizer.exp_avg.<name>`, `optimizer.exp_avg_sq.<name>`, or SGD's
    /// `optimizer.momentum_buffer.<name>`, as torch names them)
    /// and, in the metadata, the training state and the architecture. Random draws are keyed by (seed, epoch), so
    /// the epoch is all of the random state.
    public static func saveTrainingState(_ model: any ImageClassifier, optimizer: AdamW, state: TrainingState,
                                         to path: String, extra: [String: String] = [:], ema: (any ImageClassifier)? = nil) throws {
        var tensors = weights(model)
        // timm's state_dict_ema, as `ema.<name>`
        if let ema { tensors += weights(ema, prefix: "ema.") }
        for (kind, buffer) in optimizer.stateBuffers {
            for e in model.table.entries {
                tensors.append(("optimizer.\(kind).\(e.name)",
                                SafeTensors.Tensor(shape: e.shape, values: Array(UnsafeBufferPointer(start: buffer.pointer + e.offset, count: e.count)))))
            }
        }
        var meta = extra.merging(try model.architecture.metadata()) { $1 }
        meta["train_state"] = try json(state)
        try SafeTensors.write(path: path, tensors: tensors, metadata: meta)
    }

    /// Restores a `saveTrainingState` file: the weights always, AdamW's moments and step unless `optimizer` is nil
    /// (timm's `--no-resume-opt`). The model must have the architecture the file was written with.
    @discardableResult
    public static func loadTrainingState(_ model: any ImageClassifier, optimizer: AdamW?, from path: String) throws -> TrainingState {
        let (tensors, meta) = try SafeTensors.read(path: path)
        let what = "training state \(path)"
        guard let json = meta["train_state"], let state = try? JSONDecoder().decode(TrainingState.self, from: Data(json.utf8)),
              let config = try? ModelConfig.from(metadata: meta, path: path)
        else { throw ViTKitError("\(what) has no training state in its metadata (keys 'train_state' and 'vitkit_config')") }
        guard config == model.architecture else {
            throw ViTKitError("\(what) was written for model \(config.name) (\(config)), not \(model.name) (\(model.architecture))")
        }
        try load(model, tensors: modelTensors(tensors, metadata: meta), what: what)
        if let optimizer {
            for (kind, buffer) in optimizer.stateBuffers {
                for e in model.table.entries {
                    guard let t = tensors["optimizer.\(kind).\(e.name)"], t.shape == e.shape else {
                        throw ViTKitError("\(what) has no optimizer.\(kind).\(e.name) of shape \(e.shape)")
                    }
                    (buffer.pointer + e.offset).update(from: t.values, count: e.count)
                }
            }
            optimizer.step = state.optimizerStep
        }
        return state
    }
}

extension Checkpoint {
    /// Fills `ema` from a training state's `ema.<name>` tensors; returns false when the file has none.
    @discardableResult
    public static func loadEMA(_ ema: any ImageClassifier, from path: String) throws -> Bool {
        let tensors = try SafeTensors.read(path: path).tensors.filter { $0.key.hasPrefix("ema.") }
        if tensors.isEmpty { return false }
        try load(ema, tensors: Dictionary(uniqueKeysWithValues: tensors.map { (String($0.key.dropFirst(4)), $0.value) }),
                 what: "the model EMA in \(path)")
        return true
    }
}

/// Where a run stands after an epoch: what `vitkit train --resume` continues from.
public struct TrainingState: Codable, Sendable, Equatable {
    /// Epochs finished.
    public var epoch: Int
    /// AdamW updates made.
    public var optimizerStep: Int
    /// Best evaluation top-1 so far (what `model_best` holds).
    public var bestTop1: Double?
    /// Every epoch's numbers so far.
    public var history: [EpochStats]
    /// The run's configuration (`RunConfiguration.arguments`), to report what a resumed command changes.
    public var settings: [String: String]
    /// Where epoch `epoch` (0-based) stood when a stop request ended training inside it; nil at an epoch's end.
    public var position: EpochPosition?

    /// The state after `epoch` epochs and `optimizerStep` updates, `position` inside the next one.
    public init(epoch: Int, optimizerStep: Int, bestTop1: Double?, history: [EpochStats], settings: [String: String],
                position: EpochPosition? = nil) {
        self.epoch = epoch; self.optimizerStep = optimizerStep; self.bestTop1 = bestTop1; self.history = history
        self.settings = settings; self.position = position
    }
}

/// How far an interrupted epoch got: `step` of its `steps` optimiser updates made, their summed loss and the
/// seconds they took. The epoch's random draws are keyed by position, so this is all a resume needs.
public struct EpochPosition: Codable, Sendable, Equatable {
    /// Updates made in the epoch.
    public var step: Int
    /// Updates an epoch of that run makes.
    public var steps: Int
    /// Their losses, summed (the epoch's mean training loss goes on from it).
    public var lossSum: Double
    /// Training seconds spent in the epoch so far.
    public var seconds: Double

    /// `step` of `steps` updates made, with losses summing to `lossSum`, in `seconds`.
    public init(step: Int, steps: Int, lossSum: Double, seconds: Double) {
        self.step = step; self.steps = steps; self.lossSum = lossSum; self.seconds = seconds
    }
}

/// What `Trainer.fit` throws when a stop request (`Trainer.stopRequest`) ended it: where, why, and the training
/// state file that holds the position (nil without an output folder).
public struct TrainingInterrupted: Error, CustomStringConvertible, Sendable {
    /// The request's reason (the CLI: "SIGINT", "SIGTERM").
    public var reason: String
    /// Epochs finished, and updates made in the next one of its `steps`.
    public var epoch: Int, step: Int, steps: Int
    /// The `train_state.safetensors` written, or nil.
    public var savedTo: String?

    /// One line: the reason, where, and how to continue.
    public var description: String {
        "training stopped by \(reason) " + (step == 0 ? "after epoch \(epoch)" : "at epoch \(epoch + 1) after update \(step) of \(steps)") + ": "
            + (savedTo.map { "the state is saved in \($0); --resume \(($0 as NSString).deletingLastPathComponent) continues from it (last.safetensors holds the last finished epoch)" }
               ?? "no output folder, nothing saved")
    }
}
