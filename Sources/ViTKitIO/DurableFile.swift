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

    /// Writes `data` to `path` so that a crash leaves the old file or the new one, never a part: a temporary file
    /// beside it, flushed, then renamed over it.
    public static func write(_ data: Data, to path: String) throws {
        let tmp = temporaryPath(for: path)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if fd < 0 { throw ViTKitError("cannot write \(path): \(String(cString: strerror(errno))); check that the folder exists and is writable") }
        var failure: String?
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            if pauseMidWrite == 0 {
                failure = writeAll(fd, raw)
            } else {  // the crash test's half-written file
                let half = raw.count / 2
                failure = writeAll(fd, UnsafeRawBufferPointer(rebasing: raw[..<half]))
                if failure == nil { usleep(pauseMidWrite); failure = writeAll(fd, UnsafeRawBufferPointer(rebasing: raw[half...])) }
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

    /// Writes all of `bytes` to `fd`, retrying short writes and EINTR; the system's reason on failure.
    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> String? {
        var done = 0
        while done < bytes.count {
            let n = Foundation.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return String(cString: strerror(errno)) }
            done += n
        }
        return nil
    }

    /// Removes temporary files that an interrupted writer left in `folder` (`*.tmp-<pid>`).
    public static func removeStale(in folder: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for n in names where n.range(of: #"\.tmp-[0-9]+$"#, options: .regularExpression) != nil {
            try? FileManager.default.removeItem(atPath: (folder as NSString).appendingPathComponent(n))
        }
    }
}
