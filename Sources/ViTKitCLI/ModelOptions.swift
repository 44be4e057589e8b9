import ArgumentParser
import Foundation
import ViTKit

/// Model architecture: a named config (a ViT or a ConvMixer) plus timm-style overrides.
struct ModelOptions: ParsableArguments {
    @Option(name: [.customLong("config"), .customLong("model")],
            help: "Named model: \(ViTConfig.named.keys.sorted().joined(separator: ", ")), or a ConvMixer: convmixer, convmixer_<256_8_3|512_6_3|512_6_5>_<train|random|impulse|box>.")
    var config = "small"
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Input image size: one number, or height and width (ViT; default: the config's).", valueName: "size"))
    var imgSize: [Int] = []
    @Option(help: "Input channels (timm's --in-chans): 3, or 1 to train on grey pictures (every dataset read in grey, as Pillow's convert(\"L\")).")
    var inChans: Int?
    @Option(help: "Patch size.") var patchSize: Int?
    @Option(help: "Embedding dimension (ConvMixer: dim).") var embedDim: Int?
    @Option(help: "Number of blocks.") var depth: Int?
    @Option(help: "ViT: attention heads.") var numHeads: Int?
    @Option(help: "ViT: MLP hidden size / embed dim.") var mlpRatio: Double?
    @Option(help: "ViT: prepend a class token: true or false.") var classToken: Bool?
    @Option(help: "ViT: register tokens.") var regTokens: Int?
    @Option(name: [.customLong("global-pool"), .customLong("gp")], help: "ViT: pooling before the head: avg or token (timm's --gp).")
    var globalPool: GlobalPool?
    @Option(help: "ViT: position embedding: sincos (fixed) or learn.") var posEmbed: PosEmbedKind?
    @Option(help: "ViT: position embedding skips prefix tokens: true or false.") var noEmbedClass: Bool?
    @Option(help: "ViT: LayerNorm after pooling instead of before: true or false (default: true for avg).") var fcNorm: Bool?
    @Option(help: "ViT: add a distillation token and head (timm's VisionTransformerDistilled, DeiT): true or false. Default: the config's (true for deit_*_distilled_*); --distill-teacher turns it on.")
    var distilled: Bool?
    @Option(help: "ConvMixer: depthwise kernel size (odd).") var kernelSize: Int?
    @Option(help: ArgumentHelp("ConvMixer: depthwise filter init: \(SpatialInit.validForms).", valueName: "init"))
    var spatialInit: String?
    @Flag(inversion: .prefixedNo, help: "ConvMixer: freeze the depthwise convs' weights and biases (default: the model's; frozen for _random, _impulse, _box).")
    var freezeSpatial: Bool?
    @Option(help: "ConvMixer: distinct depthwise filters per block, shared by the channels (0: one per channel).")
    var spatialHeads: Int?

    var isConvMixer: Bool { ModelConfig.isConvMixer(config) }

    func validate() throws {
        if imgSize.count > 2 { throw ValidationError("--img-size takes one number or two (height, width), got \(imgSize)") }
        if let inChans, inChans != 1 && inChans != 3 { throw ValidationError("--in-chans must be 1 (grey) or 3 (RGB), got \(inChans)") }
    }

    /// The resolved ViT config for `numClasses` outputs; throws a ViTKitError naming what is wrong.
    func resolve(numClasses: Int) throws -> ViTConfig {
        guard case .vit(let c) = try architecture(numClasses: numClasses) else {
            throw ViTKitError("model \(config) is a ConvMixer: this command works with ViTs only")
        }
        return c
    }

    /// The options as timm-style overrides of the named model (`distilled`, when given, in place of --distilled's).
    func overrides(distilled forced: Bool? = nil) throws -> ModelOverrides {
        var o = ModelOverrides()
        o.inChans = inChans; o.imgSize = imgSize.first; o.imgWidth = imgSize.count > 1 ? imgSize[1] : nil; o.patchSize = patchSize; o.embedDim = embedDim; o.depth = depth
        o.numHeads = numHeads; o.mlpRatio = mlpRatio; o.classToken = classToken; o.regTokens = regTokens
        o.globalPool = globalPool; o.posEmbed = posEmbed; o.noEmbedClass = noEmbedClass; o.fcNorm = fcNorm; o.distilled = forced ?? distilled
        o.kernelSize = kernelSize; o.spatialInit = try spatialInit.map { try SpatialInit(parsing: $0) }
        o.freezeSpatial = freezeSpatial; o.spatialHeads = spatialHeads
        return o
    }

    /// The resolved architecture (a ViT or a ConvMixer) for `numClasses` outputs, with `seed` choosing shared filters.
    func architecture(numClasses: Int, seed: UInt64 = 0, distilled: Bool? = nil) throws -> ModelConfig {
        try ModelConfig.named(config, numClasses: numClasses, overrides: try overrides(distilled: distilled), seed: seed)
    }
}

extension GlobalPool: ExpressibleByArgument {}
extension PosEmbedKind: ExpressibleByArgument {}

/// Where the images come from.
struct DataOptions: ParsableArguments {
    static let datasets = DatasetRegistry.names

    @Option(help: "Dataset: cifar10, cifar100, svhn, folder (each needs --data-dir) or synthetic (generated, no download). Default: cifar10 when --data-dir is given, else synthetic.")
    var dataset: String?
    @Option(help: "Folder with the dataset files: CIFAR-10 binary (data_batch_1..5.bin, test_batch.bin), CIFAR-100 binary (train.bin, test.bin), SVHN (train_32x32.mat, test_32x32.mat), or an image folder (train/<class>/<image>, val/<class>/<image>; JPEG or PNG).")
    var dataDir: String?
    @Option(help: ArgumentHelp("Image folder: eval transform crop fraction (shorter side resized to img_size/crop_pct, then centre crop). "
        + "Default: 1 for training; the checkpoint's (its pretrained_cfg) for eval, predict and attention.", valueName: "fraction"))
    var cropPct: Double?
    @Option(help: "Image folder: resize interpolation, bicubic or bilinear (default: bicubic; the checkpoint's for eval, predict and attention).")
    var interpolation: ResampleFilter?
    @Flag(help: "Image folder: skip images that fail to decode (and count them) instead of stopping.")
    var skipBadImages = false
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Per-channel mean of pixel/255, three numbers: --mean 0.485 0.456 0.406. "
        + "Default: for training an image folder, timm's ViT 0.5 0.5 0.5 (CIFAR, SVHN: their own); for eval, predict and "
        + "attention, what the checkpoint was trained with.", valueName: "r g b"))
    var mean: [Float] = []
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Per-channel std of pixel/255, three numbers (defaults as --mean: 0.5 0.5 0.5 "
        + "for a folder).", valueName: "r g b"))
    var std: [Float] = []
    @Flag(help: "CIFAR-100: the 20 coarse labels instead of the 100 fine ones.") var coarseLabels = false
    @Flag(help: "Download cifar10, cifar100 or svhn into --data-dir when its files are not there (official addresses, MD5-checked, resumable).")
    var datasetDownload = false
    @Option(help: "Use only N training images per class, chosen with --seed (0 = all).")
    var perClass = 0
    @Option(help: "Synthetic dataset: training images.") var syntheticTrain = 5000
    @Option(help: "Synthetic dataset: test images.") var syntheticTest = 1000

    @Option(help: "Image folder: the training split's folder (timm's --train-split).") var trainSplit = "train"
    @Option(help: "Image folder: the evaluation split's folder (timm's --val-split; default: val, validation or test).") var valSplit: String?

    /// The dataset's name, with timm's spellings (`torch/cifar10`, `torch/CIFAR10`) read as vitkit's.
    var datasetName: String {
        guard var name = dataset else {
            guard let dataDir else { return "synthetic" }
            return Self.looksLikeImageFolder(dataDir) ? "folder" : "cifar10"
        }
        if name.lowercased().hasPrefix("torch/") { name = String(name.dropFirst(6)) }
        return name.lowercased()
    }

    /// No `--dataset`, and the folder has a `train/` folder but no CIFAR-10 files: an image folder, timm's default.
    static func looksLikeImageFolder(_ dir: String) -> Bool {
        !FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("data_batch_1.bin"))
            && (try? ImageFolder.splitFolder(root: dir, train: true)) != nil
    }

    func validate() throws {
        if !Self.datasets.contains(datasetName) {
            throw ValidationError("unknown --dataset '\(datasetName)': expected \(Self.datasets.joined(separator: ", "))")
        }
        if datasetName != "synthetic" && dataDir == nil {
            throw ValidationError("--dataset \(datasetName) needs --data-dir pointing at its files")
        }
        if datasetDownload && !["cifar10", "cifar100", "svhn"].contains(datasetName) {
            throw ValidationError("--dataset-download works for cifar10, cifar100 and svhn, not \(datasetName)")
        }
        if coarseLabels && datasetName != "cifar100" { throw ValidationError("--coarse-labels is for --dataset cifar100 only") }
        if let cropPct, !(cropPct > 0 && cropPct <= 1) { throw ValidationError("--crop-pct must be in (0, 1], got \(cropPct)") }
        for (name, v) in [("--mean", mean), ("--std", std)] where !v.isEmpty && v.count != 3 {
            throw ValidationError("\(name) needs 3 values (R G B), got \(v.count)")
        }
        if std.contains(where: { !($0 > 0) }) { throw ValidationError("--std values must be positive, got \(std)") }
        if perClass < 0 { throw ValidationError("--per-class must be 0 or more, got \(perClass)") }
        if syntheticTrain < 1 || syntheticTest < 1 {
            throw ValidationError("--synthetic-train and --synthetic-test must be at least 1")
        }
    }

    /// Fetches the dataset into --data-dir, with a progress line on a terminal.
    func download() throws {
        let tty = isatty(fileno(stderr)) != 0
        var last = Date.distantPast
        try DatasetDownload.ensure(datasetName, in: dataDir!) { name, bytes, total in
            guard tty, Date().timeIntervalSince(last) > 0.2 else { return }
            last = Date()
            let size = total.map { String(format: " of %.1f MB", Double($0) / 1e6) } ?? ""
            FileHandle.standardError.write(Data(String(format: "\r\u{1B}[2Kdownloading %@: %.1f MB%@", name,
                                                       Double(bytes) / 1e6, size).utf8))
        }
        if tty { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
    }

    /// (train, test) datasets; an image folder is brought to `imgSize` (only its eval split is read without `train`).
    /// With `model`, the pretrained config of a checkpoint, the test split is made as that model's input was: its
    /// mean, std, crop fraction and interpolation, each unless given as an option.
    func load(seed: UInt64, imgSize: Int, width: Int? = nil, channels: Int = 3, threads: Int, train needTrain: Bool = true,
              model: PretrainedConfig? = nil) throws -> (ImageDataset?, ImageDataset) {
        if datasetDownload { try download() }
        if dataset == nil, datasetName == "folder", let dataDir {
            print("# --data-dir \(dataDir) holds an image folder (train/<class>/<image>): reading it as --dataset folder, timm's default")
        }
        var o = DatasetRegistry.Options()
        o.size = imgSize; o.width = width; o.channels = channels; o.cropPct = cropPct ?? model?.cropPct ?? 1; o.filter = interpolation ?? model?.filter ?? .bicubic
        o.skipBadImages = skipBadImages; o.threads = threads; o.coarseLabels = coarseLabels
        o.trainSplit = trainSplit; o.valSplit = valSplit
        o.syntheticTrain = syntheticTrain; o.syntheticTest = syntheticTest; o.train = needTrain
        var (train, test, skipped) = try DatasetRegistry.load(datasetName, directory: dataDir, options: o, named: dataset != nil)
        if !skipped.isEmpty {
            print("# skipped \(skipped.count) images that did not decode (--skip-bad-images), first: \(skipped[0])")
        }
        if perClass > 0, let t = train { train = try t.perClassSubset(perClass, seed: seed) }
        // timm's --mean/--std hold for any dataset; otherwise the model's, for the split it is evaluated on
        let given = (mean.isEmpty ? nil : mean, std.isEmpty ? nil : std)
        let forModel = model.flatMap { $0.inputSize.first == test.channels ? $0 : nil }
        if let m = given.0 ?? forModel?.mean { train?.mean = m; test.mean = m }
        if let s = given.1 ?? forModel?.std { train?.std = s; test.std = s }
        return (train, test)
    }

    /// An image file as a model with pretrained config `model` takes it: timm's eval transform to `size` and the
    /// normalisation, each from the options when given, else the model's (nil: a file that records none, as timm's,
    /// gets crop 1, bicubic and `fallback`). Returns the picture at model size and the normalised planes.
    func modelInput(_ file: String, size: Int, width: Int? = nil, model: PretrainedConfig?, fallback: ([Float], [Float])) throws -> (RGBImage, [Float]) {
        let picture = try ImageFolder.decode(file).evalTransform(height: size, width: width ?? size, cropPct: cropPct ?? model?.cropPct ?? 1,
                                                                 filter: interpolation ?? model?.filter ?? .bicubic)
        return (picture, picture.normalized(mean: mean.isEmpty ? model?.mean ?? fallback.0 : mean,
                                            std: std.isEmpty ? model?.std ?? fallback.1 : std))
    }
}

/// Threads for the compute pool.
struct ThreadOptions: ParsableArguments {
    @Option(name: .customLong("threads"), help: ArgumentHelp("Compute threads (default: all cores, \(defaultThreads) here).", valueName: "n"))
    var threadsOption: Int?

    var threads: Int { threadsOption ?? Self.defaultThreads }
    static var defaultThreads: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    func validate() throws {
        if threads < 1 || threads > 256 { throw ValidationError("--threads must be between 1 and 256, got \(threads)") }
    }
}

/// The weight init and the impulse optimisation's settings.
struct InitArguments: ParsableArguments {
    @Option(name: .customLong("init"), help: "Weight init: \(InitMode.validForms).") var initText = "timm"
    @Option(help: "Impulse init: Adam iterations.") var impulseIterations = 10_000
    @Option(help: "Impulse init: Adam learning rate.") var impulseLr: Float = 1e-4
    @Option(help: "Impulse init: column renormalisation period (iterations).") var impulseRenorm = 100
    @Flag(help: "Impulse init: optimise Q, K for every layer instead of once for all.") var impulsePerLayer = false
    @Option(help: "Impulse init: pseudo input of layer 0, LayerNorm-ed: \(PseudoInput.validForms).")
    var impulseInput = PseudoInput.P
    @Option(help: "Impulse init: pseudo input of layers 1 and up (default: as --impulse-input); when it differs, layer 1 gets its own optimisation.")
    var impulseInput2: PseudoInput?

    func validate() throws {
        if impulseIterations < 0 { throw ValidationError("--impulse-iterations must be 0 or more, got \(impulseIterations)") }
        if !(impulseLr > 0) { throw ValidationError("--impulse-lr must be positive, got \(impulseLr)") }
        if impulseRenorm < 1 { throw ValidationError("--impulse-renorm must be at least 1, got \(impulseRenorm)") }
        do { _ = try InitMode(parsing: initText) } catch let e as ViTKitError { throw ValidationError(e.description) }
    }

    func mode() throws -> InitMode { try InitMode(parsing: initText) }

    var options: InitOptions {
        var o = InitOptions()
        o.impulseIterations = impulseIterations; o.impulseLR = impulseLr; o.impulseRenormEvery = impulseRenorm
        o.impulsePerLayer = impulsePerLayer; o.impulseInput = impulseInput; o.impulseInput2 = impulseInput2
        return o
    }

    /// The init and its settings, as recorded with a checkpoint and in a run's args.yaml.
    var metadata: [String: String] {
        var m = ["init": initText]
        if case .impulse = try? mode() {
            m["impulse_iterations"] = "\(impulseIterations)"; m["impulse_lr"] = "\(impulseLr)"
            m["impulse_renorm"] = "\(impulseRenorm)"; m["impulse_per_layer"] = "\(impulsePerLayer)"
            m["impulse_input"] = impulseInput.rawValue; m["impulse_input2"] = (impulseInput2 ?? impulseInput).rawValue
        }
        return m
    }
}

extension PseudoInput: ExpressibleByArgument {}
extension ResampleFilter: ExpressibleByArgument {}
