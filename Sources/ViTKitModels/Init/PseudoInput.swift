import ViTKitCore
import ViTKitIO
import ViTKitImaging
import ViTKitNN

/// What the impulse optimisation feeds its attention (the reference's `pseudo_input1/2` codes in `impulse_init`, osiriszjq/structured_init `timm/models/vision_transformer.py` L869-924). The
/// chosen tensor has the position embedding's shape [N × D] and is LayerNorm-ed (eps 1e-5, no affine) before use.
public enum PseudoInput: String, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    /// The fixed sin-cos position embedding (the reference's default); no randomness.
    case P
    /// U(−1, 1) noise.
    case U
    /// Truncated normal, std √½, cut at ±2 (timm's `trunc_normal_` bounds).
    case G
    /// The position embedding plus U(−1, 1) noise.
    case A
    /// The position embedding plus the truncated-normal noise of `G`.
    case B

    /// The one-letter name.
    public var description: String { rawValue }

    /// The names with what each means, for messages.
    public static let validForms = "P (sin-cos position embedding), U (uniform noise), G (Gaussian noise), "
        + "A (P + U), B (P + G)"

    /// Parses one of the five codes.
    public init(parsing text: String) throws {
        guard let v = PseudoInput(rawValue: text) else {
            throw ViTKitError("pseudo input '\(text)' is not known: expected one of \(Self.validForms)")
        }
        self = v
    }

    /// The raw tensor [grid² × dim], before LayerNorm; noise drawn from `rng` (nothing drawn for `P`).
    public func tensor(grid: Int, dim: Int, rng: inout RNG) -> [Float] {
        var x = self == .U || self == .G ? [Float](repeating: 0, count: grid * grid * dim)
            : sincos2DPositionEmbedding(grid: grid, dim: dim)
        switch self {
        case .P: break
        case .U, .A: for i in x.indices { x[i] += rng.uniform(-1, 1) }
        case .G, .B: for i in x.indices { x[i] += rng.truncatedNormal(std: Float(0.5).squareRoot()) }
        }
        return x
    }
}
