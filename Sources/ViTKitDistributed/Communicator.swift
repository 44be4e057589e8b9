import CMPILoader
import Foundation
import ViTKitCore

/// The processes of one data-parallel run and the collective operations between them. `Communicator.world()`
/// is the whole job: a single process, or, when the program was started by Open MPI's `mpirun`, every rank of
/// it (Open MPI is loaded at run time, so a build without MPI runs as before and the same binary joins a job).
///
/// Every rank must make the same collective calls in the same order with the same counts; the gradients of a
/// step, the evaluation's counts and the start-up checks are such calls.
public final class Communicator: @unchecked Sendable {
    /// This process's index, 0 ..< size; rank 0 prints and writes the run's files.
    public let rank: Int
    /// Number of processes.
    public let size: Int
    /// Whether the collectives go through MPI (false: a single process, where they return at once).
    public let usesMPI: Bool

    private init(rank: Int, size: Int, usesMPI: Bool) { self.rank = rank; self.size = size; self.usesMPI = usesMPI }

    /// One process alone: every collective is the identity.
    public static let single = Communicator(rank: 0, size: 1, usesMPI: false)

    /// Whether this process was started by `mpirun` (Open MPI sets `OMPI_COMM_WORLD_SIZE` for its ranks).
    public static var startedByMPI: Bool { ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil }

    nonisolated(unsafe) private static var joined: Communicator?
    private static let joinLock = NSLock()

    /// The job this process belongs to: under `mpirun`, Open MPI's world (initialised on the first call; later
    /// calls return the same communicator), else `single`. Throws when `mpirun` started the process but Open MPI
    /// cannot be loaded or initialised.
    public static func world() throws -> Communicator {
        guard startedByMPI else { return .single }
        joinLock.lock(); defer { joinLock.unlock() }
        if let joined { return joined }
        var message = [CChar](repeating: 0, count: 512)
        if vitkit_mpi_load(&message, message.count) != 0 {
            throw ViTKitError(String(cString: message))
        }
        var rank: Int32 = 0, size: Int32 = 0
        let rc = vitkit_mpi_init(&rank, &size)
        if rc != 0 { throw ViTKitError("MPI_Init_thread failed with error \(rc)") }
        let c = Communicator(rank: Int(rank), size: Int(size), usesMPI: true)
        joined = c
        return c
    }

    private func check(_ rc: Int32, _ what: String) {
        // MPI's default error handler ends the job before a code comes back; this is for the other codes
        if rc != 0 {
            FileHandle.standardError.write(Data("error: rank \(rank): \(what) failed with MPI error \(rc)\n".utf8))
            abort(code: 1)
        }
    }

    /// Replaces `values` [count] on every rank with their sum over the ranks.
    public func allReduceSum(_ values: UnsafeMutablePointer<Float>, count: Int) {
        guard usesMPI, size > 1, count > 0 else { return }
        check(vitkit_mpi_allreduce_sum_float(values, Int64(count)), "all-reduce of \(count) floats")
    }

    /// Replaces `values` [count] on every rank with their sum over the ranks.
    public func allReduceSum(_ values: UnsafeMutablePointer<Double>, count: Int) {
        guard usesMPI, size > 1, count > 0 else { return }
        check(vitkit_mpi_allreduce_sum_double(values, Int64(count)), "all-reduce of \(count) doubles")
    }

    /// The sum over the ranks of each element of `values`.
    public func allReduceSum(_ values: [Double]) -> [Double] {
        var v = values
        v.withUnsafeMutableBufferPointer { allReduceSum($0.baseAddress!, count: $0.count) }
        return v
    }

    /// Copies rank `root`'s `count` bytes at `bytes` to every other rank's.
    public func broadcast(_ bytes: UnsafeMutableRawPointer, count: Int, root: Int = 0) {
        guard usesMPI, size > 1, count > 0 else { return }
        check(vitkit_mpi_broadcast(bytes, Int64(count), Int32(root)), "broadcast of \(count) bytes")
    }

    /// Copies rank `root`'s floats to every other rank's.
    public func broadcast(_ buffer: AlignedBuffer, root: Int = 0) {
        broadcast(UnsafeMutableRawPointer(buffer.pointer), count: buffer.count * MemoryLayout<Float>.size, root: root)
    }

    /// Every rank's `bytes` (the same length on each), in rank order.
    public func allGather(_ bytes: [UInt8]) -> [[UInt8]] {
        guard usesMPI, size > 1 else { return [bytes] }
        var all = [UInt8](repeating: 0, count: bytes.count * size)
        bytes.withUnsafeBytes { mine in
            all.withUnsafeMutableBytes { check(vitkit_mpi_allgather(mine.baseAddress!, Int64(bytes.count), $0.baseAddress!), "all-gather") }
        }
        return (0..<size).map { Array(all[($0 * bytes.count)..<(($0 + 1) * bytes.count)]) }
    }

    /// Waits until every rank has called it.
    public func barrier() {
        guard usesMPI, size > 1 else { return }
        check(vitkit_mpi_barrier(), "barrier")
    }

    /// Ends every rank of the job with exit status `code` (a single process just exits).
    public func abort(code: Int32) -> Never {
        if usesMPI { _ = vitkit_mpi_abort(code) }
        exit(code)
    }

    /// Leaves MPI (call once, at the end, on every rank); a single process does nothing.
    public func finalize() {
        if usesMPI { _ = vitkit_mpi_finalize() }
    }
}
