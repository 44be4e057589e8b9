import Foundation
import ViTKitCore
import ViTKitIO
import ViTKitImaging
import ViTKitNN

/// How a model's input is made, as timm's `pretrained_cfg` says it: the input size, the normalisation, and the
/// eval transform's interpolation and crop fraction (timm's `resolve_data_config` reads these fields).
///
/// A checkpoint records the values it was trained with under the metadata key `pretrained_cfg` (JSON, timm's
/// field names), so that evaluating, predicting and drawing attention normalise images as training did, whatever
/// dataset the images come from.
public struct PretrainedConfig: Codable, Sendable, Equatable {
    /// `[channels, height, width]`.
    public var inputSize: [Int]
    /// Per-channel mean and std of pixel/255.
    public var mean: [Float]
    /// Per-channel standard deviation to normalise with.
    public var std: [Float]
    /// The eval resize's filter: `bicubic`, `bilinear`, … (`ResampleFilter`'s names, which are timm's).
    public var interpolation: String
    /// The eval transform resizes the shorter side to ⌊size / cropPct⌋, then crops the centre.
    public var cropPct: Double
    /// Class names by label, when the training data had them (timm's `label_names`).
    public var labelNames: [String]?

    enum CodingKeys: String, CodingKey {
        case inputSize = "input_size", mean, std, interpolation, cropPct = "crop_pct", labelNames = "label_names"
    }

    /// A config with these values (timm's names and meanings).
    public init(inputSize: [Int], mean: [Float], std: [Float], interpolation: String = "bicubic", cropPct: Double = 1,
                labelNames: [String]? = nil) {
        self.inputSize = inputSize; self.mean = mean; self.std = std; self.interpolation = interpolation
        self.cropPct = cropPct; self.labelNames = labelNames
    }

    /// The interpolation as a filter (bicubic for a name ViTKit does not know).
    public var filter: ResampleFilter { ResampleFilter(rawValue: interpolation) ?? .bicubic }

    /// The metadata key a checkpoint records it under.
    public static let metadataKey = "pretrained_cfg"

    /// The config recorded in checkpoint metadata, or nil when there is none (a file timm wrote, or one written
    /// before ViTKit recorded it).
    public static func from(metadata: [String: String], path: String) throws -> PretrainedConfig? {
        guard let json = metadata[metadataKey] else { return nil }
        guard let c = try? JSONDecoder().decode(PretrainedConfig.self, from: Data(json.utf8)),
              c.inputSize.count == 3, c.mean.count == c.inputSize[0], c.std.count == c.inputSize[0], c.std.allSatisfy({ $0 > 0 })
        else {
            throw ViTKitError("checkpoint \(path): metadata '\(metadataKey)' is not a pretrained config "
                + "(expected JSON with input_size [C, H, W], mean and std of C values, interpolation, crop_pct)")
        }
        return c
    }

    /// The config recorded in the checkpoint at `path` (its header alone is read).
    public static func recorded(at path: String) throws -> PretrainedConfig? {
        try from(metadata: try SafeTensors.readMetadata(path: path), path: path)
    }

    /// The metadata entry that records it.
    public func metadata() throws -> [String: String] { [Self.metadataKey: try Checkpoint.json(self)] }
}
