import Foundation
import Synchronization

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

/// A job over `0..<count`, cut into `chunksPerThread` contiguous chunks per thread (boundaries rounded to
/// `granule`) that the pool hands out to whichever thread is free. The chunks depend only on the count, the
/// granule and the thread count, so a given thread count gives the same numbers however the threads are scheduled.
public protocol ParallelRangeJob: ParallelJob {
    var count: Int { get }
    var granule: Int { get }
    /// Chunks per thread: 1 is a fixed split, more lets a thread on a busy core do less.
    var chunksPerThread: Int { get }
    func run(_ range: Range<Int>)
}

extension ParallelRangeJob {
    /// Ranges are split in multiples of 1 by default.
    public var granule: Int { 1 }
    /// Four chunks per thread unless a job says otherwise.
    public var chunksPerThread: Int { 4 }
    /// Runs this thread's share of `0..<count` (a contiguous chunk, a multiple of `granule`).
    public func run(thread: Int, of threads: Int) {
        let r = ThreadPool.chunk(count, part: thread, of: threads, granule: granule)
        if !r.isEmpty { run(r) }
    }
}

/// Work cut into independent tasks that the pool hands out one at a time to whichever thread is free, so a
/// thread slowed by a busy core does not hold the others up. A task's result must depend only on the task (the
/// thread index is for per-thread scratch), which keeps the numbers independent of scheduling.
public protocol ParallelTaskJob {
    /// Number of tasks, `0..<taskCount`.
    var taskCount: Int { get }
    /// Does task `task` on pool thread `thread`.
    func run(task: Int, thread: Int)
}

/// A range job's chunks as tasks.
struct RangeChunks<Job: ParallelRangeJob>: ParallelTaskJob {
    let job: Job, parts: Int
    var taskCount: Int { parts }

    func run(task: Int, thread: Int) {
        let r = ThreadPool.chunk(job.count, part: task, of: parts, granule: job.granule)
        if !r.isEmpty { job.run(r) }
    }
}

/// The shared counter a task job's threads take task numbers from.
final class TaskCounter: @unchecked Sendable {
    let next = Atomic<Int>(0)
}

/// Runs a task job on every pool thread: each takes the next task number until none is left.
struct TaskHandOut<Job: ParallelTaskJob>: ParallelJob {
    let job: Job
    unowned(unsafe) let counter: TaskCounter

    func run(thread: Int, of threads: Int) {
        let n = job.taskCount
        while true {
            let task = counter.next.add(1, ordering: .relaxed).oldValue
            if task >= n { return }
            job.run(task: task, thread: thread)
        }
    }
}

/// A fixed pool of worker threads that runs one job on all of them at once.
///
/// A job runs on every thread at once, split statically (thread `t` of `n` always gets the same share), or as
/// tasks and range chunks handed out to whichever thread is free, so that a thread on a busy core holds the others
/// up less. Either way the work's pieces depend only on its size and the thread count, so results do not depend on
/// scheduling: the same thread count gives the same numbers. The calling thread is worker 0. OpenBLAS is kept
/// at one thread: the pool is the only source of parallelism, which avoids two sets of spinning threads
/// fighting over the cores.
///
/// Waking a sleeping thread costs tens of microseconds, which is more than many jobs take, so an idle worker
/// first spins on the job counter for a short while and only then sleeps on its semaphore; the caller spins
/// while it waits for the others to finish.
///
/// The worker threads hold the pool's shared state, never the pool itself: when the last reference to the pool
/// goes (a command that fails before it computes anything, say), `deinit` publishes a stop, wakes the sleepers
/// and waits until every worker has left its loop.
public final class ThreadPool: @unchecked Sendable {
    /// Number of threads that run a job, the calling thread included.
    public let threadCount: Int
    private let shared: Shared
    private let taskCounter = TaskCounter()
    /// Spins an idle worker makes before it sleeps (tests lower it, to make the sleep-and-wake path common).
    var spinLimit: Int { shared.spinLimit }
    /// Runs between publishing a job and waking the sleeping workers: tests use it to stand for the caller being
    /// descheduled there.
    var afterPublish: (() -> Void)?

    final class Worker: Sendable {
        let sleeping = Atomic<Bool>(false)
        let wake = DispatchSemaphore(value: 0)
    }

    /// What the caller and the workers share; the worker threads keep it alive until they have stopped.
    private final class Shared: @unchecked Sendable {
        var job: UnsafeRawPointer?
        var jobType: (any ParallelJob.Type)?
        /// Bumped once per job (and once for the stop); workers watch it.
        let generation = Atomic<Int>(0)
        /// Workers still running the current job.
        let pending = Atomic<Int>(0)
        /// Set, before the last bump of `generation`, when the pool is going away.
        let stopping = Atomic<Bool>(false)
        /// Signalled once by each worker as it leaves its loop.
        let stopped = DispatchSemaphore(value: 0)
        let workers: [Worker]
        let threadCount: Int
        let spinLimit: Int

        init(threads: Int, spinLimit: Int) {
            threadCount = threads
            self.spinLimit = spinLimit
            workers = (0..<threads).map { _ in Worker() }
        }

        func workerLoop(_ t: Int) {
            let me = workers[t]
            var seen = 0
            while true {
                var g = generation.load(ordering: .acquiring), spins = 0
                while g == seen && spins < spinLimit { spins += 1; g = generation.load(ordering: .acquiring) }
                if g == seen {
                    // announce the sleep, then look once more: either we see the new job or the caller sees the flag
                    me.sleeping.store(true, ordering: .sequentiallyConsistent)
                    g = generation.load(ordering: .sequentiallyConsistent)
                    if g == seen {
                        // The wake-up may be a late one, for a job this worker already ran while the caller was
                        // descheduled between publishing it and waking the sleepers: look again rather than run.
                        me.wake.wait()
                        continue
                    } else if !me.sleeping.exchange(false, ordering: .sequentiallyConsistent) {
                        me.wake.wait()  // the caller took the flag and signals: consume that signal
                    }
                }
                seen = g
                if stopping.load(ordering: .acquiring) { break }
                jobType!.invoke(job!, t, threadCount)
                pending.subtract(1, ordering: .releasing)
            }
            stopped.signal()
        }

        /// Bumps the generation and wakes every sleeping worker.
        func publish(after hook: (() -> Void)?) {
            generation.add(1, ordering: .sequentiallyConsistent)
            hook?()
            for w in workers.dropFirst() where w.sleeping.exchange(false, ordering: .sequentiallyConsistent) {
                w.wake.signal()
            }
        }
    }

    /// A pool of `threads` threads (the caller and `threads − 1` workers).
    public convenience init(threads: Int) { self.init(threads: threads, spinLimit: 40_000) }

    /// A pool of one thread per core, made on first use: what models use when given none.
    public static let shared = ThreadPool(threads: max(1, ProcessInfo.processInfo.activeProcessorCount))

    init(threads: Int, spinLimit: Int) {
        precondition(threads >= 1, "thread count must be at least 1")
        threadCount = threads
        let shared = Shared(threads: threads, spinLimit: spinLimit)
        self.shared = shared
        for t in 1..<max(threads, 1) where threads > 1 {
            let thread = Thread { shared.workerLoop(t) }
            thread.stackSize = 8 << 20
            thread.start()
        }
        BLAS.setSingleThreaded()
    }

    deinit {
        guard threadCount > 1 else { return }
        shared.stopping.store(true, ordering: .releasing)
        shared.publish(after: nil)
        for _ in 1..<threadCount { shared.stopped.wait() }
    }

    /// Runs `job` on every thread and returns when all have finished.
    public func run<Job: ParallelJob>(_ job: Job) { dispatch(job) }

    private func dispatch<Job: ParallelJob>(_ job: Job) {
        if threadCount == 1 { job.run(thread: 0, of: 1); return }
        withUnsafePointer(to: job) { p in
            shared.job = UnsafeRawPointer(p)
            shared.jobType = Job.self
            shared.pending.store(threadCount - 1, ordering: .relaxed)
            shared.publish(after: afterPublish)
            job.run(thread: 0, of: threadCount)
            var spins = 0
            while shared.pending.load(ordering: .acquiring) > 0 {
                spins += 1
                if spins > shared.spinLimit { sched_yield() }
            }
            shared.job = nil
            shared.jobType = nil
        }
    }

    /// Runs `job` over its range: a fixed split with one chunk per thread, or its chunks handed out as tasks.
    public func run<Job: ParallelRangeJob>(_ job: Job) {
        let chunks = max(1, job.chunksPerThread)
        if threadCount == 1 || chunks == 1 {
            dispatch(job)
        } else {
            run(tasks: RangeChunks(job: job, parts: threadCount * chunks))
        }
    }

    /// Runs `job`'s tasks on all threads, each thread taking the next task when it finishes one; returns when
    /// all are done.
    public func run<Job: ParallelTaskJob>(tasks job: Job) {
        let n = job.taskCount
        if threadCount == 1 || n <= 1 {
            for task in 0..<n { job.run(task: task, thread: 0) }
            return
        }
        taskCounter.next.store(0, ordering: .relaxed)  // published to the workers by run's generation bump
        dispatch(TaskHandOut(job: job, counter: taskCounter))
    }

    /// The `part`-th of `parts` contiguous chunks of `0..<count`, boundaries rounded to `granule`.
    @inlinable @inline(__always)
    public static func chunk(_ count: Int, part: Int, of parts: Int, granule: Int = 1) -> Range<Int> {
        let units = (count + granule - 1) / granule
        let lo = min(count, units * part / parts * granule)
        let hi = min(count, units * (part + 1) / parts * granule)
        return lo..<hi
    }
}
