import Foundation
import ViTKitCore
import ViTKitData
import ViTKitDistributed
import ViTKitIO
import ViTKitModels
import ViTKitNN

/// What a data-parallel run does across its processes, with timm's DDP semantics: the run's weights, buffers
/// and optimiser state broadcast from rank 0 at the start, after a check that every rank was started alike;
/// each step's gradients averaged by an all-reduce of the flat gradient buffer in buckets; the evaluation
/// sharded and its sums added; BatchNorm statistics shared (`--sync-bn`) or made equal at epoch end
/// (`--dist-bn`). With one process every call returns at once.
public final class DataParallel: GradientReducer {
    /// The processes of the run.
    public let communicator: Communicator
    /// Floats per all-reduce of the gradients (torch DDP's default bucket is 25 MB).
    public var bucketFloats = 25 << 18
    /// Seconds spent in the gradients' all-reduces so far (what `vitkit bench` reports).
    public private(set) var reduceSeconds = 0.0

    /// The loss's slot in its all-reduce (kept, so that a step allocates nothing).
    private let lossSlot = UnsafeMutablePointer<Double>.allocate(capacity: 1)

    /// The data-parallel calls over `communicator`.
    public init(communicator: Communicator) { self.communicator = communicator }

    deinit { lossSlot.deallocate() }

    /// Averages `gradients` over the ranks, in buckets of `bucketFloats`, and returns the mean loss.
    public func reduce(gradients: AlignedBuffer, loss: Float) -> Float {
        let n = communicator.size
        guard n > 1 else { return loss }
        let t0 = DispatchTime.now().uptimeNanoseconds
        var at = 0
        while at < gradients.count {
            let count = min(bucketFloats, gradients.count - at)
            communicator.allReduceSum(gradients.pointer + at, count: count)
            at += count
        }
        Kernels.scale(gradients.pointer, 1 / Float(n), gradients.count)
        lossSlot.pointee = Double(loss)
        communicator.allReduceSum(lossSlot, count: 1)
        reduceSeconds += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        return Float(lossSlot.pointee / Double(n))
    }

    /// Checks that every rank was started with the same settings, data and initial weights (digests compared
    /// across ranks), then copies rank 0's weights, buffers and optimiser state to every rank. Throws on every
    /// rank, naming the first rank that differs from rank 0 and in what, when they were not started alike.
    public func start(model: any ImageClassifier, optimizer: AdamW, configuration: RunConfiguration,
                      train: ImageDataset, test: ImageDataset?) throws {
        guard communicator.size > 1 else { return }
        let settings = configuration.arguments.filter { !RunConfiguration.placeSettings.contains($0.key) }
        let parts: [(String, String)] = [
            ("options", MD5.hex(Array(settings.keys.sorted().map { "\($0)=\(settings[$0]!)\n" }.joined().utf8))),
            ("data", Self.digest(train) + (test.map(Self.digest) ?? "")),
            ("initial weights (code)", Self.digest([model.params, model.state])),
        ]
        let mine = Array(parts.map { $0.1 }.joined(separator: "|").utf8)
        let lengths = communicator.allReduceSum([Double(mine.count)])[0]
        if lengths != Double(mine.count * communicator.size) {
            throw ViTKitError("rank \(communicator.rank): the ranks were started with different data or options (digests of different lengths)")
        }
        let all = communicator.allGather(mine)
        for (r, other) in all.enumerated() where other != all[0] {
            let theirs = String(decoding: other, as: UTF8.self).split(separator: "|").map(String.init)
            let first = String(decoding: all[0], as: UTF8.self).split(separator: "|").map(String.init)
            let what = zip(parts.indices, zip(first, theirs)).filter { $0.1.0 != $0.1.1 }.map { parts[$0.0].0 }
            throw ViTKitError("rank \(r) was not started as rank 0 was: its \(what.joined(separator: " and ")) differ; every rank "
                + "of an mpirun job needs the same options, data and code")
        }
        for buffer in [model.params, model.state, optimizer.m, optimizer.v] { communicator.broadcast(buffer) }
        var step = [Double(optimizer.step)]
        step.withUnsafeMutableBytes { communicator.broadcast($0.baseAddress!, count: $0.count) }
        optimizer.step = Int(step[0])
    }

    /// The evaluation of `dataset` with each rank taking a contiguous share, the sums added over the ranks.
    public func evaluate(_ model: any ImageClassifier, on dataset: ImageDataset, batchSize: Int) throws -> Evaluation {
        let n = communicator.size, r = communicator.rank
        let range = (dataset.count * r / n)..<(dataset.count * (r + 1) / n)
        let sums = try model.evaluationSums(on: dataset, batchSize: batchSize, range: range)
        let total = communicator.allReduceSum([sums.loss, Double(sums.top1), Double(sums.top5), Double(sums.count)])
        return Evaluation(sums: (total[0], Int(total[1]), Int(total[2]), Int(total[3])))
    }

    /// timm's `--dist-bn`: makes the BatchNorm running statistics equal on every rank, by their mean
    /// (`reduce`) or rank 0's (`broadcast`). Models without BatchNorm have nothing to share.
    public func distributeBatchNorm(_ model: any ImageClassifier, mode: DistributedBatchNorm) {
        guard communicator.size > 1, mode != .none else { return }
        for e in model.stateTable.entries where e.name.hasSuffix("running_mean") || e.name.hasSuffix("running_var") {
            let p = model.state.pointer + e.offset
            if mode == .broadcast {
                communicator.broadcast(UnsafeMutableRawPointer(p), count: e.count * MemoryLayout<Float>.size)
            } else {
                communicator.allReduceSum(p, count: e.count)
                Kernels.scale(p, 1 / Float(communicator.size), e.count)
            }
        }
    }

    /// The sums a synchronised BatchNorm adds across the ranks (torch's `SyncBatchNorm`), or nil for one process.
    package var batchNormSync: BatchNorm2d.CrossReplica? {
        guard communicator.size > 1 else { return nil }
        let c = communicator
        return BatchNorm2d.CrossReplica(replicas: c.size) { c.allReduceSum($0, count: $1) }
    }

    static func digest(_ d: ImageDataset) -> String {
        let md5 = MD5.Digest()
        var header = "\(d.name) \(d.count) \(d.channels) \(d.size) \(d.numClasses) \(d.mean) \(d.std)\n" + d.files.joined(separator: "\n")
        header.withUTF8 { md5.update(UnsafeRawBufferPointer($0)) }
        d.labels.withUnsafeBytes { md5.update($0) }
        d.images.withUnsafeBytes { md5.update($0) }
        return md5.finish()
    }

    static func digest(_ buffers: [AlignedBuffer]) -> String {
        let md5 = MD5.Digest()
        for b in buffers { md5.update(UnsafeRawBufferPointer(start: b.pointer, count: b.count * MemoryLayout<Float>.size)) }
        return md5.finish()
    }
}

/// timm's `--dist-bn`: what happens to the BatchNorm running statistics of the ranks at the end of each epoch.
public enum DistributedBatchNorm: String, Sendable, CaseIterable {
    /// Each rank keeps its own (rank 0's are saved); timm's empty value.
    case none
    /// The mean over the ranks (timm's `reduce`).
    case reduce
    /// Rank 0's, copied to every rank.
    case broadcast
}
