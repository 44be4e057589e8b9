/// An owned array of floats with a shape, row-major: what the Swift API takes and returns, so that a result stays
/// valid (unlike the model's internal buffers, which the next call overwrites).
public struct Tensor: Sendable, Equatable {
    /// The size of each axis, outermost first; `values.count` is their product.
    public let shape: [Int]
    /// The elements, row-major (the last axis varies fastest).
    public var values: [Float]

    /// Throws unless `values` has as many elements as `shape` asks for.
    public init(shape: [Int], values: [Float]) throws {
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == values.count else {
            throw ViTKitError("a tensor of shape \(shape) needs \(shape.reduce(1, *)) values, got \(values.count)")
        }
        self.shape = shape; self.values = values
    }

    /// Zeros of `shape`.
    public init(zeros shape: [Int]) { self.shape = shape; values = [Float](repeating: 0, count: shape.reduce(1, *)) }

    /// The element count.
    public var count: Int { values.count }

    /// Row `i` of the first axis, as a flat array (e.g. one image's logits).
    public subscript(row i: Int) -> ArraySlice<Float> {
        let per = shape.dropFirst().reduce(1, *)
        return values[(i * per)..<((i + 1) * per)]
    }

    /// Per row of a [N, K] tensor, the index of its largest value (the predicted class of each image).
    public var argmaxOfRows: [Int] {
        precondition(shape.count == 2, "argmaxOfRows needs a [N, K] tensor, not \(shape)")
        return (0..<shape[0]).map { i in
            let r = self[row: i]
            return r.indices.max { r[$0] < r[$1] }! - r.startIndex
        }
    }
}
