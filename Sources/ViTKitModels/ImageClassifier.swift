import Foundation
import ViTKitCore
import ViTKitIO
import ViTKitImaging
import ViTKitNN

/// What training, evaluation, benchmarks and checkpoints need of a model (a `VisionTransformer` or a `ConvMixer`):
/// its parameters and gradients in flat buffers with named views, its other saved state, and a forward pass and a
/// training step over raw image batches [B × C × H × W].
public protocol ImageClassifier: AnyObject {
    /// The named config it was built from (e.g. `vit_tiny_patch2_32`, `convmixer_256_8_3_impulse`).
    var name: String { get }
    var architecture: ModelConfig { get }
    var table: ParameterTable { get }
    var params: AlignedBuffer { get }
    var grads: AlignedBuffer { get }
    /// Tensors saved with the weights that are not trained (BatchNorm running statistics), laid out by `stateTable`.
    var stateTable: ParameterTable { get }
    var state: AlignedBuffer { get }
    var pool: ThreadPool { get }
    var inChans: Int { get }
    var imgSize: Int { get }
    /// Input width (the height `imgSize` for square inputs).
    var inputWidth: Int { get }
    var numClasses: Int { get }

    /// Makes sure activation buffers exist for `batch` images.
    func reserve(batch: Int)
    /// Inference: the logits [batch × classes] of normalised `images` (BatchNorm in evaluation mode).
    @discardableResult
    func forward(images: UnsafePointer<Float>, batch: Int) -> UnsafeMutablePointer<Float>
    /// The forward pass of a training step (BatchNorm with batch statistics), saving what backward needs.
    func trainingForward(images: UnsafePointer<Float>, batch: Int) -> UnsafeMutablePointer<Float>
    /// Back-propagates `dlogits` [batch × classes] through the last training forward, writing every gradient.
    func backward(dlogits: UnsafePointer<Float>, batch: Int)
    /// Room for d(loss)/d(logits) [batch × classes] after `reserve`.
    var dLogits: UnsafeMutablePointer<Float> { get }

    /// Sets every weight as `mode` says, drawing from `rng`: a ViT takes any `InitMode`; a ConvMixer takes `.timm`
    /// (PyTorch's defaults, with its config's spatial init for the depthwise filters) and refuses the ViT modes.
    /// Returns the impulse optimisation's results (empty for other modes).
    @discardableResult
    func initialize(_ mode: InitMode, options: InitOptions, rng: inout RNG) throws -> [ImpulseInit.Result]
}

extension ImageClassifier {
    /// Number of parameters, frozen ones included (timm's `sum(p.numel() for p in model.parameters())`).
    public var parameterCount: Int { table.parameterCount }

    /// `initialize(_:options:rng:)` with the impulse optimisation's default settings.
    @discardableResult
    public func initialize(_ mode: InitMode = .timm, rng: inout RNG) throws -> [ImpulseInit.Result] {
        try initialize(mode, options: InitOptions(), rng: &rng)
    }

    /// One training step's loss and gradients: forward, label-smoothed cross-entropy, backward.
    public func lossAndGradients(images: UnsafePointer<Float>, labels: UnsafePointer<Int32>, batch: Int,
                                 smoothing: Float) -> Float {
        let logits = trainingForward(images: images, batch: batch)
        let loss = CrossEntropy.forwardBackward(logits: logits, labels: labels, batch: batch, classes: numClasses,
                                                smoothing: smoothing, dlogits: dLogits)
        backward(dlogits: dLogits, batch: batch)
        return loss
    }

    /// One training step with soft targets [batch × classes] (mixup/cutmix): forward, soft-target cross-entropy,
    /// backward.
    public func lossAndGradients(images: UnsafePointer<Float>, targets: UnsafePointer<Float>, batch: Int) -> Float {
        let logits = trainingForward(images: images, batch: batch)
        let loss = CrossEntropy.forwardBackward(logits: logits, targets: targets, batch: batch, classes: numClasses,
                                                dlogits: dLogits)
        backward(dlogits: dLogits, batch: batch)
        return loss
    }

    /// The logits [count × classes] of `count` normalised images [count × C × H × W], `chunk` images per forward.
    public func predict(images: [Float], count: Int, chunk: Int = 256) throws -> [Float] {
        let per = inChans * imgSize * inputWidth, classes = numClasses
        guard images.count == count * per else {
            throw ViTKitError("predict: \(images.count) values are not \(count) images of \(inChans)×\(imgSize)×\(inputWidth)")
        }
        var logits = [Float](repeating: 0, count: count * classes)
        var start = 0
        while start < count {
            let b = min(chunk, count - start)
            images.withUnsafeBufferPointer { xs in
                let out = forward(images: xs.baseAddress! + start * per, batch: b)
                for i in 0..<(b * classes) { logits[start * classes + i] = out[i] }
            }
            start += b
        }
        return logits
    }

    /// A view of one parameter by its timm name, into the model's own buffer: valid only while the model lives
    /// (copy it, `Array(view)`, with the model held, e.g. in a local).
    public func parameter(_ name: String) -> UnsafeMutableBufferPointer<Float>? {
        table[name].map { UnsafeMutableBufferPointer(start: params.pointer + $0.offset, count: $0.count) }
    }

    /// A view of one parameter's gradient by its timm name.
    public func gradient(_ name: String) -> UnsafeMutableBufferPointer<Float>? {
        table[name].map { UnsafeMutableBufferPointer(start: grads.pointer + $0.offset, count: $0.count) }
    }

    /// A view of one saved non-parameter tensor (a buffer, in torch's words) by its timm name.
    public func buffer(_ name: String) -> UnsafeMutableBufferPointer<Float>? {
        stateTable[name].map { UnsafeMutableBufferPointer(start: state.pointer + $0.offset, count: $0.count) }
    }

    /// Makes the model's training BatchNorms share their batch statistics across replicas (nil: this process's
    /// batch alone); returns false for a model without BatchNorm.
    @discardableResult
    package func synchronizeBatchNorm(_ sync: BatchNorm2d.CrossReplica?) -> Bool {
        guard let cm = self as? ConvMixer else { return false }
        cm.batchNormSync = sync
        return true
    }

    /// Bytes of the activation buffers a training pass over `batch` images takes (`inference`: a teacher's
    /// evaluation-only buffers), computed from the shapes without allocating.
    package func activationBytes(batch: Int, inference: Bool = false) -> Int {
        switch architecture {
        case .vit(let c): return 4 * Activations.floatCount(config: c, capacity: batch, threads: pool.threadCount)
        case .convMixer(let c): return 4 * ConvMixerActivations.floatCount(config: c, capacity: batch, forTraining: !inference)
        }
    }

    /// Whether training buffers for `batch` images are already allocated.
    package func hasTrainingActivations(batch: Int) -> Bool {
        if let v = self as? VisionTransformer { return (v.acts?.capacity ?? 0) >= batch }
        if let m = self as? ConvMixer, let a = m.acts { return a.capacity >= batch && a.forTraining }
        return false
    }

    /// Square inputs unless a model says otherwise.
    public var inputWidth: Int { imgSize }

    /// Turns stochastic depth on (timm's `drop_path_rate`; nil or 0 off) for batches of up to `capacity`; returns
    /// false for a model without residual blocks to drop (ConvMixer).
    @discardableResult
    package func setDropPath(rate: Double?, capacity: Int) -> Bool {
        guard let vit = self as? VisionTransformer else { return false }
        vit.setDropPath(rate: rate, capacity: capacity)
        return true
    }

    /// Draws the next training forward's drop-path and dropout masks, keyed by the images' positions in the epoch.
    package func drawRegularisationMasks(seed: UInt64, epoch: Int, firstPosition: Int, batch: Int) {
        (self as? VisionTransformer)?.drawDropPathMasks(seed: seed, epoch: epoch, firstPosition: firstPosition, batch: batch)
        (self as? VisionTransformer)?.drawDropoutMasks(seed: seed, epoch: epoch, firstPosition: firstPosition, batch: batch)
        (self as? VisionTransformer)?.drawInnerDropoutKeys(seed: seed, epoch: epoch, firstPosition: firstPosition, batch: batch)
    }

    /// Turns timm's attention-weight and projection/MLP dropouts on (0: off); false for a model without them.
    @discardableResult
    package func setInnerDropout(attn: Double, proj: Double, capacity: Int) -> Bool {
        guard let vit = self as? VisionTransformer else { return false }
        vit.setInnerDropout(attn: attn, proj: proj, capacity: capacity)
        return true
    }

    /// Turns timm's head and position dropouts on (0: off); false for a model without them (ConvMixer).
    @discardableResult
    package func setDropout(head: Double, pos: Double, capacity: Int) -> Bool {
        guard let vit = self as? VisionTransformer else { return false }
        vit.setDropout(head: head, pos: pos, capacity: capacity)
        return true
    }

    /// Parameters and buffers: every tensor of timm's state_dict, in order of the two tables.
    public var stateDictEntries: [(ParameterInfo, UnsafeMutablePointer<Float>)] {
        table.entries.map { ($0, params.pointer + $0.offset) } + stateTable.entries.map { ($0, state.pointer + $0.offset) }
    }
}

/// A model architecture of either family, as recorded in checkpoints.
public enum ModelConfig: Sendable, Equatable {
    case vit(ViTConfig)
    case convMixer(ConvMixerConfig)

    /// The config's name.
    public var name: String {
        switch self { case .vit(let c): return c.name; case .convMixer(let c): return c.name }
    }
    /// Input width and height, in pixels.
    public var imgSize: Int {
        switch self { case .vit(let c): return c.imgSize; case .convMixer(let c): return c.imgSize }
    }

    /// Input width (`imgSize` for square inputs).
    public var inputWidth: Int {
        switch self { case .vit(let c): return c.width; case .convMixer(let c): return c.imgSize }
    }
    /// Input channels.
    public var inChans: Int {
        switch self { case .vit(let c): return c.inChans; case .convMixer(let c): return c.inChans }
    }
    /// Outputs of the head.
    public var numClasses: Int {
        switch self { case .vit(let c): return c.numClasses; case .convMixer(let c): return c.numClasses }
    }

    /// Builds the model (weights all zero until initialised or loaded).
    public func makeModel(pool: ThreadPool) throws -> any ImageClassifier {
        switch self {
        case .vit(let c): return try VisionTransformer(config: c, pool: pool)
        case .convMixer(let c): return try ConvMixer(config: c, pool: pool)
        }
    }

    /// The metadata key and JSON that record it in a checkpoint.
    package static let vitKey = "vitkit_config", convMixerKey = "vitkit_convmixer_config"

    package func metadata() throws -> [String: String] {
        switch self {
        case .vit(let c): return [Self.vitKey: try Checkpoint.json(c)]
        case .convMixer(let c): return [Self.convMixerKey: try Checkpoint.json(c)]
        }
    }

    /// The architecture a checkpoint's metadata records, or nil when it records none (a file timm wrote).
    package static func from(metadata: [String: String], path: String) throws -> ModelConfig? {
        if let json = metadata[vitKey] {
            guard let c = try? JSONDecoder().decode(ViTConfig.self, from: Data(json.utf8)) else {
                throw ViTKitError("checkpoint \(path): metadata '\(vitKey)' is not a ViTKit ViT config")
            }
            do { try c.validate() } catch { throw ViTKitError("checkpoint \(path): metadata '\(vitKey)' describes no valid ViT: \(error)") }
            return .vit(c)
        }
        if let json = metadata[convMixerKey] {
            guard let c = try? JSONDecoder().decode(ConvMixerConfig.self, from: Data(json.utf8)) else {
                throw ViTKitError("checkpoint \(path): metadata '\(convMixerKey)' is not a ViTKit ConvMixer config")
            }
            do { try c.validate() } catch {
                throw ViTKitError("checkpoint \(path): metadata '\(convMixerKey)' describes no valid ConvMixer: \(error)")
            }
            return .convMixer(c)
        }
        return nil
    }
}
