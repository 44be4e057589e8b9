import ArgumentParser
import Foundation
import ViTKit

/// `vitkit attention`: what a trained model's heads look at on one image.
struct AttentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "Draw a checkpoint's attention on an image: per layer and head, mean attention distance, rollout.",
        discussion: """
        Writes to --output: attention-query<K>.png (a row per layer, a column per head: where query patch K looks,
        over the image), distance.png and distance.csv (each head's mean attention distance in pixels, a column per
        layer: how local the head is), and rollout.png (the image, and attention rollout of the average query:
        heads averaged, identity added, rows renormalised, multiplied through the layers).
        """)

    @Option(help: "Checkpoint (.safetensors): vitkit's, a train_state file, or a timm state_dict (with the model options).")
    var checkpoint: String
    @Option(help: "A JPEG or PNG image (the checkpoint's eval transform: resize, centre crop; normalised as the model was trained, or with --mean/--std).")
    var image: String?
    @Option(help: "Instead of --image: this image of the dataset's test split (--data-dir, --dataset).") var index: Int?
    @Option(help: "With --index: average the mean attention distances over this many test images from --index on.")
    var average = 1
    @Option(help: "Query patch (row-major over the grid; default: the centre one).") var query: Int?
    @Option(help: "Enlarge the image this many times in the pictures (default: to about 128 pixels).") var scale: Int?
    @Option(help: "Folder for the pictures.") var output = "attention"
    @OptionGroup var model: ModelOptions
    @OptionGroup var data: DataOptions
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if (image == nil) == (index == nil) { throw ValidationError("give one of --image FILE or --index N") }
        if let index, index < 0 { throw ValidationError("--index must be 0 or more, got \(index)") }
        if let scale, scale < 1 { throw ValidationError("--scale must be at least 1, got \(scale)") }
        if average < 1 || (average > 1 && index == nil) { throw ValidationError("--average takes a count of 1 or more, with --index") }
    }

    func run() throws {
        try runOrExit {
            let loaded = try Checkpoint.model(from: checkpoint, pool: ThreadPool(threads: threadOptions.threads)) {
                try model.architecture(numClasses: $0)
            }
            guard let vit = loaded as? VisionTransformer else {
                throw ViTKitError("checkpoint \(checkpoint) holds \(loaded.name), a ConvMixer: attention maps need a ViT")
            }
            let config = vit.config
            let recorded = try PretrainedConfig.recorded(at: checkpoint)
            let test = index == nil ? nil : try data.load(seed: 0, imgSize: config.imgSize, threads: threadOptions.threads, train: false,
                                                          model: recorded).1
            let (picture, input) = try loadInput(config, recorded: recorded, test: test, index: index)
            let more = try index.map { i in try ((i + 1)..<(i + average)).map { try loadInput(config, recorded: recorded, test: test, index: $0).1 } } ?? []
            let report = try AttentionReport(vit: vit, picture: picture, input: input, more: more, query: query)
            let written = try report.write(to: output, scale: scale)
            for (l, d) in report.distances.enumerated() {
                print("layer \(l) mean attention distance (px\(average > 1 ? ", \(average) images" : "")): " + d.map { String(format: "%.2f", $0) }.joined(separator: " "))
            }
            print("wrote " + written.joined(separator: ", "))
        }
    }

    /// The picture to draw on (at the model's size) and the model's normalised input: an image file passes the
    /// eval transform and normalisation the checkpoint records (a file that records none, as timm's: a plain
    /// resize and CIFAR-10's statistics, ViTKit's defaults before checkpoints recorded them).
    func loadInput(_ c: ViTConfig, recorded: PretrainedConfig?, test: ImageDataset?, index: Int?) throws -> (RGBImage, [Float]) {
        if let image {
            if c.inChans != 3 { throw ViTKitError("--image needs a 3-channel model, but in_chans is \(c.inChans)") }
            return try data.modelInput(image, size: c.imgSize, model: recorded, fallback: (CIFAR10.mean, CIFAR10.std))
        }
        guard let test, let index else { throw ViTKitError("give one of --image FILE or --index N") }
        try test.checkFits(.vit(c), role: "evaluation")
        guard index < test.count else { throw ViTKitError("--index \(index): the test split has \(test.count) images") }
        let n = test.imageBytes, plane = c.imgSize * c.imgSize
        let bytes = Array(test.images[(index * n)..<((index + 1) * n)])
        let (scale, shift) = test.normalization
        let input = bytes.enumerated().map { Float($0.element) * scale[$0.offset / plane] + shift[$0.offset / plane] }
        let picture = test.channels == 3 ? bytes.withUnsafeBufferPointer { RGBImage(planes: $0.baseAddress!, width: c.imgSize, height: c.imgSize) }
            : RGBImage(width: c.imgSize, height: c.imgSize)
        return (picture, input)
    }
}
