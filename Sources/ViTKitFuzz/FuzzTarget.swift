import Foundation
import ViTKitCLI
import ViTKitCore
import ViTKitData
import ViTKitIO
import ViTKitImaging
import ViTKitModels

/// A parser of user files or strings, run on arbitrary bytes by `vitkit-fuzz` (libFuzzer) and by the tests that
/// replay the committed corpora (`Fuzz/corpus/<name>`) and the inputs of fixed crashes (`Fuzz/regressions/<name>`).
///
/// An input passes when the parser returns or throws a `ViTKitError` (the clear message a user sees). It fails by
/// trapping, by a sanitizer report, by another kind of error escaping, or by breaking the target's property (a
/// parsed value that does not survive its own round trip), each of which `run` turns into a crash.
package enum FuzzTarget: String, CaseIterable, Sendable {
    case safetensors, checkpoint, npy, npz, mat, tar, targz, jpeg, png, image, yaml, randaugment, initmode

    /// What became of an input that did not crash.
    package enum Outcome: Equatable, Sendable {
        /// The parser read it.
        case parsed
        /// The parser refused it with this message.
        case refused(String)
    }

    /// Runs one input through the target.
    @discardableResult
    package func run(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        do {
            try body(bytes)
            return .parsed
        } catch let error as ViTKitError {
            return .refused("\(error)")
        } catch {
            fatalError("\(rawValue): an error that is not a ViTKitError escaped: \(type(of: error)): \(error)")
        }
    }

    private func body(_ bytes: UnsafeRawBufferPointer) throws {
        let data = Data(bytes)
        switch self {
        case .safetensors:
            let (tensors, metadata) = try SafeTensors.parse(data, what: "fuzz input")
            // what was read writes and reads back to the same tensors
            let again = try SafeTensors.parse(try SafeTensors.encode(tensors: tensors.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                                                                     metadata: metadata), what: "fuzz round trip")
            check(again.metadata == metadata && again.tensors.count == tensors.count, "a round trip changed the header")
            for (name, t) in tensors {
                guard let u = again.tensors[name] else { fatalError("safetensors: round trip lost \(name)") }
                check(u.shape == t.shape && u.values.count == t.values.count
                      && zip(u.values, t.values).allSatisfy { $0.bitPattern == $1.bitPattern }, "a round trip changed \(name)")
            }
        case .checkpoint:
            // what a checkpoint's header says the model is, and how its input was made (eval, predict, --resume)
            let metadata = try SafeTensors.parse(data, what: "fuzz input").metadata
            _ = try PretrainedConfig.from(metadata: metadata, path: "fuzz input")
            guard let config = try ModelConfig.from(metadata: metadata, path: "fuzz input") else { return }
            let again = try ModelConfig.from(metadata: try config.metadata(), path: "fuzz round trip")
            check(again == config, "the config does not read back as itself")
        case .npy:
            let t = try NumPy.parseNPY(data, what: "fuzz input")
            check(t.values.count == t.shape.reduce(1, *), "shape \(t.shape) with \(t.values.count) values")
        case .npz:
            // through a file, as users' .npz files are read
            try data.write(to: URL(fileURLWithPath: Self.scratchFile))
            for (_, t) in try NumPy.readNPZ(path: Self.scratchFile) {
                check(t.values.count == t.shape.reduce(1, *), "shape \(t.shape) with \(t.values.count) values")
            }
        case .mat:
            for (_, a) in try MATFile(data: data, what: "fuzz input").arrays { check(a.doubles().count == a.count, "\(a.name): count") }
        case .tar:
            try tarEntries([UInt8](data))
        case .targz:
            try tarEntries(bytes.isEmpty ? [] : try Zlib.inflate(bytes, what: "fuzz input", gzip: true))
        case .jpeg:
            checkPicture(try decoder.decodeJPEG(bytes, what: "fuzz input"))
        case .png:
            checkPicture(try decoder.decodePNG(bytes, what: "fuzz input"))
        case .image:
            checkPicture(try decoder.decode(bytes, what: "fuzz input"))
        case .yaml:
            _ = try ConfigFile.expand(configText: String(decoding: bytes, as: UTF8.self), path: "fuzz.yaml", into: ["train", "--epochs", "1"])
        case .randaugment:
            let text = String(decoding: bytes, as: UTF8.self)
            let augment = try RandAugment(config: text, mean: [0.485, 0.456, 0.406])
            check(augment.config == text, "config")
            // the parsed ops and magnitudes run on a small picture
            var pixels = [UInt8](repeating: 0, count: 3 * 12 * 10), scratch = pixels
            for i in pixels.indices { pixels[i] = UInt8(truncatingIfNeeded: i &* 37) }
            var rng = RNG(seed: UInt64(bytes.count))
            pixels.withUnsafeMutableBufferPointer { p in
                scratch.withUnsafeMutableBufferPointer { s in
                    augment(PlanarImage(p.baseAddress!, width: 12, height: 10, channels: 3),
                            scratch: PlanarImage(s.baseAddress!, width: 12, height: 10, channels: 3), rng: &rng)
                }
            }
        case .initmode:
            let mode = try InitMode(parsing: String(decoding: bytes, as: UTF8.self))
            // the form a checkpoint records reads back as the same mode
            let again = try InitMode(parsing: mode.description)
            check(again == mode, "'\(mode)' reads back as '\(again)'")
        }
    }

    private func tarEntries(_ archive: [UInt8]) throws {
        for e in try Tar.entries(archive, what: "fuzz input") {
            check(e.range.lowerBound >= 512 && e.range.upperBound <= archive.count, "entry \(e.path) at \(e.range)")
            // an entry's destination never leaves the folder
            if let target = try Tar.destination(of: e.path, in: "/data/x", stripComponents: 1, what: "fuzz input") {
                check(target.hasPrefix("/data/x/") && !target.split(separator: "/").contains(".."), "'\(e.path)' goes to \(target)")
            }
        }
    }

    private func checkPicture(_ p: PlanarImage) {
        check(p.width > 0 && p.height > 0 && (p.channels == 1 || p.channels == 3), "picture \(p.width)×\(p.height)×\(p.channels)")
    }

    private func check(_ condition: Bool, _ what: @autoclosure () -> String) {
        if !condition { fatalError("\(rawValue): \(what())") }
    }

    /// Where the npz target writes its input (one file per process, on tmpfs where there is one).
    private static let scratchFile = (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory())
        + "/vitkit-fuzz-\(getpid()).npz"

    /// One decoder for the process: libFuzzer calls the target from one thread.
    private static let sharedDecoder = ImageDecoder()
    private var decoder: ImageDecoder { Self.sharedDecoder }
}

extension FuzzTarget {
    /// The target a `vitkit-fuzz` command line names (its first argument, taken out of `arguments`), or else the
    /// one in `VITKIT_FUZZ_TARGET`, which libFuzzer's `-fork`/`-jobs` children inherit; when neither names one, a failure saying so.
    package static func chosen(from arguments: inout [String]) -> Result<FuzzTarget, ViTKitError> {
        let names = allCases.map(\.rawValue).joined(separator: ", ")
        if arguments.count > 1, let target = FuzzTarget(rawValue: arguments[1]) {
            arguments.remove(at: 1)
            setenv("VITKIT_FUZZ_TARGET", target.rawValue, 1)
            return .success(target)
        }
        guard let name = ProcessInfo.processInfo.environment["VITKIT_FUZZ_TARGET"] else {
            return .failure(ViTKitError("usage: vitkit-fuzz TARGET [libFuzzer options] [CORPUS_DIR …]; targets: \(names)"))
        }
        guard let target = FuzzTarget(rawValue: name) else {
            return .failure(ViTKitError("vitkit-fuzz: VITKIT_FUZZ_TARGET names no target ('\(name)'); targets: \(names)"))
        }
        return .success(target)
    }
}
