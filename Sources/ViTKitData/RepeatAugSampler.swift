import Foundation

/// timm's `RepeatAugSampler` (DeiT's repeated augmentation, `--aug-repeats`): each image of the epoch's permutation
/// appears `repeats` times in a row, the copies dealt round-robin to the ranks (so with several processes each copy
/// is augmented on another), and each rank takes `selectedPerRank` of them, so an epoch still takes about one
/// dataset's worth of images.
///
///   stream_r = [L[i mod |L|] for i in r, r + W, r + 2W, …][:selected]      L = each index repeated (`repeats`
///   may be fractional: L[i] = perm[⌊i / repeats⌋], |L| = ⌈repeats·N⌉)
///   selected = ⌊⌊N / 256⌋·256 / W⌋ for N ≥ 256, else ⌈N / W⌉; at most ⌈N·repeats / W⌉
///
/// Unlike timm, which allows it only in distributed runs, it works with one process too.
public struct RepeatAugSampler: Sendable, Equatable {
    /// Copies of each image per epoch (timm's `num_repeats`).
    public var repeats: Double
    /// Images in the dataset.
    public var count: Int
    /// Processes sharing the epoch.
    public var world: Int

    /// A sampler over `count` images for `world` processes.
    public init(repeats: Double, count: Int, world: Int) {
        self.repeats = repeats; self.count = count; self.world = world
    }

    /// Images each rank takes per epoch (timm's `num_selected_samples`, `selected_round` 256).
    public var selectedPerRank: Int {
        let numSamples = Int((Double(count) * repeats / Double(world)).rounded(.up))
        let selected = count >= 256 ? count / 256 * 256 / world : (count + world - 1) / world
        return min(selected, numSamples)
    }

    /// Rank `rank`'s images, in order, for the epoch permutation `permutation`.
    public func stream(permutation: [Int], rank: Int) -> [Int] {
        let integral = repeats == repeats.rounded()
        let length = integral ? count * Int(repeats) : Int((repeats * Double(count)).rounded(.up))
        func element(_ i: Int) -> Int {
            integral ? permutation[i / Int(repeats)] : permutation[Int((Double(i) / repeats).rounded(.down))]
        }
        return (0..<selectedPerRank).map { element((rank + $0 * world) % length) }
    }

    /// The epoch order laid out for the trainer: rank r's micro-batch j of step s reads positions
    /// s·G + (j·W + r)·b ..< +b (G = b·W·k), which here hold that rank's stream, micro-batch after micro-batch.
    /// Returns the order and the steps it fills (drop_last: a partial step is left out).
    public func order(permutation: [Int], batch b: Int, accumulation k: Int) -> (order: [Int], steps: Int) {
        let steps = selectedPerRank / (b * k), g = b * world * k
        var order = [Int](repeating: 0, count: steps * g)
        for r in 0..<world {
            let s = stream(permutation: permutation, rank: r)
            for p in 0..<(steps * b * k) {
                let m = p / b, q = p % b
                order[(m / k) * g + ((m % k) * world + r) * b + q] = s[p]
            }
        }
        return (order, steps)
    }
}
