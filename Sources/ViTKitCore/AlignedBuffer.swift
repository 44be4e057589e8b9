/// A float32 buffer aligned to 64 bytes, allocated once and owned by one object.
///
/// Parameters, gradients, optimizer state and activations all live in such buffers; layers receive raw
/// pointers into them (views), so nothing inside a training step allocates.
public final class AlignedBuffer: @unchecked Sendable {
    /// Number of floats.
    public let count: Int
    /// The first float; valid while the buffer lives.
    public let pointer: UnsafeMutablePointer<Float>

    /// Allocates `count` floats, zeroed unless `zeroed` is false.
    public init(count: Int, zeroed: Bool = true) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        if zeroed { pointer.initialize(repeating: 0, count: max(count, 1)) }
    }

    /// A buffer holding a copy of `values`.
    public convenience init(_ values: [Float]) {
        self.init(count: values.count, zeroed: false)
        pointer.update(from: values, count: values.count)
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

    /// The float at index `i` (unchecked).
    public subscript(i: Int) -> Float {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }

    /// A copy of the floats.
    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}
