import Foundation
import ViTKit
import Yams

/// timm's `-c/--config-file`: a YAML mapping whose keys are option names (`batch_size` or `batch-size`; `model`
/// for the named config, as in the `args.yaml` a run writes) turned into command-line arguments placed before the
/// user's own, so that any option given on the command line overrides the file.
enum ConfigFile {
    /// Options that are flags (`key: true` gives `--key`, `false` nothing); every other key becomes `--key value…`.
    static let flags: Set<String> = ["no-resume-opt", "skip-bad-images", "coarse-labels", "dataset-download", "impulse-per-layer",
                                     "profile", "sheet", "sync-bn", "warmup-prefix", "sched-on-updates", "model-ema", "model-ema-warmup", "amp"]
    /// Flags with a `--no-` form (`key: false` gives `--no-key`).
    static let invertibleFlags: Set<String> = ["freeze-spatial"]
    /// Keys `args.yaml` records that are not options (derived from the config, or empty when unused).
    static let recordOnly: Set<String> = ["in-chans", "norm-eps", "num-classes", "qkv-bias", "world-size"]
    /// Short options, by the long name they stand for.
    static let shorts = ["-b": "batch-size", "-j": "workers"]

    /// timm's `--model-kwargs k=v …` keys, as vitkit options (the model's own options, and the two inits).
    static let modelKwargs = ["img_size": "img-size", "patch_size": "patch-size", "embed_dim": "embed-dim", "depth": "depth",
                              "num_heads": "num-heads", "mlp_ratio": "mlp-ratio", "class_token": "class-token",
                              "reg_tokens": "reg-tokens", "global_pool": "global-pool", "pos_embed": "pos-embed",
                              "no_embed_class": "no-embed-class", "fc_norm": "fc-norm", "drop_path_rate": "drop-path"]

    /// `--model-kwargs k=v …` (timm's train.py) as the vitkit options they stand for: `img_size=224` is
    /// `--img-size 224`; `weight_init=skip` is `--init skip`, and with `post_weight_init=impulse` the follow-up's
    /// `--init post-impulse`. An unknown key is an error naming it.
    static func expandModelKwargs(_ arguments: [String]) throws -> [String] {
        guard let at = arguments.prefix(while: { $0 != "--" }).firstIndex(of: "--model-kwargs") else { return arguments }
        var end = at + 1
        while end < arguments.count, !arguments[end].hasPrefix("-"), arguments[end].contains("=") { end += 1 }
        var options: [String] = [], weightInit: String?, postInit: String?
        for pair in arguments[(at + 1)..<end] {
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            switch kv[0] {
            case "weight_init": weightInit = kv[1]
            case "post_weight_init": postInit = kv[1]
            case let key:
                guard let name = modelKwargs[key] else {
                    throw ViTKitError("--model-kwargs \(key)=…: not a model option vitkit has; it knows \((modelKwargs.keys.sorted() + ["weight_init", "post_weight_init"]).joined(separator: ", "))")
                }
                // Python's True/False as the options spell booleans
                options += ["--" + name, ["True": "true", "False": "false"][kv[1]] ?? kv[1]]
            }
        }
        if let postInit { options += ["--init", "post-" + postInit] }
        else if let weightInit { options += ["--init", weightInit == "" ? "timm" : weightInit] }
        var rest = arguments
        rest.replaceSubrange(at..<end, with: options)
        return rest
    }

    /// `arguments` (without the program name) with `-c FILE` / `--config-file FILE` replaced by the file's options.
    static func expand(_ arguments: [String]) throws -> [String] {
        let arguments = try expandModelKwargs(arguments)
        // not past a `--`: what follows it belongs to another command line (`vitkit sweep … -- <train options>`)
        guard let at = arguments.prefix(while: { $0 != "--" }).firstIndex(where: { $0 == "-c" || $0 == "--config-file" }) else {
            return arguments
        }
        guard at + 1 < arguments.count else { throw ViTKitError("\(arguments[at]) needs a YAML file") }
        let path = arguments[at + 1]
        var rest = arguments
        rest.removeSubrange(at...(at + 1))
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ViTKitError("config file \(path) does not exist or cannot be read")
        }
        let loaded: Any?
        do { loaded = try Yams.load(yaml: text) } catch { throw ViTKitError("config file \(path) is not valid YAML: \(error)") }
        guard let mapping = loaded as? [String: Any] else {
            throw ViTKitError("config file \(path) is not a YAML mapping of option names to values")
        }
        let given = Set(rest.compactMap { a -> String? in
            if let long = shorts[a] { return long }
            guard a.hasPrefix("--") else { return nil }
            return String(a.dropFirst(2).split(separator: "=", maxSplits: 1)[0])
        })
        var options: [String] = []
        for key in mapping.keys.sorted() {
            let name = key == "model" ? "config" : key.replacingOccurrences(of: "_", with: "-")
            if given.contains(name) || recordOnly.contains(name) { continue }
            let values: [String]
            switch mapping[key] {
            case let b as Bool where flags.contains(name): if b { options.append("--" + name) }; continue
            case let b as Bool where invertibleFlags.contains(name): options.append((b ? "--" : "--no-") + name); continue
            case let list as [Any]: values = list.map { "\($0)" }
            case nil, is NSNull: continue
            case let v?: values = ["\(v)"]
            }
            if values.isEmpty || values == [""] { continue }
            options += ["--" + name] + values
        }
        // after the subcommand's name, if there is one
        let commands: Set<String> = ["train", "eval", "predict", "export", "attention", "bench", "init", "sweep"]
        if let first = rest.first, commands.contains(first) { return [first] + options + rest.dropFirst() }
        return options + rest
    }
}
