import ArgumentParser
import Foundation
import ViTKit

/// `vitkit bench`: training-step throughput on a fixed random batch, in the same form as the PyTorch reference
/// (`torch_vit_bench.py`), so the two can be run side by side.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time training steps (forward, loss, backward, AdamW) of a ViT or ConvMixer on a fixed random batch.",
        discussion: """
        Prints: vitkit train config=… batch=… threads=… img_per_s=<median> step_ms=<min>/<median>/<max> peak_rss_mib=… params=…
        gflop_per_s=… peak_gflop_per_s=… peak_share=…: the step's model FLOPs (counted from the shapes: every matrix
        product, forward and both gradients, and a teacher's forward) over the median step time, and that rate's
        share of the FMA peak that a probe measures right after, on the same threads.
        Under mpirun each step also averages the gradients across the processes, as training does, and the line
        adds ranks=N, img_per_s over all ranks, and the gradient all-reduce's median time, its bus bandwidth
        (2(N−1)/N × bytes / time, as NCCL's tests report it) and its share of the step, and wait_ms: how long a
        rank waited for the others to finish backward before it (timed apart, after a barrier).
        """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var threadOptions: ThreadOptions
    @Option(name: [.customShort("b"), .long], help: "Batch size.") var batch = 128
    @Option(help: "Untimed warmup steps.") var warmup = 2
    @Option(help: "Timed steps.") var steps = 6
    @Option(help: "Number of classes.") var numClasses = 10
    @Flag(help: "Also print where the time goes, per layer kind.") var profile = false
    @Option(help: ArgumentHelp("Also run the input pipeline: each step takes its batch from the prefetching loader over "
        + "random bytes, augmented with this RandAugment string (flips on), or 'none' (normalisation only, no flips)."))
    var augment: String? = nil
    @Option(name: [.customShort("j"), .long], help: "Loader threads with --augment (0: in the training thread).")
    var workers = 1
    @Option(help: ArgumentHelp("Distil in each step from this teacher checkpoint (soft, DeiT's loss): the student gets a distillation "
        + "token and head, and the step runs the teacher's forward too.", valueName: "file"))
    var distillTeacher: String?
    @Option(help: "The teacher's named model: for a --distill-teacher file that records none, or alone a fresh teacher at the student's size.")
    var teacherModel: String?

    func validate() throws {
        if batch < 1 { throw ValidationError("--batch must be at least 1, got \(batch)") }
        if steps < 1 || warmup < 0 { throw ValidationError("--steps must be at least 1 and --warmup 0 or more") }
        if workers < 0 { throw ValidationError("--workers must be 0 or more, got \(workers)") }
        if let a = augment, a.lowercased() != "none" {
            do { _ = try RandAugment(config: a, mean: [0.5, 0.5, 0.5]) } catch let e as ViTKitError { throw ValidationError(e.description) }
        }
        do { _ = try model.architecture(numClasses: numClasses) } catch let e as ViTKitError { throw ValidationError(e.description) }
    }

    func run() throws {
        let world = try Communicator.world()
        if world.rank != 0 { _ = freopen("/dev/null", "w", stdout) }
        defer { world.finalize() }
        try runOrExit {
            let distilling = distillTeacher != nil || teacherModel != nil
            let config = try model.architecture(numClasses: numClasses, distilled: distilling ? true : nil)
            let pool = ThreadPool(threads: threadOptions.threads)
            let vit = try config.makeModel(pool: pool)
            var rng = RNG(seed: 0)
            try vit.initialize(.timm, rng: &rng)
            var teacherOverrides = ModelOverrides()
            teacherOverrides.imgSize = config.imgSize; teacherOverrides.imgWidth = config.inputWidth; teacherOverrides.inChans = config.inChans
            let teacher: (any ImageClassifier)? = try distillTeacher.map {
                try TrainCommand.loadTeacher($0, model: teacherModel, student: config, pool: pool)
            } ?? teacherModel.map { name in
                let t = try ModelConfig.named(name, numClasses: numClasses, overrides: teacherOverrides).makeModel(pool: pool)
                try t.initialize(.timm, rng: &rng)
                return t
            }
            let distiller = try teacher.map { try Distiller(student: vit, teacher: $0, loss: DistillationLoss(kind: .soft)) }
            let images = (0..<(batch * config.inChans * config.imgSize * config.imgSize)).map { _ in rng.normal() }
            let labels = (0..<batch).map { _ in Int32(rng.int(below: numClasses)) }
            let opt = AdamW(table: vit.table, eps: 1e-3, weightDecay: 0.01)
            let loader = try augment.map { aa -> PrefetchLoader in
                let s = config.imgSize, c = config.inChans, n = batch * (warmup + steps)
                let bytes = (0..<(n * c * s * s)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                let ds = ImageDataset(name: "random", images: bytes, labels: (0..<n).map { Int32($0 % numClasses) },
                                      channels: c, size: s, numClasses: numClasses, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25])
                let none = aa.lowercased() == "none"
                let t = TrainTransform(hflip: none ? 0 : 0.5,
                                       randAugment: none ? nil : try RandAugment(config: aa, mean: ds.mean))
                let l = PrefetchLoader(dataset: ds, batchSize: batch, transform: t, seed: 0, workers: workers)
                l.start(epoch: 0, order: Array(0..<n))
                return l
            }
            defer { loader?.stop() }
            let parallel = DataParallel(communicator: world)
            var reduceTimes: [Double] = [], waitTimes: [Double] = []
            reduceTimes.reserveCapacity(warmup + steps); waitTimes.reserveCapacity(warmup + steps)
            func step() {
                if let loader {
                    let b = try! loader.next()  // pictures in memory: nothing to decode, nothing can fail
                    if let distiller {
                        _ = distiller.lossAndGradients(student: vit, images: b.images, labels: b.labels, targets: nil, smoothing: 0.1, batch: batch)
                    } else {
                        _ = vit.lossAndGradients(images: b.images, labels: b.labels, batch: batch, smoothing: 0.1)
                    }
                    loader.release()
                } else if let distiller {
                    _ = distiller.lossAndGradients(student: vit, images: images, labels: labels, targets: nil, smoothing: 0.1, batch: batch)
                } else {
                    _ = vit.lossAndGradients(images: images, labels: labels, batch: batch, smoothing: 0.1)
                }
                if world.size > 1 {
                    // the ranks finish backward at different times: wait for all, so the time is the all-reduce's own
                    let w0 = DispatchTime.now().uptimeNanoseconds
                    world.barrier()
                    let r0 = DispatchTime.now().uptimeNanoseconds
                    waitTimes.append(Double(r0 - w0) / 1e9)
                    _ = parallel.reduce(gradients: vit.grads, loss: 0)
                    reduceTimes.append(Double(DispatchTime.now().uptimeNanoseconds - r0) / 1e9)
                }
                opt.update(pool, params: vit.params, grads: vit.grads, lr: 1e-3)
            }
            for _ in 0..<warmup { step() }
            reduceTimes.removeAll(keepingCapacity: true); waitTimes.removeAll(keepingCapacity: true)
            let profiler = profile ? LayerProfiler() : nil
            LayerProfiler.active = profiler
            var times: [Double] = []
            times.reserveCapacity(steps)
            for _ in 0..<steps {
                let t0 = DispatchTime.now().uptimeNanoseconds
                step()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            }
            LayerProfiler.active = nil
            let sorted = times.sorted(), mid = sorted.count / 2
            let med = sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2  // as statistics.median
            var parallelText = ""
            if world.size > 1 {
                let r = reduceTimes.sorted()[reduceTimes.count / 2], bytes = Double(vit.grads.count * 4), n = Double(world.size)
                let w = waitTimes.sorted()[waitTimes.count / 2]
                parallelText = String(format: " ranks=%d global_img_per_s=%.1f allreduce_ms=%.2f allreduce_bus_gbps=%.2f allreduce_share=%.3f grad_mib=%.1f wait_ms=%.1f",
                                      world.size, n * Double(batch) / med, r * 1e3, 2 * (n - 1) / n * bytes / r / 1e9, r / med, bytes / 1048576,
                                      w * 1e3)
            }
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            // the model's FLOPs over the median step, against the FMA peak measured now, on the same threads
            let flops = config.trainingFLOPs(batch: batch) + (teacher.map { $0.architecture.inferenceFLOPs(batch: batch) } ?? 0)
            let rate = flops / med / 1e9, peak = PeakProbe.gflops(pool: pool)
            print(String(format: "vitkit train config=%@ batch=%d threads=%d img_per_s=%.1f step_ms=%.0f/%.0f/%.0f peak_rss_mib=%.0f params=%d",
                         config.name, batch, pool.threadCount, Double(batch) / med, sorted.first! * 1e3, med * 1e3,
                         sorted.last! * 1e3, Double(usage.ru_maxrss) / 1024, vit.parameterCount)
                + String(format: " gflop_per_s=%.1f peak_gflop_per_s=%.1f peak_share=%.2f", rate, peak, rate / peak)
                + (augment.map { " augment=\($0) workers=\(workers)" } ?? "") + (teacher.map { " teacher=\($0.name) teacher_params=\($0.parameterCount)" } ?? "")
                + parallelText)
            if let profiler { print(profiler.report(steps: steps)) }
        }
    }
}
