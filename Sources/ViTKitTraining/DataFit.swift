import ViTKitCore
import ViTKitData
import ViTKitIO
import ViTKitImaging
import ViTKitModels
import ViTKitNN
import ViTKitPictures

extension ImageDataset {
    /// Throws unless the pictures have the model's channels and size and the labels its classes; `role` names the
    /// data in the message. A model fed pictures of another size reads past them, and labels past its outputs
    /// index past its logits: neither may reach a computation.
    /// With `size` false the picture size is not checked (pretrained weights of another grid, resampled on load).
    public func checkFits(_ c: ModelConfig, role: String, size checkSize: Bool = true) throws {
        if (checkSize && (size != c.imgSize || width != c.inputWidth)) || channels != c.inChans {
            throw ViTKitError("the \(role) data \(name) has \(channels)×\(size)×\(width) pictures; model \(c.name) expects "
                + "\(c.inChans)×\(c.imgSize)×\(c.inputWidth)")
        }
        if numClasses != c.numClasses {
            throw ViTKitError("the \(role) data \(name) has \(numClasses) classes; model \(c.name) has \(c.numClasses) outputs")
        }
    }
}

extension PretrainedConfig {
    /// The config of a model trained on `dataset`: its picture size and normalisation, and its class names.
    public init(trainedOn dataset: ImageDataset, interpolation: ResampleFilter = .bicubic, cropPct: Double = 1) {
        self.init(inputSize: [dataset.channels, dataset.size, dataset.width], mean: dataset.mean, std: dataset.std,
                  interpolation: interpolation.rawValue, cropPct: cropPct, labelNames: dataset.classNames)
    }
}
