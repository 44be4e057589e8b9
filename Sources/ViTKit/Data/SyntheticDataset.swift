/// A procedurally generated dataset that needs no download: each class is a small 4×4 binary motif, stamped in
/// random colours at random places over noise. Colour statistics are the same for every class, so a model has
/// to see local structure to tell them apart (the thing the paper's convolution-like init helps with).
public enum SyntheticDataset {
    /// Makes `count` images of `size`×`size` in `classes` classes, reproducibly from `seed`.
    public static func make(count: Int, classes: Int = 10, size: Int = 32, seed: UInt64, name: String = "synthetic")
        -> ImageDataset {
        // class motifs depend only on the class count, never on the seed, so train and test sets agree
        var motifRng = RNG(seed: 0xC1A55)
        var motifs: [[Bool]] = []
        while motifs.count < classes {
            let m = (0..<16).map { _ in motifRng.uniform() < 0.5 }
            let on = m.filter { $0 }.count
            if on >= 5 && on <= 11 && !motifs.contains(m) { motifs.append(m) }
        }
        var rng = RNG(seed: seed)
        let plane = size * size
        var images = [UInt8](repeating: 0, count: count * 3 * plane)
        var labels = [Int32](repeating: 0, count: count)
        for i in 0..<count {
            let y = rng.int(below: classes)
            labels[i] = Int32(y)
            let base = i * 3 * plane
            for j in 0..<(3 * plane) { images[base + j] = UInt8(64 + rng.int(below: 128)) }
            for _ in 0..<6 {
                let oy = rng.int(below: size - 3), ox = rng.int(below: size - 3)
                let colour = (0..<3).map { _ in UInt8(rng.int(below: 2) == 0 ? rng.int(below: 40) : 215 + rng.int(below: 40)) }
                for dy in 0..<4 { for dx in 0..<4 where motifs[y][dy * 4 + dx] {
                    for ch in 0..<3 { images[base + ch * plane + (oy + dy) * size + ox + dx] = colour[ch] }
                } }
            }
        }
        return ImageDataset(name: name, images: images, labels: labels, channels: 3, size: size, numClasses: classes,
                            mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25])
    }
}
