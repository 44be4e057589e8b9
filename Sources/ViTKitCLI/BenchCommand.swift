import ArgumentParser
import Foundation
import ViTKit

/// `vitkit bench`: training-step throughput on a fixed random batch, in the same form as the PyTorch reference
/// (`torch_vit_bench.py`), so the two can be run side by side.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time training steps (forward, loss, backward, AdamW) on a fixed random batch.",
        discussion: "Prints: vitkit train config=… batch=… threads=… img_per_s=<median> step_ms=<min>/<median>/<max> peak_rss_mib=… params=…")

    @OptionGroup var model: ModelOptions
    @OptionGroup var threadOptions: ThreadOptions
    @Option(name: [.customShort("b"), .long], help: "Batch size.") var batch = 128
    @Option(help: "Untimed warmup steps.") var warmup = 2
    @Option(help: "Timed steps.") var steps = 6
    @Option(help: "Number of classes.") var numClasses = 10
    @Flag(help: "Also print where the time goes, per layer kind.") var profile = false

    func validate() throws {
        if batch < 1 { throw ValidationError("--batch must be at least 1, got \(batch)") }
        if steps < 1 || warmup < 0 { throw ValidationError("--steps must be at least 1 and --warmup 0 or more") }
        do { _ = try model.resolve(numClasses: numClasses) } catch let e as ViTKitError { throw ValidationError(e.description) }
    }

    func run() throws {
        try runOrExit {
            let config = try model.resolve(numClasses: numClasses)
            let pool = ThreadPool(threads: threadOptions.threads)
            let vit = try VisionTransformer(config: config, pool: pool)
            var rng = RNG(seed: 0)
            try vit.initialize(.timm, rng: &rng)
            let images = (0..<(batch * config.inChans * config.imgSize * config.imgSize)).map { _ in rng.normal() }
            let labels = (0..<batch).map { _ in Int32(rng.int(below: numClasses)) }
            let opt = AdamW(table: vit.table, eps: 1e-3, weightDecay: 0.01)
            func step() {
                _ = vit.lossAndGradients(images: images, labels: labels, batch: batch, smoothing: 0.1)
                opt.update(pool, params: vit.params, grads: vit.grads, lr: 1e-3)
            }
            for _ in 0..<warmup { step() }
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
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            print(String(format: "vitkit train config=%@ batch=%d threads=%d img_per_s=%.1f step_ms=%.0f/%.0f/%.0f peak_rss_mib=%.0f params=%d",
                         config.name, batch, pool.threadCount, Double(batch) / med, sorted.first! * 1e3, med * 1e3,
                         sorted.last! * 1e3, Double(usage.ru_maxrss) / 1024, vit.parameterCount))
            if let profiler { print(profiler.report(steps: steps)) }
        }
    }
}
