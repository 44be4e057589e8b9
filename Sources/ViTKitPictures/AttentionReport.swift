import Foundation
import ViTKitCore
import ViTKitIO
import ViTKitImaging
import ViTKitModels

/// What a trained ViT's heads do on one picture (`vitkit attention`): every layer's attention maps, each head's
/// mean attention distance (averaged over more pictures when given), and the rollout of the average query.
public struct AttentionReport {
    /// The model's architecture.
    public let config: ViTConfig
    /// The picture at the model's input size, what the pictures are drawn on.
    public let picture: RGBImage
    /// [layer][heads × T × T] for `picture`.
    public let maps: [[Float]]
    /// [layer][head] in input pixels, averaged over `images` pictures.
    public let distances: [[Float]]
    /// How many pictures the maps and distances are averaged over.
    public let images: Int
    /// The query patch the per-head pictures show (row-major over the grid).
    public let query: Int

    /// Runs `vit` on `input` (the normalised `picture`) and on `more` inputs, whose distances join the average.
    /// `query` defaults to the centre patch.
    public init(vit: VisionTransformer, picture: RGBImage, input: [Float], more: [[Float]] = [], query: Int? = nil) throws {
        let c = vit.config, grid = c.gridSize
        guard c.isSquare else { throw ViTKitError("attention pictures need a square patch grid; the model's is \(c.gridHeight)×\(c.gridWidth)") }
        let q = query ?? (grid / 2 * grid + grid / 2)
        guard (0..<(grid * grid)).contains(q) else { throw ViTKitError("query \(q) is not a patch of the \(grid)×\(grid) grid") }
        func distancesOf(_ layers: [[Float]]) -> [[Float]] {
            layers.map { AttentionAnalysis.meanDistance($0, heads: c.numHeads, tokens: c.numTokens, prefix: c.numPrefixTokens,
                                                        grid: grid, patch: c.patchSize) }
        }
        let maps = vit.attentionMaps(image: input)
        var distances = distancesOf(maps)
        for other in more {
            let d = distancesOf(vit.attentionMaps(image: other))
            for l in distances.indices { for h in distances[l].indices { distances[l][h] += d[l][h] } }
        }
        if !more.isEmpty { distances = distances.map { $0.map { $0 / Float(more.count + 1) } } }
        self.config = c; self.picture = picture; self.maps = maps; self.distances = distances
        self.images = more.count + 1; self.query = q
    }

    /// The files `vitkit attention` writes into `folder`, `scale` times the input size: attention-query<K>.png
    /// (a row per layer, a column per head), distance.png and distance.csv, rollout.png. Returns their paths.
    @discardableResult
    public func write(to folder: String, scale: Int? = nil) throws -> [String] {
        let c = config, grid = c.gridSize, prefix = c.numPrefixTokens, t = c.numTokens
        let s = scale ?? max(1, 128 / c.imgSize)
        try FileSystem.createFolder(folder)
        func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        let rows = maps.map { layer in
            (0..<c.numHeads).map { h in
                AttentionAnalysis.overlay(picture, values: Array(layer[(h * t * t + (prefix + query) * t + prefix)...].prefix(grid * grid)),
                                          grid: grid, scale: s, outline: query)
            }
        }
        let paths = [path("attention-query\(query).png"), path("distance.png"), path("distance.csv"), path("rollout.png")]
        try RGBImage.grid(rows, gap: 4).writePNG(to: paths[0])
        let farthest = Float(grid - 1) * Float(c.patchSize) * Float(2).squareRoot()
        try AttentionAnalysis.distancePlot(distances, maxDistance: farthest).writePNG(to: paths[1])
        var csv = "layer,head,mean_distance_px\n"
        for (l, d) in distances.enumerated() { for (h, v) in d.enumerated() { csv += "\(l),\(h),\(String(format: "%.3f", v))\n" } }
        try DurableFile.write(Data(csv.utf8), to: paths[2])
        let rollout = AttentionAnalysis.rolloutOfTheAverageQuery(maps, heads: c.numHeads, tokens: t)
        let big = picture.resized(width: picture.width * s, height: picture.height * s, filter: .bicubic)
        try RGBImage.grid([[big, AttentionAnalysis.overlay(picture, values: Array(rollout[prefix...]), grid: grid, scale: s)]], gap: 4)
            .writePNG(to: paths[3])
        return paths
    }
}
