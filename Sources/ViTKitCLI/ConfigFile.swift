import Foundation
import ViTKit
import Yams

/// timm's `-c/--config-file`: a YAML mapping whose keys are option names (`batch_size` or `batch-size`; `model`
/// for the named config, as in the `args.yaml` a run writes) turned into command-line arguments placed before the
/// user's own, so that any option given on the command line overrides the file.
package enum ConfigFile {
    /// Options that are flags (`key: true` gives `--key`, `false` nothing); every other key becomes `--key value…`.
    static let flags: Set<String> = ["no-resume-opt", "skip-bad-images", "coarse-labels", "dataset-download", "impulse-per-layer",
                                     "profile", "sheet", "sync-bn", "warmup-prefix", "sched-on-updates", "model-ema", "model-ema-warmup", "amp"]
    /// Flags with a `--no-` form (`key: false` gives `--no-key`).
    static let invertibleFlags: Set<String> = ["freeze-spatial"]
    /// Keys `args.yaml` records that are not options (derived from the config, or empty when unused).
    static let recordOnly: Set<String> = ["norm-eps", "num-classes", "qkv-bias", "world-size"]
    /// Short options, by the long name they stand for.
    static let shorts = ["-b": "batch-size", "-j": "workers"]

    /// timm's `--model-kwargs k=v …` keys, as vitkit options (the model's own options, and the two inits).
    static let modelKwargs = ["img_size": "img-size", "patch_size": "patch-size", "embed_dim": "embed-dim", "depth": "depth",
                              "num_heads": "num-heads", "mlp_ratio": "mlp-ratio", "class_token": "class-token",
                              "reg_tokens": "reg-tokens", "global_pool": "global-pool", "pos_embed": "pos-embed",
                              "no_embed_class": "no-embed-class", "fc_norm": "fc-norm", "drop_path_rate": "drop-path",
                              "drop_rate": "drop", "pos_drop_rate": "pos-drop", "attn_drop_rate": "attn-drop",
                              "proj_drop_rate": "proj-drop", "in_chans": "in-chans"]
    /// The boolean keys: a value other than Python's True/False is read as Python reads it, by its truth
    /// (the first paper's README spells `no_embed_class=Ture`, a non-empty string, so true).
    static let booleanKwargs: Set<String> = ["class_token", "no_embed_class", "fc_norm", "sin_pe"]

    /// timm's train.py spellings that are not options of the same name: the data folder as the first argument
    /// (`train.py /data …`), and `--input-size C H W` (H = W: non-square inputs are not implemented).
    static func expandTimmSpellings(_ arguments: [String]) throws -> [String] {
        var args = arguments
        if ["train", "eval"].contains(args.first) {
            // after the subcommand and any leading value-less flags (`vitkit train --timm-defaults DATA …`)
            var i = 1
            while i < args.count, ["--timm-defaults", "--amp", "--pin-mem"].contains(args[i]) { i += 1 }
            if i < args.count, !args[i].hasPrefix("-") { args.replaceSubrange(i...i, with: ["--data-dir", args[i]]) }
        }
        if let at = args.prefix(while: { $0 != "--" }).firstIndex(of: "--input-size") {
            let values = args.dropFirst(at + 1).prefix(3).compactMap { Int($0) }
            guard values.count == 3 else { throw ViTKitError("--input-size takes three numbers, C H W (timm's), got \(Array(args.dropFirst(at + 1).prefix(3)))") }
            guard values[0] == 3 else { throw ViTKitError("--input-size \(values[0]) \(values[1]) \(values[2]): vitkit's models take 3 channels") }
            args.replaceSubrange(at...(at + 3), with: ["--img-size"] + (values[1] == values[2] ? ["\(values[1])"] : ["\(values[1])", "\(values[2])"]))
        }
        return args
    }

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
            case "sin_pe": options += ["--pos-embed", truth(kv[1]) ? "sincos" : "learn"]
            case let key:
                guard let name = modelKwargs[key] else {
                    throw ViTKitError("--model-kwargs \(key)=…: not a model option vitkit has; it knows \((modelKwargs.keys.sorted() + ["sin_pe", "weight_init", "post_weight_init"]).joined(separator: ", "))")
                }
                // Python's True/False as the options spell booleans
                options += ["--" + name, booleanKwargs.contains(key) ? "\(truth(kv[1]))" : kv[1]]
            }
        }
        if let postInit { options += ["--init", "post-" + postInit] }
        else if let weightInit { options += ["--init", weightInit == "" ? "timm" : weightInit] }
        var rest = arguments
        rest.replaceSubrange(at..<end, with: options)
        return rest
    }

    /// A model-kwargs value's truth as Python's `bool(ast.literal_eval(v))` gives it (a string that is not a literal
    /// stays a string: true unless empty).
    static func truth(_ value: String) -> Bool {
        switch value {
        case "True", "true", "1": return true
        case "False", "false", "0", "None", "": return false
        default: return true
        }
    }

    /// `arguments` (without the program name) with `-c FILE` / `--config-file FILE` replaced by the file's options.
    static func expand(_ arguments: [String]) throws -> [String] {
        try timmDefaults(try expandConfigFile(try expandModelKwargs(try expandTimmSpellings(arguments))))
    }

    /// The long names of the options a command line gives (timm's aliases as vitkit's names).
    static func givenOptions(_ arguments: [String]) -> Set<String> {
        let aliases = ["model": "config", "gp": "global-pool"]
        return Set(arguments.prefix(while: { $0 != "--" }).compactMap { a -> String? in
            if let long = shorts[a] { return long }
            guard a.hasPrefix("--") else { return nil }
            let name = String(a.dropFirst(2).split(separator: "=", maxSplits: 1)[0])
            return aliases[name] ?? name
        })
    }

    /// With `--timm-defaults`, the options the command line does not give take timm train.py's defaults instead of
    /// vitkit's (which are the first paper's small-data recipe), and a `vit_*` model is timm's stock one (class
    /// token, learned position embedding, token pooling, its pretrained config's mean, std and crop): so a
    /// timm command means in vitkit what it means in timm.
    static func timmDefaults(_ arguments: [String]) throws -> [String] {
        let head = arguments.prefix(while: { $0 != "--" })
        guard head.contains("--timm-defaults") else { return arguments }
        let given = givenOptions(arguments)
        func value(_ name: String) -> String? {
            guard let i = head.firstIndex(where: { $0 == "--" + name || (name == "config" && $0 == "--model") }), i + 1 < head.count else { return nil }
            return head[i + 1]
        }
        let opt = value("opt")?.lowercased() ?? "sgd"
        var defaults: [(String, [String])] = [
            ("opt", ["sgd"]), ("weight-decay", ["2e-05"]), ("opt-eps", [opt == "lamb" ? "1e-06" : "1e-08"]), ("clip-grad", ["0"]),
            ("epochs", ["300"]), ("warmup-epochs", ["5"]), ("min-lr", ["0"]), ("warmup-lr", ["1e-05"]), ("batch-size", ["128"]),
            ("scale", ["0.08", "1.0"]), ("ratio", ["0.75", "1.3333333333333333"]), ("aa", ["none"]), ("color-jitter", ["0.4"]),
            ("smoothing", ["0.1"]), ("hflip", ["0.5"]), ("seed", ["42"]), ("reprob", ["0"]), ("model-ema-decay", ["0.9998"]),
        ]
        if !given.contains("lr") && !given.contains("lr-base") { defaults.append(("lr-base", ["0.1"])) }
        if (value("config") ?? "").hasPrefix("vit_") {
            // timm's VisionTransformer defaults and the vit_* pretrained config (mean, std 0.5; crop 0.9)
            defaults += [("class-token", ["true"]), ("global-pool", ["token"]), ("pos-embed", ["learn"]),
                         ("no-embed-class", ["false"]), ("mean", ["0.5", "0.5", "0.5"]), ("std", ["0.5", "0.5", "0.5"]),
                         ("crop-pct", ["0.9"])]
        }
        var out = Array(head)
        for (name, values) in defaults where !given.contains(name) { out += ["--" + name] + values }
        return out + arguments.dropFirst(head.count)
    }

    /// `arguments` with `-c FILE` / `--config-file FILE` replaced by the file's options (those not given).
    static func expandConfigFile(_ arguments: [String]) throws -> [String] {
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
        return try expand(configText: text, path: path, into: rest)
    }

    /// `rest` with the options of the YAML `text` (the config file at `path`) placed before them, those not in it.
    package static func expand(configText text: String, path: String, into rest: [String]) throws -> [String] {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch { throw ViTKitError("config file \(path) is not valid YAML: \(error)") }
        guard let top = root?.mapping else {
            throw ViTKitError("config file \(path) is not a YAML mapping of option names to values")
        }
        let mapping = try options(in: top, path: path)
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

    /// The option names and values of a config mapping, read node by node: Yams' `load` traps on a mapping key
    /// that is not a scalar, and a config file is the user's. A merge key (`<<: *defaults`) gives the entries the
    /// mapping does not set itself.
    static func options(in mapping: Node.Mapping, path: String) throws -> [String: Any] {
        var out: [String: Any] = [:], merged: [String: Any] = [:]
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.scalar?.string else {
                throw ViTKitError("config file \(path): a key is a \(kind(keyNode)), expected an option name")
            }
            if key == "<<" {
                let sources = valueNode.mapping.map { [$0] } ?? valueNode.sequence?.compactMap(\.mapping) ?? []
                guard !sources.isEmpty else { throw ViTKitError("config file \(path): '<<' merges a \(kind(valueNode)), expected a mapping") }
                for source in sources { try merged.merge(options(in: source, path: path)) { first, _ in first } }
                continue
            }
            switch valueNode {
            case .scalar: out[key] = valueNode.any
            case .sequence(let items):
                out[key] = try items.map { item -> Any in
                    guard case .scalar = item else {
                        throw ViTKitError("config file \(path): '\(key)' lists a \(kind(item)), expected plain values")
                    }
                    return item.any
                }
            case .mapping:
                throw ViTKitError("config file \(path): '\(key)' is a mapping, expected a value or a list of values")
            }
        }
        return out.merging(merged) { own, _ in own }
    }

    private static func kind(_ node: Node) -> String {
        switch node { case .scalar: "scalar"; case .sequence: "list"; case .mapping: "mapping" }
    }
}
