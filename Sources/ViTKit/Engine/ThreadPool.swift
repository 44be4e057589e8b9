import Foundation

/// A fixed pool of worker threads that runs one job on all of them at once.
///
/// Work is split statically (thread `t` of `n` always gets the same share), so results do not depend on
/// scheduling: the same thread count gives the same numbers. The calling thread is worker 0. Jobs are
/// non-escaping closures, so dispatching allocates nothing. OpenBLAS is kept at one thread: the pool is
/// the only source of parallelism, which avoids two sets of spinning threads fighting over 2 cores.
public final class ThreadPool: @unchecked Sendable {
    public let threadCount: Int
    private var job: ((Int) -> Void)?
    private let start: [DispatchSemaphore]
    private let done = DispatchSemaphore(value: 0)

    public init(threads: Int) {
        precondition(threads >= 1, "thread count must be at least 1")
        threadCount = threads
        start = (0..<threads).map { _ in DispatchSemaphore(value: 0) }
        for t in 1..<max(threads, 1) where threads > 1 {
            let thread = Thread { [unowned self] in self.workerLoop(t) }
            thread.stackSize = 8 << 20
            thread.start()
        }
        BLAS.setSingleThreaded()
    }

    private func workerLoop(_ t: Int) {
        while true {
            start[t].wait()
            job!(t)
            done.signal()
        }
    }

    /// Runs `body(threadIndex)` on every thread and returns when all have finished.
    public func run(_ body: (Int) -> Void) {
        if threadCount == 1 { body(0); return }
        withoutActuallyEscaping(body) { escapable in
            job = escapable
            for t in 1..<threadCount { start[t].signal() }
            escapable(0)
            for _ in 1..<threadCount { done.wait() }
            job = nil
        }
    }

    /// Splits `0..<count` into `threadCount` contiguous chunks (aligned to `granule`) and runs `body` on each.
    public func parallelFor(_ count: Int, granule: Int = 1, _ body: (Range<Int>) -> Void) {
        if threadCount == 1 || count <= granule { body(0..<count); return }
        run { t in
            let r = ThreadPool.chunk(count, part: t, of: threadCount, granule: granule)
            if !r.isEmpty { body(r) }
        }
    }

    /// The `part`-th of `parts` contiguous chunks of `0..<count`, boundaries rounded to `granule`.
    @inline(__always)
    public static func chunk(_ count: Int, part: Int, of parts: Int, granule: Int = 1) -> Range<Int> {
        let units = (count + granule - 1) / granule
        let lo = min(count, units * part / parts * granule)
        let hi = min(count, units * (part + 1) / parts * granule)
        return lo..<hi
    }
}
