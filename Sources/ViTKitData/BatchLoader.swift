import ViTKitCore
import ViTKitIO
import ViTKitImaging

/// Turns dataset images into a normalised float batch, with optional horizontal flips, into fixed buffers.
public final class BatchLoader {
    /// The images loaded from.
    public let dataset: ImageDataset
    /// The most images one batch holds.
    public let capacity: Int
    /// The last batch, normalised, [capacity × C × H × W].
    public let images: AlignedBuffer
    /// The last batch's labels.
    public private(set) var labels: [Int32]
    private var flips: [Bool]
    private let scale: [Float], shift: [Float]

    /// A loader for batches of up to `capacity` images of `dataset`.
    public init(dataset: ImageDataset, capacity: Int) {
        self.dataset = dataset; self.capacity = capacity
        images = AlignedBuffer(count: capacity * dataset.imageBytes)
        labels = [Int32](repeating: 0, count: capacity)
        flips = [Bool](repeating: false, count: capacity)
        (scale, shift) = dataset.normalization
    }

    /// Fills the batch with dataset images `indices` (at most `capacity`); each is flipped left-right with
    /// probability `flipProbability` when `flipRng` is given (drawn in batch order, so they are seeded).
    public func load(_ pool: ThreadPool, indices: ArraySlice<Int>, flipRng: UnsafeMutablePointer<RNG>?,
                     flipProbability: Float = 0.5) {
        precondition(indices.count <= capacity)
        precondition(dataset.storedSize == dataset.size && dataset.storedWidth == dataset.width,
                     "evaluation reads pictures at the model's size (evalResized)")
        let n = indices.count, c = dataset.channels, s = dataset.size
        for (j, i) in indices.enumerated() {
            labels[j] = dataset.labels[i]
            flips[j] = flipRng.map { $0.pointee.uniform() < flipProbability } ?? false
        }
        dataset.images.withUnsafeBufferPointer { src in
            flips.withUnsafeBufferPointer { flips in
                scale.withUnsafeBufferPointer { scale in
                    shift.withUnsafeBufferPointer { shift in
                        indices.withUnsafeBufferPointer { indices in
                            pool.run(Normalize(src: src.baseAddress!, dst: images.pointer, indices: indices.baseAddress!,
                                               flips: flips.baseAddress!, scale: scale.baseAddress!,
                                               shift: shift.baseAddress!, count: n, channels: c, size: s, width: dataset.width))
                        }
                    }
                }
            }
        }
    }

    /// Bytes to normalised floats, image by image, flipped where asked.
    struct Normalize: ParallelRangeJob {
        let src: UnsafePointer<UInt8>, dst: UnsafeMutablePointer<Float>, indices: UnsafePointer<Int>
        let flips: UnsafePointer<Bool>, scale: UnsafePointer<Float>, shift: UnsafePointer<Float>
        let count: Int, channels: Int, size: Int, width: Int

        func run(_ range: Range<Int>) {
            let plane = size * width, bytes = channels * plane, w = width
            for j in range {
                let from = src + indices[j] * bytes, to = dst + j * bytes
                for ch in 0..<channels {
                    let a = scale[ch], b = shift[ch]
                    for y in 0..<size {
                        let row = from + ch * plane + y * w, out = to + ch * plane + y * w
                        if flips[j] { for x in 0..<w { out[x] = Float(row[w - 1 - x]) * a + b } }
                        else { for x in 0..<w { out[x] = Float(row[x]) * a + b } }
                    }
                }
            }
        }
    }
}
