import Foundation
import Synchronization
import ViTKitCore
import ViTKitIO
import ViTKitImaging

/// Training batches prepared ahead on background threads: each image is decoded (for a file-backed dataset),
/// transformed as bytes (`TrainTransform`) and normalised into one of `depth` preallocated batch slots while the
/// model trains on an earlier one. Memory is bounded: `depth` batches, and per thread buffers as large as the
/// largest picture seen.
///
/// Worker `k` of `workers` prepares batches k, k + workers, …; batch b lives in slot b mod depth, and depth is a
/// multiple of the worker count, so a slot is only ever waited for by one worker. Every image draws from its own
/// random stream (seed, epoch, position in the epoch), so the batches do not depend on the number of workers.
/// With 0 workers the batch is prepared in the caller's thread when it is asked for. A picture that fails to
/// decode stops its worker, and `next()` throws the error for the batch that needed it.
public final class PrefetchLoader: @unchecked Sendable {
    /// The training images.
    public let dataset: ImageDataset
    /// Images per batch.
    public let batchSize: Int
    /// The per-image augmentation.
    public let transform: TrainTransform
    /// The run's seed: each image's draws are keyed by (seed, epoch, position).
    public let seed: UInt64
    /// Background threads preparing batches (0: prepared on `next()`).
    public let workers: Int
    /// Batches prepared ahead.
    public let depth: Int

    private let images: [AlignedBuffer]
    private let labels: [UnsafeMutablePointer<Int32>]
    private let free: [DispatchSemaphore], ready: [DispatchSemaphore]
    /// Why a slot's batch could not be made: written by the slot's worker before its `ready` signal, read after
    /// the wait (one element per slot, so no two threads touch the same memory without that ordering).
    private let failures: UnsafeMutablePointer<Error?>
    private let workspaces: [TrainTransform.Workspace]
    private let scale: [Float], shift: [Float]
    private let cancelled = Atomic<Bool>(false)
    private var order: [Int] = [], batchStarts: [Int] = []
    private var epoch = 0, steps = 0, nextBatch = 0
    private var threads: [Thread] = []
    private let finished = DispatchSemaphore(value: 0)

    /// `depth`: batches prepared ahead (rounded up to a multiple of `workers`).
    public init(dataset: ImageDataset, batchSize: Int, transform: TrainTransform, seed: UInt64, workers: Int = 1,
                depth: Int = 2) {
        self.dataset = dataset; self.batchSize = batchSize; self.transform = transform; self.seed = seed
        self.workers = max(0, workers)
        let w = max(1, workers)
        self.depth = max(w, (max(1, depth) + w - 1) / w * w)
        images = (0..<self.depth).map { _ in AlignedBuffer(count: batchSize * dataset.imageBytes) }
        labels = (0..<self.depth).map { _ in UnsafeMutablePointer<Int32>.allocate(capacity: batchSize) }
        free = (0..<self.depth).map { _ in DispatchSemaphore(value: 1) }
        ready = (0..<self.depth).map { _ in DispatchSemaphore(value: 0) }
        failures = .allocate(capacity: self.depth)
        failures.initialize(repeating: nil, count: self.depth)
        workspaces = (0..<w).map { _ in TrainTransform.Workspace(channels: dataset.channels, size: dataset.size, width: dataset.width) }
        (scale, shift) = dataset.normalization
    }

    deinit {
        stop()
        labels.forEach { $0.deallocate() }
        failures.deinitialize(count: depth); failures.deallocate()
    }

    /// Starts preparing the epoch's batches: `order` is the epoch's shuffled image indices; only full batches are
    /// made (drop_last). Batch b holds the images at positions `batchStarts[b] ..< batchStarts[b] + batchSize` of
    /// `order` (nil: b·batchSize, every batch in turn), so a data-parallel rank loads its share of each global
    /// batch and every image keeps the random stream of its position in the epoch. Stops any epoch still running.
    public func start(epoch: Int, order: [Int], batchStarts: [Int]? = nil) {
        stop()
        self.order = order; self.epoch = epoch
        self.batchStarts = batchStarts ?? (0..<(order.count / batchSize)).map { $0 * batchSize }
        steps = self.batchStarts.count; nextBatch = 0
        cancelled.store(false, ordering: .sequentiallyConsistent)
        guard workers > 0 else { return }
        threads = (0..<workers).map { k in
            // unowned(unsafe): deinit runs stop(), which waits for every worker, and a checked unowned read traps once
            // deinit has begun
            let t = Thread { [unowned(unsafe) self] in
                var b = k
                while b < self.steps {
                    let slot = b % self.depth
                    self.free[slot].wait()
                    if self.cancelled.load(ordering: .acquiring) { break }
                    do {
                        try self.prepare(batch: b, slot: slot, workspace: self.workspaces[k])
                    } catch {
                        self.failures[slot] = error
                        self.ready[slot].signal()
                        break
                    }
                    self.ready[slot].signal()
                    b += self.workers
                }
                self.finished.signal()
            }
            t.stackSize = 4 << 20
            t.start()
            return t
        }
    }

    /// The next batch of the epoch (waits until it is ready): normalised images [batch × C × H × W] and labels.
    /// They stay valid until `release()`, which must come before the next `next()`. Throws when a picture of
    /// the batch could not be read; the epoch is then over.
    public func next() throws -> (images: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Int32>) {
        precondition(nextBatch < steps, "no batch left in this epoch")
        let slot = nextBatch % depth
        if workers == 0 {
            try prepare(batch: nextBatch, slot: slot, workspace: workspaces[0])
        } else {
            ready[slot].wait()
            if let failure = failures[slot] { throw failure }
        }
        return (images[slot].pointer, labels[slot])
    }

    /// Hands the batch from `next()` back, so its slot can be refilled.
    public func release() {
        if workers > 0 { free[nextBatch % depth].signal() }
        nextBatch += 1
    }

    /// Stops the workers (a running epoch is abandoned) and resets the slots.
    public func stop() {
        guard !threads.isEmpty else { return }
        cancelled.store(true, ordering: .sequentiallyConsistent)
        for s in free { s.signal() }  // wake any worker waiting for a slot
        for _ in threads { finished.wait() }
        threads = []
        // back to every slot free, none ready
        for s in ready { while s.wait(timeout: .now()) == .success {} }
        for s in free { while s.wait(timeout: .now()) == .success {}; s.signal() }
        for i in 0..<depth { failures[i] = nil }
    }

    /// Decodes (file-backed), transforms and normalises the images of batch `b` into `slot`.
    private func prepare(batch b: Int, slot: Int, workspace: TrainTransform.Workspace) throws {
        let ds = dataset, n = ds.imageBytes, s = ds.size, w = ds.width, c = ds.channels, stored = ds.storedBytes, side = ds.storedSize
        let dst = images[slot].pointer, lab = labels[slot]
        try ds.images.withUnsafeBufferPointer { src in
            for j in 0..<batchSize {
                let position = batchStarts[b] + j, i = order[position]
                lab[j] = ds.labels[i]
                var rng = RNG.stream(seed: seed, 5, UInt64(epoch) << 32 | UInt64(position))
                let input = ds.isFileBacked ? try c == 1 ? workspace.grey(workspace.decoder.decode(path: ds.files[i])) : workspace.decoder.decode(path: ds.files[i])
                    : PlanarImage(UnsafeMutablePointer(mutating: src.baseAddress! + i * stored), width: ds.storedWidth, height: side, channels: c)
                let out = PlanarImage(workspace.output, width: w, height: s, channels: c)
                transform(input, into: out, workspace: workspace, rng: &rng)
                let to = dst + j * n
                for ch in 0..<c {
                    let a = scale[ch], sh = shift[ch], p = out.plane(ch), q = to + ch * s * w
                    for k in 0..<(s * w) { q[k] = Float(p[k]) * a + sh }
                }
            }
        }
    }
}
