import Foundation
import XCTest
@testable import ViTKit
@testable import ViTKitCore
@testable import ViTKitData
@testable import ViTKitIO
@testable import ViTKitImaging
@testable import ViTKitModels
@testable import ViTKitNN
@testable import ViTKitPictures
@testable import ViTKitTraining

final class ThreadPoolTests: XCTestCase {
    /// Counts, per thread, how many times its share of a job ran.
    struct CountJob: ParallelJob {
        let counts: UnsafeMutablePointer<Int>
        func run(thread: Int, of threads: Int) { counts[thread] += 1 }
    }

    /// Every job runs exactly once on every thread, also when the caller is descheduled between publishing a job
    /// and waking the sleeping workers.
    ///
    /// A worker that sees the job while it is still awake runs it, goes back to sleep, and then receives the
    /// caller's late wake-up for that same job. It must not run the job a second time: it once did, which read a
    /// stale job pointer (a crash in GELU) or left the pending count at −1 (a hang), in about one training test
    /// run in 25. The pause after publishing stands for the preemption; without spinning, workers sleep at once.
    func testEveryJobRunsOnceOnEveryThreadWhenTheWakeUpIsLate() {
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: 3)
        defer { counts.deallocate() }
        for (spinLimit, pause) in [(0, 200), (0, 0), (40_000, 0), (100, 50)] as [(Int, UInt32)] {
            let pool = ThreadPool(threads: 3, spinLimit: spinLimit)
            if pause > 0 { pool.afterPublish = { usleep(pause) } }
            counts.initialize(repeating: 0, count: 3)
            let jobs = pause > 0 ? 1000 : 10_000
            for j in 1...jobs {
                pool.run(CountJob(counts: counts))
                if (0..<3).contains(where: { counts[$0] != j }) {
                    XCTFail("spin \(spinLimit), pause \(pause) µs: after job \(j) the threads ran \((0..<3).map { counts[$0] }) times")
                    break
                }
            }
            pool.afterPublish = nil
        }
    }

    /// A pool that goes away stops its workers: they neither touch the freed pool (a command that failed before
    /// computing once aborted with "read an unowned reference … already destroyed") nor stay behind as threads.
    func testAPoolThatGoesAwayStopsItsWorkers() throws {
        func threadsNow() throws -> Int { try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count }
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: 4)
        defer { counts.deallocate() }
        let before = try threadsNow()
        for round in 0..<60 {
            // spinning workers, sleeping workers, and pools dropped without ever running a job
            let pool = ThreadPool(threads: 4, spinLimit: round % 3 == 0 ? 0 : 40_000)
            counts.initialize(repeating: 0, count: 4)
            if round % 2 == 0 { for _ in 0..<5 { pool.run(CountJob(counts: counts)) } }
            if round % 6 == 0 { usleep(2000) }  // let the workers fall asleep
            XCTAssertEqual((0..<4).map { counts[$0] }, [Int](repeating: round % 2 == 0 ? 5 : 0, count: 4))
        }
        // a worker signals that it stopped just before its thread ends: give the threads a moment to be gone
        var after = try threadsNow()
        for _ in 0..<200 where after > before { usleep(10_000); after = try threadsNow() }
        XCTAssertLessThanOrEqual(after, before, "threads left behind after 60 pools of 4 threads came and went")
    }

    func testChunksCoverTheRangeOnGranules() {
        for (count, parts, granule) in [(0, 2, 1), (10, 3, 1), (100, 4, 8), (7, 8, 1), (130, 2, 64)] {
            let chunks = (0..<parts).map { ThreadPool.chunk(count, part: $0, of: parts, granule: granule) }
            XCTAssertEqual(chunks.map(\.count).reduce(0, +), count)
            XCTAssertEqual(chunks.first?.lowerBound, 0)
            for (a, b) in zip(chunks, chunks.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound) }
            for c in chunks.dropLast() { XCTAssertEqual(c.upperBound % granule, 0, "\(count) \(parts) \(granule)") }
        }
    }

    /// Tasks by whoever is free: every task runs once; with one thread slowed (standing for a busy core) the other
    /// takes most of them; a range job's chunks, handed out so, give the numbers of a fixed split.
    struct SlowedTasks: ParallelTaskJob {
        let ranBy: UnsafeMutablePointer<Int>, taskCount: Int
        func run(task: Int, thread: Int) {
            if thread == 1 { usleep(2_000) }
            ranBy[task] = thread + 1  // each task's own slot: no two threads write the same one
        }
    }

    struct SquareRange: ParallelRangeJob {
        let x: UnsafeMutablePointer<Float>, count: Int, chunksPerThread: Int
        var granule: Int { 8 }
        func run(_ r: Range<Int>) { for i in r { x[i] = Float(i).squareRoot() * 1.5 + x[i] } }
    }

    func testTasksGoToWhicheverThreadIsFree() {
        let pool = ThreadPool(threads: 2), n = 200
        let ranBy = UnsafeMutablePointer<Int>.allocate(capacity: n)
        defer { ranBy.deallocate() }
        ranBy.initialize(repeating: 0, count: n)
        pool.run(tasks: SlowedTasks(ranBy: ranBy, taskCount: n))
        let owners = Array(UnsafeBufferPointer(start: ranBy, count: n))
        XCTAssert(owners.allSatisfy { $0 == 1 || $0 == 2 }, "every task ran")
        XCTAssertGreaterThan(owners.filter { $0 == 1 }.count, 150, "the free thread took most of the tasks")
        let dynamic = AlignedBuffer(count: 1001), fixed = AlignedBuffer(count: 1001)
        pool.run(SquareRange(x: dynamic.pointer, count: 1001, chunksPerThread: 4))
        pool.run(SquareRange(x: fixed.pointer, count: 1001, chunksPerThread: 1))
        XCTAssertEqual(dynamic.array, fixed.array)
        XCTAssertEqual(dynamic.array[1000], Float(1000).squareRoot() * 1.5)
        XCTAssertEqual(ThreadPool.gemmChunks(rows: 8192, threads: 2), 4)
        XCTAssertEqual(ThreadPool.gemmChunks(rows: 768, threads: 2), 1, "a weight gradient's GEMM keeps one chunk per thread")
    }
}
