import ViTKitCore

extension ModelConfig {
    /// The floating-point operations of one training step on `batch` images, counted from the model's shapes as
    /// model FLOPs are (the work the mathematics needs, not what an implementation recomputes): every matrix
    /// product at 2·m·n·k, three times over for forward, input gradient and weight gradient (twice for the patch
    /// or stem embedding, whose input needs no gradient); attention's Q·Kᵀ and P·V likewise three times; the
    /// depthwise convolution at 2·k² per output. Elementwise work (norms, GELU, softmax, AdamW) is left out.
    public func trainingFLOPs(batch: Int) -> Double {
        let b = Double(batch)
        switch self {
        case .vit(let c):
            let t = Double(c.numTokens), d = Double(c.embedDim), hid = Double(c.mlpHidden)
            let patch = Double(c.inChans * c.patchSize * c.patchSize), n = Double(c.numPatches)
            let embed = 2 * b * n * patch * d * 2
            let linears = 2 * b * t * d * (3 * d + d + 2 * hid) * 3
            let attention = 2 * (2 * b * t * t * d) * 3  // Q·Kᵀ and P·V over all heads: T²·hd·H = T²·D
            let heads = Double(c.distilled ? 2 : 1) * 2 * b * d * Double(c.numClasses) * 3
            return embed + Double(c.depth) * (linears + attention) + heads
        case .convMixer(let c):
            let rows = b * Double(c.gridSize * c.gridSize), d = Double(c.dim), k2 = Double(c.kernelSize * c.kernelSize)
            let stem = 2 * rows * Double(c.inChans * c.patchSize * c.patchSize) * d * 2
            let block = (2 * rows * d * k2 + 2 * rows * d * d) * 3
            return stem + Double(c.depth) * block + 2 * b * d * Double(c.numClasses) * 3
        }
    }

    /// The floating-point operations of one evaluation forward pass on `batch` images, counted the same way: a
    /// third of the training step's, the embedding's half.
    public func inferenceFLOPs(batch: Int) -> Double {
        let embed: Double
        switch self {
        case .vit(let c): embed = 2 * Double(batch * c.numPatches * c.inChans * c.patchSize * c.patchSize * c.embedDim)
        case .convMixer(let c): embed = 2 * Double(batch * c.gridSize * c.gridSize * c.inChans * c.patchSize * c.patchSize * c.dim)
        }
        return (trainingFLOPs(batch: batch) - 2 * embed) / 3 + embed
    }
}
