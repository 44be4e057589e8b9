import ViTKitCore
import ViTKitIO
import ViTKitImaging

/// The per-image training transform, timm's `transforms_imagenet_train` on 8-bit planes: random resized crop,
/// horizontal flip, then RandAugment, or colour jitter when RandAugment is off. Each image draws from its own
/// random stream, so the result does not depend on which thread prepares it.
public struct TrainTransform: Sendable, Equatable {
    /// The default, scale and ratio (1, 1), leaves a square picture of the output's size as it is (the paper's
    /// `--scale 1 1 --ratio 1 1`) and brings any other to the output's size as torchvision would: the centre square,
    /// resized.
    public var crop: RandomResizedCrop
    /// Probability of a horizontal flip.
    public var hflip: Double
    /// RandAugment, or nil (then colour jitter applies).
    public var randAugment: RandAugment?
    /// Used only when `randAugment` is nil, as in timm.
    public var colorJitter: ColorJitter?

    /// A transform from its parts; the defaults do nothing but the flip.
    public init(crop: RandomResizedCrop = RandomResizedCrop(scale: (1, 1), ratio: (1, 1)), hflip: Double = 0.5,
                randAugment: RandAugment? = nil, colorJitter: ColorJitter? = nil) {
        self.crop = crop; self.hflip = hflip; self.randAugment = randAugment; self.colorJitter = colorJitter
    }

    /// Per-thread buffers for outputs of `channels`×`size`×`size`. Those that depend on the source picture's size
    /// grow to the largest seen and are then reused, so transforming allocates nothing after the first pictures.
    public final class Workspace: @unchecked Sendable {
        /// The transform's output, for callers that want one here.
        public let output: UnsafeMutablePointer<UInt8>
        /// Decodes the pictures of a file-backed dataset.
        public let decoder = ImageDecoder()
        let scratch: UnsafeMutablePointer<UInt8>
        let channels: Int, size: Int, width: Int
        private var cropBytes = GrowingBytes(), greyBytes = GrowingBytes()
        private(set) var resize: ResizeWorkspace

        /// Scratch for images of `channels` × `size` × `width` (`width` nil: square).
        public init(channels: Int, size: Int, width: Int? = nil) {
            let w = width ?? size
            self.channels = channels; self.size = size; self.width = w
            let n = channels * size * w
            output = .allocate(capacity: n); scratch = .allocate(capacity: n)
            _ = cropBytes.reserve(n)
            resize = ResizeWorkspace(maxInput: max(size, w), output: min(size, w), maxOutput: max(size, w), channels: channels)
        }
        deinit { output.deallocate(); scratch.deallocate(); cropBytes.free(); greyBytes.free() }

        /// A decoded picture's grey version (Pillow's `convert("L")`), for a one-channel dataset of image files.
        func grey(_ picture: PlanarImage) -> PlanarImage {
            let out = greyBytes.reserve(picture.plane)
            picture.greyscale(into: out)
            return PlanarImage(out, width: picture.width, height: picture.height, channels: 1)
        }

        /// The crop buffer, with the resize buffers grown for a `width`×`height` source when it is the largest yet.
        func reserve(width: Int, height: Int) -> UnsafeMutablePointer<UInt8> {
            let side = max(width, height)
            if side > resize.maxInput {
                resize = ResizeWorkspace(maxInput: max(side, resize.maxInput * 3 / 2), output: min(size, width),
                                         maxOutput: max(size, width), channels: channels)
            }
            return cropBytes.reserve(channels * width * height)
        }
    }

    /// Transforms the `src` picture (any size) into `out`.
    public func callAsFunction(_ src: PlanarImage, into out: PlanarImage, workspace: Workspace, rng: inout RNG) {
        let cropBuffer = workspace.reserve(width: src.width, height: src.height)
        crop(src, into: out, cropBuffer: cropBuffer, workspace: workspace.resize, rng: &rng)
        if hflip > 0 && rng.uniformDouble() < hflip { out.flipLeftRight() }
        let scratch = PlanarImage(workspace.scratch, width: out.width, height: out.height, channels: out.channels)
        if let randAugment { randAugment(out, scratch: scratch, rng: &rng) }
        else if let colorJitter, colorJitter.active { colorJitter(out, rng: &rng) }
    }
}
