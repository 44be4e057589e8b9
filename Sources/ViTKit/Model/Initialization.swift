import Foundation

/// Weight initialisation schemes (timm's `weight_init`). The paper's modes come in their own files.
public enum WeightInit: String, Sendable, CaseIterable {
    /// timm's default: trunc-normal(.02) Linear weights, zero Linear biases, PyTorch defaults for the patch conv
    /// and LayerNorms, learned pos_embed trunc-normal(.02), class/register tokens normal(1e-6) (timm PR #2229).
    case timm
    /// PyTorch's own defaults everywhere (the reference code's 'skip'): U(±1/√fan_in) for Linear/conv weights and
    /// biases (kaiming-uniform, a=√5), LayerNorm 1/0; tokens and pos_embed as in `timm`.
    case skip
}

extension VisionTransformer {
    /// Initialises every parameter with `scheme`, drawing from `rng` in state_dict order.
    public func initialize(_ scheme: WeightInit, rng: inout RNG) {
        for e in table.entries {
            let v = UnsafeMutableBufferPointer(start: params.pointer + e.offset, count: e.count)
            let name = e.name
            if name == "cls_token" || name == "reg_token" {
                for i in v.indices { v[i] = 1e-6 * rng.normal() }
            } else if name == "pos_embed" {
                for i in v.indices { v[i] = rng.truncatedNormal(std: 0.02) }
            } else if name.contains("norm") {
                v.update(repeating: name.hasSuffix(".weight") ? 1 : 0)
            } else {
                // Linear or the patch conv: fan_in is the weight's row length
                let weightShape = name.hasSuffix(".bias")
                    ? table[String(name.dropLast(5)) + ".weight"]!.shape : e.shape
                let fanIn = weightShape.dropFirst().reduce(1, *)
                let bound = 1 / Float(fanIn).squareRoot()
                let isConv = name.hasPrefix("patch_embed")
                if scheme == .timm && !isConv {
                    if name.hasSuffix(".bias") { v.update(repeating: 0) }
                    else { for i in v.indices { v[i] = rng.truncatedNormal(std: 0.02) } }
                } else {
                    for i in v.indices { v[i] = rng.uniform(-bound, bound) }
                }
            }
        }
    }
}
