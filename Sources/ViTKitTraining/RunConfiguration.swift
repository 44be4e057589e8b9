import Foundation
import ViTKitCore
import ViTKitIO
import ViTKitModels

/// Every setting that made a run, by timm's option names: the model's options, the recipe, and whatever the
/// caller adds (the data, the init, the thread count). It is the run's one serialisation: `args.yaml` is its
/// text, each checkpoint records it in its metadata (key `args`), and the training state keeps it, so that a
/// resumed run can say which settings changed.
public struct RunConfiguration: Sendable, Equatable {
    /// Setting name → value as `args.yaml` writes it (lists in YAML's flow form, `[0.08, 1.0]`).
    public var arguments: [String: String]

    /// The metadata key a checkpoint keeps the arguments under, as a JSON object of strings.
    public static let metadataKey = "args"
    /// Settings that say where a run reads and writes rather than what it computes: a resume may change them
    /// without changing a number.
    public static let placeSettings: Set<String> = ["output", "resume", "no_resume_opt", "pretrained"]

    /// The model's options (`ModelConfig.arguments`), the recipe's (`TrainOptions.arguments`), then `other`
    /// (which wins where a name repeats).
    public init(model: ModelConfig, options: TrainOptions, other: [String: String] = [:]) {
        arguments = model.arguments.merging(options.arguments) { $1 }.merging(other) { $1 }
    }

    /// A configuration with exactly these settings.
    public init(arguments: [String: String]) { self.arguments = arguments }

    /// The configuration a checkpoint records, or nil for a file written without one.
    public init?(metadata: [String: String]) {
        guard let json = metadata[Self.metadataKey],
              let decoded = try? JSONDecoder().decode([String: String].self, from: Data(json.utf8)) else { return nil }
        arguments = decoded
    }

    /// `args.yaml`'s text: one `name: value` line per setting, sorted by name.
    public var yaml: String { arguments.keys.sorted().map { "\($0): \(arguments[$0]!)" }.joined(separator: "\n") + "\n" }

    /// What a checkpoint's metadata records: `[metadataKey: JSON of arguments]`.
    public func metadata() throws -> [String: String] { [Self.metadataKey: try Checkpoint.json(arguments)] }

    /// Writes `args.yaml` in `folder` (created when missing), durably.
    public func writeYAML(inFolder folder: String) throws {
        try FileSystem.createFolder(folder)
        try DurableFile.write(Data(yaml.utf8), to: (folder as NSString).appendingPathComponent("args.yaml"))
    }

    /// The settings both configurations have whose values differ (name: (earlier, now)), leaving out
    /// `placeSettings`.
    public func changes(since earlier: RunConfiguration) -> [String: (String, String)] {
        var changed: [String: (String, String)] = [:]
        for (name, now) in arguments where !Self.placeSettings.contains(name) {
            if let then = earlier.arguments[name], then != now { changed[name] = (then, now) }
        }
        return changed
    }
}
