import Foundation
import ViTKitCore

/// Files replaced whole and durably: write a temporary file beside the target, fsync it, rename it over the
/// target, fsync the folder. Readers see the old file or the new one, never a mixture, even after `kill -9` or
/// a power cut.
public enum DurableFile {
    /// The temporary name used while writing `path` (`<path>.tmp-<pid>`).
    public static func temporaryPath(for path: String) -> String { path + ".tmp-\(getpid())" }

    /// For the crash test only: microseconds to pause halfway through each write (environment variable
    /// VITKIT_TEST_WRITE_PAUSE_US), so that a `kill -9` can be sent while a file is half written.
    static let pauseMidWrite = UInt32(ProcessInfo.processInfo.environment["VITKIT_TEST_WRITE_PAUSE_US"] ?? "") ?? 0

    public static func write(_ data: Data, to path: String) throws {
        let tmp = temporaryPath(for: path)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if fd < 0 { throw ViTKitError("cannot write \(path): \(String(cString: strerror(errno))); check that the folder exists and is writable") }
        var failure: String?
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var done = 0, paused = pauseMidWrite == 0
            while done < raw.count {
                if !paused && done >= raw.count / 2 { usleep(pauseMidWrite); paused = true }
                let n = Foundation.write(fd, raw.baseAddress! + done, (paused ? raw.count : raw.count / 2) - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { failure = String(cString: strerror(errno)); return }
                done += n
            }
        }
        if failure == nil && fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        close(fd)
        if let failure { unlink(tmp); throw ViTKitError("cannot write \(path) (through \(tmp), removed): \(failure)") }
        if rename(tmp, path) != 0 {
            let err = String(cString: strerror(errno))
            unlink(tmp)
            throw ViTKitError("cannot rename \(tmp) to \(path): \(err)")
        }
        let dir = open((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent, O_RDONLY)
        if dir >= 0 { fsync(dir); close(dir) }
    }

    /// Removes temporary files that an interrupted writer left in `folder` (`*.tmp-<pid>`).
    public static func removeStale(in folder: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for n in names where n.range(of: #"\.tmp-[0-9]+$"#, options: .regularExpression) != nil {
            try? FileManager.default.removeItem(atPath: (folder as NSString).appendingPathComponent(n))
        }
    }
}
