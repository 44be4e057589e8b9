import Foundation

/// A learning-rate schedule over a whole run, as timm's scheduler factory (`create_scheduler_v2`) and train.py's
/// loop make it, or as jeonsworld/ViT-pytorch's per-step schedules. `lr(_:)` takes t, the epoch (0-based), or,
/// when `onUpdates`, the optimiser update (0-based over the run): the rate that epoch's or update's steps use.
///
///   warmup (t < warmupT):  warmupLR + t·(base − warmupLR)/warmupT
///   then, with t' = t − warmupT when `warmupPrefix`, else t:
///     cosine     minLR + ½(base − minLR)(1 + cos(π·t'/tInitial)), minLR from tInitial on
///     step       base · decayRate^⌊t'/decayT⌋
///     multistep  base · decayRate^(number of milestones m with m ≤ t' + 1)   (timm's historical offset)
///     poly       minLR + (base − minLR)(1 − t'/tInitial)^power, minLR from tInitial on
///     constant   base
///     plateau    torch's ReduceLROnPlateau (mode max on the evaluation top-1, relative threshold 1e-4): ×decayRate,
///                floored at minLR, after more than `patienceT` evaluations without improvement; replayed from
///                the run's metrics, so a resume continues it exactly (`lr(_:metrics:)`)
///   warmup-cosine  base · (t < w ? t/w : ½(1 + cos(π·(t − w)/(T − w))))         per update (jeonsworld)
///   warmup-linear  base · (t < w ? t/w : max(0, (T − t)/(T − w)))
public struct LRSchedule: Sendable, Equatable {
    /// timm's `--sched` names, and jeonsworld/ViT-pytorch's `--decay_type` schedules.
    public enum Kind: String, Sendable, CaseIterable {
        /// timm's `cosine`.
        case cosine
        /// timm's `step`: ×decayRate every decayT.
        case step
        /// timm's `multistep`: ×decayRate at each milestone.
        case multistep
        /// timm's `poly`: power `decayRate`.
        case poly
        /// timm's `constant`: the warmup, then the base rate.
        case constant
        /// timm's `plateau`: ×decayRate when the evaluation top-1 stops improving (per epoch only).
        case plateau
        /// jeonsworld's WarmupCosineSchedule (per update, from 0, to 0).
        case warmupCosine = "warmup-cosine"
        /// jeonsworld's WarmupLinearSchedule (per update, from 0, to 0).
        case warmupLinear = "warmup-linear"
    }

    /// The schedule's form.
    public var kind: Kind
    /// The peak rate (timm's base value).
    public var baseLR: Double
    /// The floor of cosine and poly.
    public var minLR: Double
    /// The rate warmup starts from.
    public var warmupLR: Double
    /// Warmup length, in t's unit (epochs, or updates when `onUpdates`).
    public var warmupT: Int
    /// The schedule's length (timm's t_initial), in t's unit.
    public var tInitial: Int
    /// `step`'s interval, in t's unit.
    public var decayT: Double
    /// `multistep`'s milestones, in t's unit.
    public var milestones: [Int]
    /// The decay factor of step and multistep; poly's power.
    public var decayRate: Double
    /// Whether the warmup comes before the schedule (timm's `--warmup-prefix`) rather than within it.
    public var warmupPrefix: Bool
    /// Whether t counts updates (timm's `--sched-on-updates`) rather than epochs.
    public var onUpdates: Bool
    /// Epochs the run trains: timm's factory's returned count (cycle length, plus cooldown and a warmup prefix).
    public var totalEpochs: Int
    /// `plateau`'s patience: evaluations without improvement before a decay (timm's `--patience-epochs`).
    public var patienceT: Int

    /// The schedule `options` give for `updatesPerEpoch` optimiser updates per epoch and peak rate `baseLR`.
    public init(options o: TrainOptions, baseLR: Double, updatesPerEpoch u: Int) {
        kind = o.sched; self.baseLR = baseLR; minLR = o.minLR; warmupLR = o.warmupLR; patienceT = o.patienceEpochs
        warmupPrefix = o.warmupPrefix; decayRate = o.decayRate
        let perStep = kind == .warmupCosine || kind == .warmupLinear
        onUpdates = (o.schedOnUpdates && kind != .plateau) || perStep
        let scale = onUpdates ? max(1, u) : 1
        warmupT = perStep ? o.warmupSteps : o.warmupEpochs * scale
        tInitial = o.epochs * scale
        decayT = o.decayEpochs * Double(scale)
        milestones = o.decayMilestones.map { $0 * scale }
        // the factory's epoch count: cosine and poly run their cycle plus cooldown (and a warmup prefix)
        switch kind {
        case .cosine, .poly:
            let cycle = tInitial + (warmupPrefix ? warmupT : 0) + o.cooldownEpochs * scale
            totalEpochs = onUpdates ? cycle / scale : cycle
        case .step, .multistep, .constant, .plateau: totalEpochs = o.epochs + (warmupPrefix ? o.warmupEpochs : 0)
        case .warmupCosine, .warmupLinear: totalEpochs = o.epochs
        }
    }

    /// The rate at t: the epoch, or the update when `onUpdates`.
    public func lr(_ t: Int) -> Double {
        switch kind {
        case .warmupCosine:
            if t < warmupT { return baseLR * Double(t) / Double(max(1, warmupT)) }
            let progress = Double(t - warmupT) / Double(max(1, tInitial - warmupT))
            return baseLR * max(0, 0.5 * (1 + cos(Double.pi * progress)))
        case .warmupLinear:
            if t < warmupT { return baseLR * Double(t) / Double(max(1, warmupT)) }
            return baseLR * max(0, Double(tInitial - t) / Double(max(1, tInitial - warmupT)))
        default: break
        }
        if t < warmupT { return warmupLR + Double(t) * (baseLR - warmupLR) / Double(warmupT) }
        let s = warmupPrefix ? t - warmupT : t
        switch kind {
        case .cosine:
            if s >= tInitial { return minLR }
            return minLR + 0.5 * (baseLR - minLR) * (1 + cos(Double.pi * Double(s) / Double(tInitial)))
        case .poly:
            if s >= tInitial { return minLR }
            return minLR + (baseLR - minLR) * Foundation.pow(1 - Double(s) / Double(tInitial), decayRate)
        case .step: return baseLR * Foundation.pow(decayRate, (Double(s) / decayT).rounded(.down))
        case .multistep: return baseLR * Foundation.pow(decayRate, Double(milestones.filter { $0 <= s + 1 }.count))
        case .constant, .plateau, .warmupCosine, .warmupLinear: return baseLR
        }
    }

    /// The rate of epoch `t` given the evaluation top-1 after each earlier epoch (`metrics[i]` after epoch i; nil
    /// where it was not evaluated): `lr(t)` for every kind but `plateau`, which replays timm's PlateauLRScheduler
    /// as train.py steps it (`step(epoch + 1, top1)` after each epoch; a nil metric leaves its counters alone).
    public func lr(_ t: Int, metrics: [Double?]) -> Double {
        guard kind == .plateau else { return lr(t) }
        var rate = warmupT > 0 ? warmupLR : baseLR
        var best = -Double.infinity, bad = 0
        for i in 0..<min(t, metrics.count) {
            let e = i + 1
            if e <= warmupT { rate = warmupLR + Double(e) * (baseLR - warmupLR) / Double(warmupT); continue }
            guard let m = metrics[i] else { continue }
            if m > best * (1 + 1e-4) { best = m; bad = 0 } else { bad += 1 }
            if bad > patienceT {
                let reduced = max(rate * decayRate, minLR)
                if rate - reduced > 1e-8 { rate = reduced }
                bad = 0
            }
        }
        return rate
    }
}
