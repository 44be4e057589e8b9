import ViTKitCore
import ViTKitIO
import ViTKitImaging

/// timm's RandAugment (`rand_augment_transform`), built from its config string, e.g. `rand-m9-mstd0.5-inc1`:
/// per image `n` ops drawn with replacement from the 15-op set, each applied with probability `p` at a magnitude
/// drawn around `m` (N(m, mstd), or U(0, m) when mstd > 100) and clipped to [0, mmax]; signed arguments are negated
/// with probability ½; geometric ops sample bilinear or bicubic at random and fill with the dataset mean.
public struct RandAugment: Sendable, Equatable {
    /// The ops of timm's `_RAND_INCREASING_TRANSFORMS` (`inc1`) and `_RAND_TRANSFORMS` (`inc0`), in timm's order;
    /// the two sets differ only in how posterize, solarize and the enhancements map magnitude to argument.
    public enum Op: String, Sendable, CaseIterable {
        case autoContrast = "AutoContrast", equalize = "Equalize", invert = "Invert", rotate = "Rotate"
        case posterize = "Posterize", solarize = "Solarize", solarizeAdd = "SolarizeAdd", color = "Color"
        case contrast = "Contrast", brightness = "Brightness", sharpness = "Sharpness", shearX = "ShearX"
        case shearY = "ShearY", translateXRel = "TranslateXRel", translateYRel = "TranslateYRel"

        /// The name timm gives the op in the chosen set (`PosterizeIncreasing`, …).
        public func timmName(increasing: Bool) -> String {
            switch self {
            case .posterize, .solarize, .color, .contrast, .brightness, .sharpness:
                return increasing ? rawValue + "Increasing" : rawValue
            default: return rawValue
            }
        }

        var isGeometric: Bool {
            switch self {
            case .rotate, .shearX, .shearY, .translateXRel, .translateYRel: return true
            default: return false
            }
        }

        /// `allCases` once (the synthesized property builds a new array on every call).
        static let all = allCases
    }

    /// The timm config string it was parsed from (`rand-m9-mstd0.5-inc1`).
    public var config: String
    /// Magnitude `m` of each op, out of `magnitudeMax`.
    public var magnitude: Double = 10
    /// Standard deviation of the magnitude's per-op noise (`mstd`); 0 for none.
    public var magnitudeStd: Double = 0
    /// Upper clip of a noisy magnitude (`mmax`).
    public var magnitudeMax: Double = 10
    /// Ops applied per image (`n`).
    public var layers = 2
    /// Probability each chosen op is applied (`p`).
    public var prob = 0.5
    /// Whether the ops use timm's increasing-magnitude variants (`inc1`).
    public var increasing = false
    /// Fill colour of geometric ops, per channel (timm: round(255 · mean)).
    public var fill: [UInt8]
    /// nil: bilinear or bicubic at random per op (timm's 'random' train interpolation).
    public var interpolation: ResampleFilter?
    /// Translation range as a fraction of the size (timm's `translate_pct`).
    public var translatePct = 0.45

    /// Parses timm's string: `rand` then dash-separated `m<int>`, `n<int>`, `p<float>`, `mstd<float>`,
    /// `mmax<int>`, `inc<0|1>`, in any order.
    public init(config: String, mean: [Float], interpolation: ResampleFilter? = nil) throws {
        self.config = config
        fill = mean.map { UInt8(min(255, (255 * Double($0)).rounded(.toNearestOrEven))) }
        self.interpolation = interpolation
        let parts = config.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard parts.first == "rand" else {
            throw ViTKitError("--aa '\(config)': only RandAugment is supported, a string like 'rand-m9-mstd0.5-inc1' "
                + "(timm's AutoAugment 'v0'/'original', AugMix and 3-Augment are not)")
        }
        for part in parts.dropFirst() {
            guard let digit = part.firstIndex(where: { $0.isNumber }) else {
                throw ViTKitError("--aa '\(config)': section '\(part)' has no value; expected m<int>, n<int>, p<float>, "
                    + "mstd<float>, mmax<int> or inc<0|1>")
            }
            let key = String(part[..<digit]), text = String(part[digit...])
            func number<T: LosslessStringConvertible>(_: T.Type) throws -> T {
                guard let v = T(text) else {
                    throw ViTKitError("--aa '\(config)': '\(text)' in section '\(part)' is not a valid \(T.self == Int.self ? "integer" : "number")")
                }
                return v
            }
            switch key {
            case "m": magnitude = Double(try number(Int.self))
            case "n": layers = try number(Int.self)
            case "p": prob = try number(Double.self)
            case "mstd": let s = try number(Double.self); magnitudeStd = s > 100 ? .infinity : s
            case "mmax": magnitudeMax = Double(try number(Int.self))
            case "inc": increasing = try number(Int.self) != 0
            default:
                throw ViTKitError("--aa '\(config)': unknown section '\(part)'; expected m<int>, n<int>, p<float>, "
                    + "mstd<float>, mmax<int> or inc<0|1>")
            }
        }
        // n is ops per picture: past 100 (timm's recipes use 2 or 3) a typo would stall every batch, not train
        if !(0...100).contains(layers) || !(0...1).contains(prob) || !(magnitudeStd >= 0) {
            throw ViTKitError("--aa '\(config)': n must be in 0...100, p in [0, 1] and mstd ≥ 0")
        }
    }

    /// The op's argument at `magnitude` (timm's `LEVEL_TO_ARG`), negated where timm negates when `negate`.
    public func argument(_ op: Op, magnitude m: Double, negate: Bool) -> Double {
        let level = m / 10, sign = negate ? -1.0 : 1.0
        switch op {
        case .autoContrast, .equalize, .invert: return 0
        case .rotate: return sign * (level * 30)
        case .posterize:
            let bits = Int(level * 4)
            return Double(increasing ? 4 - bits : bits)
        case .solarize:
            let t = min(256, Int(level * 256))
            return Double(increasing ? 256 - t : t)
        case .solarizeAdd: return Double(min(128, Int(level * 110)))
        case .color, .contrast, .brightness, .sharpness:
            return increasing ? max(0.1, 1 + sign * (level * 0.9)) : level * 1.8 + 0.1
        case .shearX, .shearY: return sign * (level * 0.3)
        case .translateXRel, .translateYRel: return sign * (level * translatePct)
        }
    }

    /// Applies `op` with argument `arg` to `img` in place (`scratch`: same shape, clobbered).
    public func apply(_ op: Op, _ arg: Double, to img: PlanarImage, scratch: PlanarImage, filter: ResampleFilter) {
        func geometric(_ m: AffineMatrix) {
            scratch.copy(from: img)
            PillowOps.affine(scratch, into: img, matrix: m, filter: filter, fill: fill)
        }
        switch op {
        case .autoContrast: PillowOps.autocontrast(img)
        case .equalize: PillowOps.equalize(img)
        case .invert: PillowOps.invert(img)
        case .posterize: PillowOps.posterize(img, bits: Int(arg))
        case .solarize: PillowOps.solarize(img, threshold: Int(arg))
        case .solarizeAdd: PillowOps.solarizeAdd(img, add: Int(arg))
        case .color: PillowOps.color(img, factor: arg)
        case .contrast: PillowOps.contrast(img, factor: arg)
        case .brightness: PillowOps.brightness(img, factor: arg)
        case .sharpness: PillowOps.sharpness(img, factor: arg, scratch: scratch)
        case .rotate:
            scratch.copy(from: img)
            PillowOps.rotate(scratch, into: img, degrees: arg, filter: filter, fill: fill)
        case .shearX: geometric(AffineMatrix(a: 1, b: arg, c: 0, d: 0, e: 1, f: 0))
        case .shearY: geometric(AffineMatrix(a: 1, b: 0, c: 0, d: arg, e: 1, f: 0))
        case .translateXRel: geometric(AffineMatrix(a: 1, b: 0, c: arg * Double(img.width), d: 0, e: 1, f: 0))
        case .translateYRel: geometric(AffineMatrix(a: 1, b: 0, c: 0, d: 0, e: 1, f: arg * Double(img.height)))
        }
    }

    /// An op's magnitude: N(m, mstd), or U(0, m) for mstd ∞, clipped to [0, mmax].
    public func drawMagnitude(_ rng: inout RNG) -> Double {
        var m = magnitude
        if magnitudeStd == .infinity { m = rng.uniformDouble() * magnitude }
        else if magnitudeStd > 0 { m = magnitude + magnitudeStd * Double(rng.normal()) }
        return max(0, min(m, magnitudeMax))
    }

    /// One RandAugment draw on `img`, in place: `layers` ops, each kept with probability `prob`.
    public func callAsFunction(_ img: PlanarImage, scratch: PlanarImage, rng: inout RNG) {
        let all = Op.all
        for _ in 0..<layers {
            let op = all[rng.int(below: all.count)]
            if prob < 1 && rng.uniformDouble() > prob { continue }
            let m = drawMagnitude(&rng)
            let negate = rng.uniformDouble() > 0.5
            let filter = op.isGeometric ? (interpolation ?? (rng.uniformDouble() < 0.5 ? .bilinear : .bicubic)) : .bilinear
            apply(op, argument(op, magnitude: m, negate: negate), to: img, scratch: scratch, filter: filter)
        }
    }
}
