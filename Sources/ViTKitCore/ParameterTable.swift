/// One named parameter inside the model's flat parameter buffer.
public struct ParameterInfo: Sendable, Equatable {
    /// timm state_dict key, e.g. `blocks.0.attn.qkv.weight`.
    public let name: String
    /// The tensor's shape, as torch's state_dict has it.
    public let shape: [Int]
    /// Where the tensor starts in the flat buffer, in floats.
    public let offset: Int
    /// false for frozen parameters (timm's `requires_grad=False`): AdamW skips them, checkpoints keep them.
    public var trainable = true
    /// In the model's `no_weight_decay()` set (timm's ViT: `pos_embed`, `cls_token`, `dist_token`).
    public var noWeightDecay = false
    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
    /// Whether AdamW decays it, as timm's `param_groups_weight_decay`: ndim > 1, not a bias, and not in the
    /// model's `no_weight_decay()` set.
    public var decays: Bool { shape.count > 1 && !name.hasSuffix(".bias") && !noWeightDecay }
}

/// The layout of all parameters in one flat buffer (and of the gradients, which mirror it), in timm's
/// state_dict order.
public struct ParameterTable: Sendable {
    /// Every tensor, in the order they were added (the buffer's order).
    public private(set) var entries: [ParameterInfo] = []
    /// Total floats of all tensors: the flat buffer's size.
    public private(set) var count = 0
    private var index: [String: Int] = [:]

    /// Appends a parameter and returns its offset. Offsets are rounded up to 16 floats (64 bytes).
    public init() {}

    package mutating func add(_ name: String, _ shape: [Int], trainable: Bool = true, noWeightDecay: Bool = false) -> Int {
        let offset = count
        entries.append(ParameterInfo(name: name, shape: shape, offset: offset, trainable: trainable, noWeightDecay: noWeightDecay))
        index[name] = entries.count - 1
        count = (offset + shape.reduce(1, *) + 15) / 16 * 16
        return offset
    }

    /// The tensor called `name`, or nil.
    public subscript(name: String) -> ParameterInfo? { index[name].map { entries[$0] } }

    /// Number of scalar parameters (without the alignment padding).
    public var parameterCount: Int { entries.reduce(0) { $0 + $1.count } }
}
