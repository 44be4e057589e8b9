/// The `curves.png` a training run keeps up to date: two panels over the epochs, losses on the left (train blue,
/// test orange; a grey line every 0.5) and test top-1 on the right (green; a grey line every 10%). The numbers
/// themselves are in summary.csv.
public enum CurvePlot {
    static let blue: (UInt8, UInt8, UInt8) = (31, 119, 180), orange: (UInt8, UInt8, UInt8) = (255, 127, 14)
    static let green: (UInt8, UInt8, UInt8) = (44, 160, 44), grey: (UInt8, UInt8, UInt8) = (225, 225, 225)

    public static func render(_ history: [EpochStats], panelWidth: Int = 320, height: Int = 200) -> RGBImage {
        let losses = history.flatMap { [$0.trainLoss] + ($0.testLoss.map { [$0] } ?? []) }
        let top = max(0.5, ((losses.max() ?? 1) * 2).rounded(.up) / 2)
        let loss = panel(series: [(history.map { $0.trainLoss }, blue), (history.map { $0.testLoss }, orange)],
                         epochs: history.count, maxValue: top, tick: 0.5, width: panelWidth, height: height)
        let acc = panel(series: [(history.map { $0.testTop1 }, green)], epochs: history.count, maxValue: 100, tick: 10,
                        width: panelWidth, height: height)
        return RGBImage.grid([[loss, acc]], gap: 8)
    }

    /// One framed panel: each series a polyline over epochs 1…`epochs` (nil values skipped), values from 0 to
    /// `maxValue` bottom to top.
    static func panel(series: [([Double?], (UInt8, UInt8, UInt8))], epochs: Int, maxValue: Double, tick: Double,
                      width: Int, height: Int) -> RGBImage {
        var img = RGBImage(width: width, height: height)
        func y(_ v: Double) -> Int { height - 1 - Int((min(max(v, 0), maxValue) / maxValue * Double(height - 1)).rounded()) }
        func x(_ i: Int) -> Int { epochs <= 1 ? width / 2 : Int((Double(i) / Double(epochs - 1) * Double(width - 1)).rounded()) }
        var v = tick
        while v < maxValue { for px in 0..<width { img[px, y(v)] = grey }; v += tick }
        img.strokeRect(x: 0, y: 0, width: width, height: height, color: (160, 160, 160))
        for (values, colour) in series {
            var last: (Int, Int)?
            for (i, value) in values.enumerated() {
                guard let value else { continue }
                let p = (x(i), y(value))
                if let l = last { line(&img, from: l, to: p, colour) }
                for dy in -1...1 { for dx in -1...1 { plot(&img, p.0 + dx, p.1 + dy, colour) } }
                last = p
            }
        }
        return img
    }

    static func plot(_ img: inout RGBImage, _ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
        if x >= 0 && y >= 0 && x < img.width && y < img.height { img[x, y] = c }
    }

    /// Bresenham's line.
    static func line(_ img: inout RGBImage, from a: (Int, Int), to b: (Int, Int), _ c: (UInt8, UInt8, UInt8)) {
        var (x, y) = a
        let dx = abs(b.0 - x), dy = -abs(b.1 - y), sx = x < b.0 ? 1 : -1, sy = y < b.1 ? 1 : -1
        var err = dx + dy
        while true {
            plot(&img, x, y, c)
            if x == b.0 && y == b.1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }
}
