import ViTKitCore

/// Depthwise filters shared between channels (the reference's `choice_idx`): C channels each use one of F
/// filters of T = k·k taps, optionally through a softmax over the taps (the `softmax` spatial init).
///
///   expand:   taps[t, c] = f(weight[choice[c]])[t]                      weight: [F × T], taps: [T × C]
///   backward: dweight[h] = Σ over c with choice[c] = h of J_f(h)ᵀ · dtaps[·, c]       dweight: [F × T]
package enum SharedFilters {
    /// The per-channel filters, tap-major: out[t, c] = f(weight[choice[c]])[t] with f the softmax over the taps
    /// when `softmaxed` [filters × taps] is given (it receives the softmax), else the identity.
    package static func expand(taps out: UnsafeMutablePointer<Float>, softmaxed: UnsafeMutablePointer<Float>?,
                              weight: UnsafePointer<Float>, filters: Int, choice: UnsafeBufferPointer<Int>, taps kk: Int) {
        var source = weight
        if let sm = softmaxed {
            for h in 0..<filters {
                let w = weight + h * kk, o = sm + h * kk
                var mx = -Float.infinity
                for t in 0..<kk { mx = max(mx, w[t]) }
                var sum: Float = 0
                for t in 0..<kk { o[t] = sexp(w[t] - mx); sum += o[t] }
                for t in 0..<kk { o[t] /= sum }
            }
            source = UnsafePointer(sm)
        }
        let c = choice.count
        for ci in 0..<c {
            let f = source + choice[ci] * kk
            for t in 0..<kk { out[t * c + ci] = f[t] }
        }
    }

    /// The weight's gradient dw [filters × taps] (written) from the per-channel tap gradients dTaps [taps × C]:
    /// summed over the channels sharing a filter, through the softmax's Jacobian (s ⊙ (g − Σ s·g)) when
    /// `softmaxed` is given.
    package static func backward(_ dw: UnsafeMutablePointer<Float>, filters: Int, dTaps dt: UnsafePointer<Float>,
                               softmaxed sm: UnsafePointer<Float>?, choice: UnsafeBufferPointer<Int>, taps kk: Int) {
        let c = choice.count
        dw.update(repeating: 0, count: filters * kk)
        for ci in 0..<c {
            let h = choice[ci], o = dw + h * kk
            if let sm {
                let s = sm + h * kk
                var dot: Float = 0
                for t in 0..<kk { dot += s[t] * dt[t * c + ci] }
                for t in 0..<kk { o[t] += s[t] * (dt[t * c + ci] - dot) }
            } else {
                for t in 0..<kk { o[t] += dt[t * c + ci] }
            }
        }
    }
}
