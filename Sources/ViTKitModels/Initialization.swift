import Foundation
import ViTKitCore
import ViTKitIO
import ViTKitImaging
import ViTKitNN

/// Settings of the impulse optimisation used by `InitMode.impulse` (the defaults of `impulse_init`, osiriszjq/structured_init `timm/models/vision_transformer.py` L869-924).
public struct InitOptions: Sendable, Equatable {
    /// Impulse init: Adam iterations.
    public var impulseIterations = 10_000
    /// Impulse init: Adam's learning rate.
    public var impulseLR: Float = 1e-4
    /// Impulse init: iterations between column renormalisations.
    public var impulseRenormEvery = 100
    /// Optimise a fresh Q, K for every layer instead of once for all layers (the reference's default is once).
    public var impulsePerLayer = false
    /// The pseudo input of layer 0's optimisation (the reference's `pseudo_input1`).
    public var impulseInput = PseudoInput.P
    /// The pseudo input for layers 1 and up (`pseudo_input2`); nil means the same as `impulseInput`. When it
    /// differs, layer 1 gets its own optimisation, which layers 2… share unless `impulsePerLayer`.
    public var impulseInput2: PseudoInput? = nil
    /// The reference's defaults.
    public init() {}
}

extension VisionTransformer {
    /// Initialises every parameter with `mode` (the modes of osiriszjq/structured_init `timm/models/vision_transformer.py` L554-567), drawing from `rng`. Returns the impulse optimisation
    /// results (one, or one per layer), empty for other modes.
    @discardableResult
    public func initialize(_ mode: InitMode, options: InitOptions, rng: inout RNG) throws
        -> [ImpulseInit.Result] {
        if case .post(let post) = mode {
            try initializePost(post, rng: &rng)
            return []
        }
        initializeDefaults(timm: mode == .timm, rng: &rng)
        switch mode {
        case .timm, .skip: return []
        case .mimetic(let alpha, let beta):
            initializeMimetic(alpha: alpha, beta: beta, rng: &rng)
            return []
        case .impulse(let kernel):
            return try initializeImpulse(kernel: kernel, options: options, rng: &rng)
        case .post: return []
        }
    }

    /// timm's default init, or (`timm: false`) PyTorch's defaults: U(±1/√fan_in) for Linear/conv weights and
    /// biases, LayerNorm 1/0. Either way class/register tokens get normal(1e-6) each (timm PR #2229) and a learned
    /// pos_embed and a dist_token trunc-normal(.02); the patch conv keeps PyTorch's default under timm's init too.
    func initializeDefaults(timm: Bool, rng: inout RNG) {
        for e in table.entries {
            let v = UnsafeMutableBufferPointer(start: params.pointer + e.offset, count: e.count)
            let name = e.name
            if name == "cls_token" || name == "reg_token" {
                for i in v.indices { v[i] = 1e-6 * rng.normal() }
            } else if name == "pos_embed" || name == "dist_token" {  // timm's deit.py: dist_token trunc-normal(.02)
                for i in v.indices { v[i] = rng.truncatedNormal(std: 0.02) }
            } else if name.contains("norm") {
                v.update(repeating: name.hasSuffix(".weight") ? 1 : 0)
            } else {
                // Linear or the patch conv: fan_in is the weight's row length
                let weightShape = name.hasSuffix(".bias") ? table[String(name.dropLast(5)) + ".weight"]!.shape : e.shape
                let bound = 1 / Float(weightShape.dropFirst().reduce(1, *)).squareRoot()
                if timm && !name.hasPrefix("patch_embed") {
                    if name.hasSuffix(".bias") { v.update(repeating: 0) }
                    else { for i in v.indices { v[i] = rng.truncatedNormal(std: 0.02) } }
                } else {
                    for i in v.indices { v[i] = rng.uniform(-bound, bound) }
                }
            }
        }
    }

    /// The mimetic init (osiriszjq/structured_init `timm/models/vision_transformer.py` L595-615, `get_ortho_like` L857-867): A = α·U(±√3/√d) + sign·β·I = U S Vh, L = U √S, R = √S Vh (so L·R = A).
    static func orthoLike(dim d: Int, alpha: Double, beta: Double, sign: Double, rng: inout RNG)
        -> (a: [Double], l: [Double], r: [Double]) {
        let bound = (3.0 / Double(d)).squareRoot()
        var a = (0..<(d * d)).map { _ in alpha * Double(rng.uniform(-1, 1)) * bound }
        for i in 0..<d { a[i * d + i] += sign * beta }
        let (u, s, vh) = svd(a, n: d)
        var l = u, r = vh
        for i in 0..<d { for j in 0..<d { l[i * d + j] *= s[j].squareRoot(); r[i * d + j] *= s[i].squareRoot() } }
        return (a, l, r)
    }

    func initializeMimetic(alpha: Double, beta: Double, rng: inout RNG) {
        let d = config.embedDim, hd = d / config.numHeads
        for blk in blocks {
            let qkv = params.pointer + blk.qkvw
            for h in 0..<config.numHeads {
                let (_, lf, rf) = Self.orthoLike(dim: d, alpha: alpha, beta: beta, sign: 1, rng: &rng)
                for j in 0..<hd {
                    for c in 0..<d {
                        qkv[(h * hd + j) * d + c] = Float(lf[c * d + j])        // Q rows = L[:, :hd]ᵀ
                        qkv[(d + h * hd + j) * d + c] = Float(rf[j * d + c])    // K rows = R[:hd, :]
                    }
                }
            }
            let (_, lf, rf) = Self.orthoLike(dim: d, alpha: 0.4, beta: 0.4, sign: -1, rng: &rng)
            for i in 0..<(d * d) {
                qkv[2 * d * d + i] = Float(lf[i])                               // V = L
                params.pointer[blk.projw + i] = Float(rf[i])                    // proj = R
            }
        }
    }

    func initializeImpulse(kernel: Int, options: InitOptions, rng: inout RNG) throws -> [ImpulseInit.Result] {
        let c = config
        if c.posEmbed != .sincos {
            throw ViTKitError("init impulse\(kernel) needs the fixed sin-cos position embedding (its pseudo input), "
                + "but pos embed is '\(c.posEmbed.rawValue)': use --pos-embed sincos")
        }
        // a distillation token may join (its head reads it; the kernels are fitted on the patch grid alone)
        if c.numPrefixTokens > (c.distilled ? 1 : 0) {
            throw ViTKitError("init impulse\(kernel) works on patch tokens only (the reference's README: class_token=False, "
                + "global pool avg), but the model has \(c.numPrefixTokens) class/register token(s)")
        }
        guard c.isSquare else {
            throw ViTKitError("init impulse\(kernel) places its kernels on a square patch grid; the model's is \(c.gridHeight)×\(c.gridWidth)")
        }
        var o = ImpulseInit.Options(kernel: kernel)
        o.iterations = options.impulseIterations; o.lr = options.impulseLR; o.renormEvery = options.impulseRenormEvery
        o.pseudoInput = options.impulseInput
        let first = try ImpulseInit(grid: c.gridSize, dim: c.embedDim, heads: c.numHeads, options: o)
        o.pseudoInput = options.impulseInput2 ?? options.impulseInput
        let later = try ImpulseInit(grid: c.gridSize, dim: c.embedDim, heads: c.numHeads, options: o)
        var results: [ImpulseInit.Result] = []
        let d = c.embedDim
        for (l, blk) in blocks.enumerated() {
            // the reference's schedule: layer 0 always; layer 1 when its pseudo input differs; every layer per-layer
            if l == 0 || options.impulsePerLayer || (l == 1 && later.options.pseudoInput != first.options.pseudoInput) {
                var r = (l == 0 ? first : later).run(pool: pool, rng: &rng)
                r.layers = l...l
                results.append(r)
            }
            results[results.count - 1].layers = results[results.count - 1].layers.lowerBound...l
            let r = results.last!, qkv = params.pointer + blk.qkvw
            for row in 0..<d {
                for col in 0..<d {
                    qkv[row * d + col] = r.q[col * d + row]       // Q rows = Q_hᵀ: Q_all is [D × heads·hd]
                    qkv[(d + row) * d + col] = r.k[row * d + col] // K rows = K_h stacked
                }
            }
        }
        return results
    }
}
