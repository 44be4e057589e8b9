import Foundation
import ViTKitCore
import ViTKitIO
import ViTKitImaging
import ViTKitNN

/// How the depthwise (spatial) filters of a ConvMixer start: the reference's `SpatialConv2d_init` (osiriszjq/structured_init `timm/models/convmixer.py` L17-85).
public enum SpatialInit: Sendable, Equatable, Codable, CustomStringConvertible {
    /// U(±1/k) on every tap: `nn.Conv2d`'s scale for a k×k depthwise filter.
    case random
    /// `random` at init; the taps of each filter go through a softmax over the k² taps in every forward pass.
    case softmax
    /// n distinct random taps set to √(1/(n·k)), the rest 0 (`box1` = `impulse`: a one-hot filter).
    case box(Int)
    /// A Gaussian bump exp(−½·d²/σ²) around a random tap, all filters then divided by √(mean_c(Σw²)·k).
    case gaussian(variance: Double)

    /// The forms `init(parsing:)` accepts, for messages.
    public static let validForms = "random, softmax, impulse (= box1), box<n> (e.g. box9), gau<σ²> (e.g. gau1)"

    /// Parses `random`, `softmax`, `impulse`, `box9`, `gau0.5`, …
    public init(parsing text: String) throws {
        func bad(_ why: String) -> ViTKitError { ViTKitError("spatial init '\(text)' \(why): expected \(Self.validForms)") }
        switch text {
        case "random": self = .random
        case "softmax": self = .softmax
        case "impulse": self = .box(1)
        case _ where text.hasPrefix("box"):
            guard let n = Int(text.dropFirst(3)), n >= 1 else { throw bad("needs a whole number of taps, at least 1") }
            self = .box(n)
        case _ where text.hasPrefix("gau"):
            guard let v = Double(text.dropFirst(3)), v > 0, v.isFinite else { throw bad("needs a positive variance") }
            self = .gaussian(variance: v)
        default: throw bad("is unknown")
        }
    }

    /// The form `init(parsing:)` reads back.
    public var description: String {
        switch self {
        case .random: return "random"
        case .softmax: return "softmax"
        case .box(let n): return "box\(n)"
        case .gaussian(let v): return "gau" + (v == v.rounded() ? String(Int(v)) : String(v))
        }
    }

    /// Decodes the form `description` writes.
    public init(from decoder: Decoder) throws { try self.init(parsing: try decoder.singleValueContainer().decode(String.self)) }
    /// Encodes as the `description` string.
    public func encode(to encoder: Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(description) }

    /// Checks that the init can make a k×k filter.
    public func validate(kernel k: Int) throws {
        if case .box(let n) = self, n > k * k {
            throw ViTKitError("spatial init box\(n) needs \(n) distinct taps, a \(k)×\(k) filter has \(k * k)")
        }
    }

    /// `channels` filters [channels × k × k] (the reference draws C filters and keeps the first `num_heads`).
    public func filters(channels c: Int, kernel k: Int, rng: inout RNG) -> [Float] {
        let kk = k * k
        var w = [Float](repeating: 0, count: c * kk)
        switch self {
        case .random, .softmax:
            for i in w.indices { w[i] = rng.uniform(-1, 1) / Float(k) }
        case .box(let n):
            let v = Float((1 / Double(n * k)).squareRoot())
            for ch in 0..<c {
                // n distinct taps: the first n of a partial Fisher-Yates shuffle
                var taps = Array(0..<kk)
                for j in 0..<n { taps.swapAt(j, j + rng.int(below: kk - j)); w[ch * kk + taps[j]] = v }
            }
        case .gaussian(let variance):
            for ch in 0..<c {
                let ci = rng.int(below: k), cj = rng.int(below: k)
                for p in 0..<k {
                    for q in 0..<k {
                        let d2 = Double((p - ci) * (p - ci) + (q - cj) * (q - cj))
                        w[ch * kk + p * k + q] = Float(exp(-0.5 / variance * d2))
                    }
                }
            }
            let meanSquares = w.reduce(0.0) { $0 + Double($1 * $1) } / Double(c)
            let norm = Float((meanSquares * Double(k)).squareRoot())
            for i in w.indices { w[i] /= norm }
        }
        return w
    }
}
