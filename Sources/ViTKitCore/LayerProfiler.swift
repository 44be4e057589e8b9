import Foundation

/// Optional timing of the layer kinds (`vitkit bench --profile`): where a training step's time goes.
/// Off by default; when off each layer pays one nil check.
public final class LayerProfiler: @unchecked Sendable {
    /// The layer kinds timed, with the label each gets in the table.
    public enum Kind: String, CaseIterable {
        case linearForward = "linear fwd (GEMM)", linearBackward = "linear bwd (GEMM)"
        case attentionForward = "attention fwd", attentionBackward = "attention bwd"
        case layerNorm = "layernorm fwd+bwd", gelu = "gelu fwd+bwd (+recompute)", patchify = "im2col"
        case depthwise = "depthwise conv fwd+bwd", batchNorm = "batchnorm fwd+bwd"
        case optimizer = "adamw + clip"
    }

    /// The active profiler, if any.
    nonisolated(unsafe) public static var active: LayerProfiler?

    private var seconds = [Kind: Double]()
    private let started = DispatchTime.now().uptimeNanoseconds

    /// A profiler with no time recorded; set it as `active` to start timing.
    public init() {}

    @inlinable @inline(__always)
    package static func begin() -> UInt64 { active == nil ? 0 : DispatchTime.now().uptimeNanoseconds }

    package static func end(_ kind: Kind, _ t0: UInt64) {
        guard let p = active else { return }
        p.seconds[kind, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }

    /// A table of milliseconds per step and share of the step for each kind; the rest is "other"
    /// (residual adds, token assembly, pooling, loss).
    public func report(steps: Int) -> String {
        let total = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        var lines = ["# where the time goes (ms per step, share)"]
        var accounted = 0.0
        func row(_ name: String, _ s: Double) -> String {
            "#   " + name.padding(toLength: 28, withPad: " ", startingAt: 0)
                + String(format: " %8.1f  %5.1f%%", s * 1e3 / Double(steps), 100 * s / total)
        }
        for k in Kind.allCases {
            let s = seconds[k] ?? 0
            accounted += s
            lines.append(row(k.rawValue, s))
        }
        lines.append(row("other", total - accounted))
        return lines.joined(separator: "\n")
    }
}
