/// The per-image training transform, timm's `transforms_imagenet_train` on 8-bit planes: random resized crop,
/// horizontal flip, then RandAugment, or colour jitter when RandAugment is off. Each image draws from its own
/// random stream, so the result does not depend on which thread prepares it.
public struct TrainTransform: Sendable, Equatable {
    /// nil: no crop (the paper's `--scale 1 1 --ratio 1 1` on square pictures is the identity).
    public var crop: RandomResizedCrop?
    public var hflip: Double
    public var randAugment: RandAugment?
    /// Used only when `randAugment` is nil, as in timm.
    public var colorJitter: ColorJitter?

    public init(crop: RandomResizedCrop? = nil, hflip: Double = 0.5, randAugment: RandAugment? = nil,
                colorJitter: ColorJitter? = nil) {
        self.crop = crop; self.hflip = hflip; self.randAugment = randAugment; self.colorJitter = colorJitter
    }

    /// Per-thread buffers for pictures of up to `channels`×`size`×`size`.
    public final class Workspace: @unchecked Sendable {
        /// The transform's output, for callers that want one here.
        public let output: UnsafeMutablePointer<UInt8>
        let crop: UnsafeMutablePointer<UInt8>, scratch: UnsafeMutablePointer<UInt8>
        let resize: ResizeWorkspace
        public init(channels: Int, size: Int) {
            let n = channels * size * size
            output = .allocate(capacity: n); crop = .allocate(capacity: n); scratch = .allocate(capacity: n)
            resize = ResizeWorkspace(maxInput: size, output: size, maxOutput: size, channels: channels)
        }
        deinit { output.deallocate(); crop.deallocate(); scratch.deallocate() }
    }

    /// Transforms the `src` picture into `out` (same shape).
    public func callAsFunction(_ src: PlanarImage, into out: PlanarImage, workspace: Workspace, rng: inout RNG) {
        if let crop { crop(src, into: out, cropBuffer: workspace.crop, workspace: workspace.resize, rng: &rng) }
        else { out.copy(from: src) }
        if hflip > 0 && rng.uniformDouble() < hflip { out.flipLeftRight() }
        let scratch = PlanarImage(workspace.scratch, width: out.width, height: out.height, channels: out.channels)
        if let randAugment { randAugment(out, scratch: scratch, rng: &rng) }
        else if let colorJitter, colorJitter.active { colorJitter(out, rng: &rng) }
    }
}
