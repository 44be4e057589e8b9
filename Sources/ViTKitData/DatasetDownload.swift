import Foundation
#if canImport(FoundationNetworking) && !VITKIT_NO_URLSESSION
import FoundationNetworking
#endif
import ViTKitCore
import ViTKitIO
import ViTKitImaging

/// timm's `--dataset-download`: the datasets' files from their publishers, each checked against the published MD5,
/// resumed (HTTP Range) when a previous download stopped part-way, and archives unpacked into the data folder.
public enum DatasetDownload {
    /// One file to fetch: its address, published MD5, and whether it is a .tar.gz to unpack (dropping the archive's
    /// top folder, so the data files land directly in the data folder).
    public struct Resource: Sendable {
        /// Where the file is fetched from.
        public var url: String
        /// Its published MD5, checked before it is used.
        public var md5: String
        /// Whether it is a .tar.gz to unpack in place.
        public var unpack: Bool
        /// The file's name in the data folder.
        public var fileName: String { (url as NSString).lastPathComponent }
    }

    /// The files of a dataset, and those whose presence means it is already there.
    public static func resources(for dataset: String) throws -> (files: [Resource], expected: [String]) {
        switch dataset {
        case "cifar10":
            return ([Resource(url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
                              md5: "c32a1d4ab5d03f1284b67883e8d87530", unpack: true)],
                    (1...5).map { "data_batch_\($0).bin" } + ["test_batch.bin"])
        case "cifar100":
            return ([Resource(url: "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
                              md5: "03b5dce01913d631647c71ecec9e9cb8", unpack: true)], ["train.bin", "test.bin"])
        case "svhn":
            return ([Resource(url: "http://ufldl.stanford.edu/housenumbers/train_32x32.mat",
                              md5: "e26dedcc434d2e4c54c9b2d4a06d8373", unpack: false),
                     Resource(url: "http://ufldl.stanford.edu/housenumbers/test_32x32.mat",
                              md5: "eb5a983be6a315427106f1b164d9cef3", unpack: false)],
                    ["train_32x32.mat", "test_32x32.mat"])
        default:
            throw ViTKitError("--dataset-download knows cifar10, cifar100 and svhn, not '\(dataset)'")
        }
    }

    /// Makes sure `directory` holds `dataset`: fetches, checks and unpacks what is missing. `progress` gets
    /// (file, bytes so far, total bytes or nil).
    public static func ensure(_ dataset: String, in directory: String,
                              progress: ((String, Int, Int?) -> Void)? = nil) throws {
        let (files, expected) = try resources(for: dataset)
        try ensure(files, expected: expected, in: directory, progress: progress)
    }

    /// Makes sure every file of `expected` is in `directory`: when one is missing, fetches each of `files` not yet
    /// there (MD5-checked) and unpacks the archives; throws naming what is still missing.
    public static func ensure(_ files: [Resource], expected: [String], in directory: String,
                              progress: ((String, Int, Int?) -> Void)? = nil) throws {
        let fm = FileManager.default
        if expected.allSatisfy({ fm.fileExists(atPath: (directory as NSString).appendingPathComponent($0)) }) { return }
        try FileSystem.createFolder(directory)
        for r in files {
            let path = (directory as NSString).appendingPathComponent(r.fileName)
            if !fm.fileExists(atPath: path) { try fetch(r, to: path, progress: progress) }
            if r.unpack {
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                let tar = try data.withUnsafeBytes { try Zlib.inflate($0, what: path, gzip: true) }
                try Tar.extract(tar, to: directory, stripComponents: 1, what: path)
                try fm.removeItem(atPath: path)
            }
        }
        let missing = expected.filter { !fm.fileExists(atPath: (directory as NSString).appendingPathComponent($0)) }
        if !missing.isEmpty {
            throw ViTKitError("downloaded into \(directory) but \(missing.joined(separator: ", ")) are still missing")
        }
    }

    /// Downloads `r` to `path` through `path.part` (resumed with a Range request when it exists), checks the MD5
    /// and renames; a mismatch removes the file and says so.
    public static func fetch(_ r: Resource, to path: String, progress: ((String, Int, Int?) -> Void)? = nil) throws {
        let part = path + ".part"
        let fm = FileManager.default
        if !fm.fileExists(atPath: part) { _ = fm.createFile(atPath: part, contents: nil) }
        func size() -> Int { ((try? fm.attributesOfItem(atPath: part))?[.size] as? Int) ?? 0 }
        do {
            try HTTPFetch(url: r.url, file: part, resumeFrom: size(), progress: progress.map { p in { p(r.fileName, $0, $1) } }).run()
        } catch {
            if size() == 0 { try? fm.removeItem(atPath: part) }  // nothing fetched: nothing to resume from
            throw error
        }
        let got = try MD5.hex(file: part)
        if got != r.md5 {
            try? fm.removeItem(atPath: part)
            throw ViTKitError("checksum mismatch for \(r.url): MD5 \(got), expected \(r.md5); the file was removed, "
                + "run again to download it anew")
        }
        try? fm.removeItem(atPath: path)
        try fm.moveItem(atPath: part, toPath: path)
    }
}

#if VITKIT_NO_URLSESSION
/// The release binary's download (`scripts/release.sh` builds with VITKIT_NO_URLSESSION, so that no libcurl is
/// linked): the `curl` command, when the system has one, appending to the part file from `resumeFrom`.
final class HTTPFetch {
    let url: String, file: String, resumeFrom: Int

    init(url: String, file: String, resumeFrom: Int, progress: ((Int, Int?) -> Void)?) {
        self.url = url; self.file = file; self.resumeFrom = resumeFrom
    }

    func run() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["curl", "-fL", "--retry", "3", "-C", "-", "-o", file, url]
        do { try p.run() } catch {
            throw ViTKitError("this vitkit downloads through the curl command, which could not be started (\(error)): "
                + "install curl, or fetch \(url) into the data folder yourself")
        }
        p.waitUntilExit()
        if p.terminationStatus == 127 {
            throw ViTKitError("this vitkit downloads through the curl command, which is not installed: install curl, or "
                + "fetch \(url) into the data folder yourself")
        }
        if p.terminationStatus != 0 {
            throw ViTKitError("download of \(url) failed (curl exit code \(p.terminationStatus)); run again to resume it")
        }
    }
}
#else
/// One HTTP GET streamed into a file, appending from `resumeFrom` when the server honours the Range request and
/// starting over when it answers with the whole file.
final class HTTPFetch: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let url: String, file: String, resumeFrom: Int
    let progress: ((Int, Int?) -> Void)?
    private var handle: FileHandle?
    private var written = 0, total: Int?
    private var failure: Error?
    private let done = DispatchSemaphore(value: 0)

    init(url: String, file: String, resumeFrom: Int, progress: ((Int, Int?) -> Void)?) {
        self.url = url; self.file = file; self.resumeFrom = resumeFrom; self.progress = progress
    }

    func run() throws {
        guard let u = URL(string: url) else { throw ViTKitError("bad download address '\(url)'") }
        var request = URLRequest(url: u)
        if resumeFrom > 0 { request.setValue("bytes=\(resumeFrom)-", forHTTPHeaderField: "Range") }
        let session = URLSession(configuration: .ephemeral, delegate: self, delegateQueue: nil)
        session.dataTask(with: request).resume()
        done.wait()
        session.finishTasksAndInvalidate()
        try? handle?.close()
        if let failure { throw failure }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        do {
            guard let h = FileHandle(forWritingAtPath: file) else { throw ViTKitError("cannot write \(file)") }
            handle = h
            switch status {
            case 206:  // the rest of the file, appended
                try h.seekToEnd(); written = resumeFrom
                total = response.expectedContentLength >= 0 ? resumeFrom + Int(response.expectedContentLength) : nil
            case 200:  // the whole file: start over
                try h.truncate(atOffset: 0); written = 0
                total = response.expectedContentLength >= 0 ? Int(response.expectedContentLength) : nil
            case 416 where resumeFrom > 0:  // nothing left to fetch: the part file is complete
                completionHandler(.cancel); return
            default:
                throw ViTKitError("download of \(url) failed: HTTP status \(status)")
            }
            completionHandler(.allow)
        } catch {
            failure = error
            completionHandler(.cancel)
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard failure == nil else { return }
        do {
            try handle?.write(contentsOf: data)  // the throwing form: a full disk is an error, not a crash
            written += data.count
            progress?(written, total)
        } catch {
            failure = ViTKitError("cannot write \(file): \(error.localizedDescription)")
            dataTask.cancel()
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        if let error, failure == nil, (error as NSError).code != NSURLErrorCancelled {
            failure = ViTKitError("download of \(url) stopped after \(written) bytes: \(error.localizedDescription); "
                + "run again to resume it")
        }
        done.signal()
    }
}
#endif
