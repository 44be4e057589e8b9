import ViTKitCore

/// Patch embedding: Conv2d(C, D, kernel = stride = patch), done as im2col followed by a GEMM.
package enum PatchEmbed {
    /// cols: [B·N × C·p·p] with column c·p·p + ky·p + kx (the conv weight's flattening order) and row
    /// b·N + gy·Gw + gx (timm's flatten(2).transpose(1, 2) token order); images: [B × C × H × W] (W = `width`,
    /// or H when it is nil)
    package static func im2col(_ pool: ThreadPool, cols: UnsafeMutablePointer<Float>, images: UnsafePointer<Float>,
                              batch: Int, channels: Int, size: Int, width: Int? = nil, patch: Int) {
        let timer = LayerProfiler.begin(); defer { LayerProfiler.end(.patchify, timer) }
        let w = width ?? size
        pool.run(Im2col(cols: cols, images: images, count: batch * (size / patch) * (w / patch), channels: channels,
                        height: size, width: w, patch: patch))
    }

    struct Im2col: ParallelRangeJob {
        let cols: UnsafeMutablePointer<Float>, images: UnsafePointer<Float>
        let count: Int, channels: Int, height: Int, width: Int, patch: Int

        func run(_ rows: Range<Int>) {
            let gw = width / patch, n = (height / patch) * gw, k = channels * patch * patch
            for row in rows {
                let b = row / n, gy = (row % n) / gw, gx = row % gw
                var dst = cols + row * k
                for c in 0..<channels {
                    let plane = images + (b * channels + c) * height * width
                    for ky in 0..<patch {
                        dst.update(from: plane + (gy * patch + ky) * width + gx * patch, count: patch)
                        dst += patch
                    }
                }
            }
        }
    }
}
