import Foundation

/// Errors a user can cause: every message names the thing, the value and what was expected.
public struct ViTKitError: Error, CustomStringConvertible, Equatable {
    /// The message, naming the file or value and what was expected.
    public let description: String
    /// An error with this message.
    public init(_ message: String) { description = message }

    /// `error` as one plain line. A Foundation file error (an output path that is a file, a folder that cannot be
    /// written) becomes "cannot `action` PATH: the system's reason" instead of its `NSCocoaErrorDomain` dump.
    public init(_ error: Error, action: String = "use") {
        if let e = error as? ViTKitError { self = e; return }
        let ns = error as NSError
        let path = ns.userInfo[NSFilePathErrorKey] as? String ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
        var reason = ns.localizedDescription
        // on Linux the underlying error may be a Swift POSIXError, which `as? NSError` does not match
        if let under = ns.userInfo[NSUnderlyingErrorKey] as? Error {
            let u = under as NSError
            reason = u.domain == NSPOSIXErrorDomain ? String(cString: strerror(Int32(u.code))) : u.localizedDescription
        } else if ns.domain == NSPOSIXErrorDomain {
            reason = String(cString: strerror(Int32(ns.code)))
        }
        self.init(path.map { "cannot \(action) \($0): \(reason)" } ?? reason)
    }
}

/// Folders made as a user expects them to be: the reason in one line when it cannot be done.
public enum FileSystem {
    /// Creates the folder `path` and any missing parents; a file in the way, or a folder that cannot be written, is
    /// a `ViTKitError` naming the path.
    public static func createFolder(_ path: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            if isDir.boolValue { return }
            throw ViTKitError("cannot create folder \(path): a file of that name is there")
        }
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw ViTKitError(error, action: "create folder")
        }
    }
}
