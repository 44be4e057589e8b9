import Foundation
import ViTKitCore
import ViTKitData
import ViTKitIO
import ViTKitImaging
import ViTKitModels
import ViTKitNN
import ViTKitPictures

/// timm's CosineLRScheduler stepped per epoch (t_in_epochs, cycle_limit 1, warmup_prefix false):
///   t < warmup: lr = warmup_lr + t·(base − warmup_lr)/warmup
///   else:       lr = min_lr + ½(base − min_lr)(1 + cos(π·t/epochs)),  t the absolute epoch.
public struct CosineLRScheduler: Sendable, Equatable {
    /// timm's `--lr`, `--min-lr`, `--warmup-lr`, `--warmup-epochs` and `--epochs`.
    public var baseLR: Double, minLR: Double, warmupLR: Double, warmupEpochs: Int, epochs: Int

    /// A schedule with these settings.
    public init(baseLR: Double, minLR: Double = 1e-6, warmupLR: Double = 1e-5, warmupEpochs: Int, epochs: Int) {
        self.baseLR = baseLR; self.minLR = minLR; self.warmupLR = warmupLR
        self.warmupEpochs = warmupEpochs; self.epochs = epochs
    }

    /// The learning rate used during epoch `t` (0-based).
    public func lr(epoch t: Int) -> Double {
        if t < warmupEpochs { return warmupLR + Double(t) * (baseLR - warmupLR) / Double(warmupEpochs) }
        if t >= epochs { return minLR }
        return minLR + 0.5 * (baseLR - minLR) * (1 + cos(Double.pi * Double(t) / Double(epochs)))
    }
}
