import Foundation

/// Work that a ThreadPool runs on all of its threads at once: a small struct of raw pointers and sizes.
///
/// The pool hands each worker a pointer to the caller's value, so dispatching allocates nothing (a closure
/// would need `withoutActuallyEscaping`, which boxes it on the heap on every call).
public protocol ParallelJob {
    /// Does thread `thread`'s share of the work (`thread` in 0..<threads).
    func run(thread: Int, of threads: Int)
}

extension ParallelJob {
    fileprivate static func invoke(_ job: UnsafeRawPointer, _ thread: Int, _ threads: Int) {
        job.assumingMemoryBound(to: Self.self).pointee.run(thread: thread, of: threads)
    }
}

/// A job over `0..<count`, cut into one contiguous chunk per thread (boundaries rounded to `granule`).
public protocol ParallelRangeJob: ParallelJob {
    var count: Int { get }
    var granule: Int { get }
    func run(_ range: Range<Int>)
}

extension ParallelRangeJob {
    public var granule: Int { 1 }
    public func run(thread: Int, of threads: Int) {
        let r = ThreadPool.chunk(count, part: thread, of: threads, granule: granule)
        if !r.isEmpty { run(r) }
    }
}

/// A fixed pool of worker threads that runs one job on all of them at once.
///
/// Work is split statically (thread `t` of `n` always gets the same share), so results do not depend on
/// scheduling: the same thread count gives the same numbers. The calling thread is worker 0. OpenBLAS is kept
/// at one thread: the pool is the only source of parallelism, which avoids two sets of spinning threads
/// fighting over the cores.
public final class ThreadPool: @unchecked Sendable {
    public let threadCount: Int
    private var job: UnsafeRawPointer?
    private var jobType: (any ParallelJob.Type)?
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
            jobType!.invoke(job!, t, threadCount)
            done.signal()
        }
    }

    /// Runs `job` on every thread and returns when all have finished.
    public func run<Job: ParallelJob>(_ job: Job) {
        if threadCount == 1 { job.run(thread: 0, of: 1); return }
        withUnsafePointer(to: job) { p in
            self.job = UnsafeRawPointer(p)
            jobType = Job.self
            for t in 1..<threadCount { start[t].signal() }
            job.run(thread: 0, of: threadCount)
            for _ in 1..<threadCount { done.wait() }
            self.job = nil
            jobType = nil
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
