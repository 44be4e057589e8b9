import ViTKitCore
import ViTKitIO
import ViTKitImaging
import ViTKitNN

/// How a ViT's weights start (timm's `weight_init` and the paper's modes, dispatched at osiriszjq/structured_init `timm/models/vision_transformer.py` L554-567).
public enum InitMode: Sendable, Equatable, CustomStringConvertible {
    /// timm's default: trunc-normal(.02) Linear weights, zero biases.
    case timm
    /// PyTorch's own defaults everywhere.
    case skip
    /// Q/K of every layer and head: rank-hd factors of a fresh α·U(±√3/√d) + β·I; V/proj of every layer: the two
    /// factors of 0.4·Z − 0.4·I; the rest as `skip`.
    case mimetic(alpha: Double, beta: Double)
    /// Q/K from the impulse optimisation with a K×K window; the rest as `skip`.
    case impulse(kernel: Int)
    /// The follow-up paper's closed-form `post_weight_init` (`post-default`, `post-mimetic`, `post-impulse`,
    /// optionally with `<p>_<q>_<v>` scales) on top of `skip`.
    case post(PostInit)

    /// The forms `init(parsing:)` accepts, for messages.
    public static let validForms = "timm, skip, mimetic<alpha>_<beta> (e.g. mimetic0.7_0.7), impulse<K> (e.g. impulse3): the first "
        + "paper's; post-default, post-mimetic, post-impulse, each optionally with <p>_<q>_<v> scales (e.g. post-impulse18_7_1): "
        + "the follow-up's closed form"

    /// Parses `timm`, `skip`, `mimetic0.7_0.7`, `impulse3`, …
    public init(parsing text: String) throws {
        func bad(_ why: String) -> ViTKitError { ViTKitError("init mode '\(text)' \(why): expected \(Self.validForms)") }
        switch text {
        case "timm", "": self = .timm
        case "skip": self = .skip
        case _ where text.hasPrefix("post-"):
            let rest = text.dropFirst("post-".count)
            guard let kind = PostInit.Kind.allCases.first(where: { rest.hasPrefix($0.rawValue) }) else {
                throw bad("names no follow-up mode (default, mimetic or impulse)")
            }
            let suffix = rest.dropFirst(kind.rawValue.count)
            if suffix.isEmpty { self = .post(PostInit(kind)); return }
            let parts = suffix.split(separator: "_", omittingEmptySubsequences: false).map { Double($0) }
            guard parts.count == 3, let p = parts[0], let q = parts[1], let v = parts[2], [p, q, v].allSatisfy(\.isFinite) else {
                throw bad("needs three scales <p>_<q>_<v> after the mode")
            }
            self = .post(PostInit(kind, normP: p, normQ: q, normV: v))
        case _ where text.hasPrefix("mimetic"):
            let parts = text.dropFirst("mimetic".count).split(separator: "_", omittingEmptySubsequences: false)
            guard parts.count == 2, let a = Double(parts[0]), let b = Double(parts[1]), a.isFinite, b.isFinite else {
                throw bad("needs two numbers")
            }
            guard a >= 0, b >= 0 else { throw bad("needs alpha and beta of 0 or more") }
            self = .mimetic(alpha: a, beta: b)
        case _ where text.hasPrefix("impulse"):
            guard let k = Int(text.dropFirst("impulse".count)) else { throw bad("needs a whole-number window size") }
            guard k >= 1 else { throw bad("needs a window size of at least 1") }
            self = .impulse(kernel: k)
        default: throw bad("is unknown")
        }
    }

    /// The form `init(parsing:)` reads back (`mimetic0.7_0.7`, `impulse3`, …).
    public var description: String {
        switch self {
        case .timm: return "timm"
        case .skip: return "skip"
        case .mimetic(let a, let b): return "mimetic\(Self.number(a))_\(Self.number(b))"
        case .impulse(let k): return "impulse\(k)"
        case .post(let p): return p.description
        }
    }

    // whole numbers without ".0" (mimetic0.7_1), as long as Int holds them exactly; String(v) reads back as v
    private static func number(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v) }
}
