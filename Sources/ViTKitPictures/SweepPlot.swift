import Foundation
import ViTKitImaging

/// `vitkit sweep`'s picture: test top-1 against training-set size, one line per init with an error bar of
/// ± one standard deviation over seeds at each size (sizes on a log axis when they span more than a factor 4).
public enum SweepPlot {
    /// One init's points: (training images per class, mean top-1, standard deviation) by size.
    public struct Series: Sendable {
        /// The init's name (the legend).
        public var name: String
        /// (size, mean, standard deviation), in any order.
        public var points: [(size: Double, mean: Double, std: Double)]
        /// A series with these points.
        public init(name: String, points: [(size: Double, mean: Double, std: Double)]) { self.name = name; self.points = points }
    }

    static let colours: [(UInt8, UInt8, UInt8)] = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40),
                                                    (148, 103, 189), (140, 86, 75), (227, 119, 194), (127, 127, 127)]

    /// The chart, `width` × `height` pixels of plot area.
    public static func render(_ series: [Series], xTitle: String = "training images per class", width: Int = 420,
                              height: Int = 260) -> RGBImage {
        let sizes = Set(series.flatMap { $0.points.map(\.size) }).sorted()
        let lo = sizes.first ?? 1, hi = max(sizes.last ?? 1, lo)
        let logScale = lo > 0 && hi / lo > 4
        func axis(_ v: Double) -> Double { logScale ? Foundation.log10(v) : v }
        let pad = logScale ? 0.08 * (axis(hi) - axis(lo) + 0.1) : 0.08 * max(hi - lo, 1)
        let values = series.flatMap { $0.points.flatMap { [$0.mean - $0.std, $0.mean + $0.std] } }
        let top = min(100, ((values.max() ?? 100) / 10).rounded(.up) * 10 + 5)
        let bottom = max(0, ((values.min() ?? 0) / 10).rounded(.down) * 10 - 5)
        let ticks = sizes.map { (value: axis($0), label: $0 == $0.rounded() ? String(Int($0)) : String(format: "%.2g", $0)) }
        let yStep = (top - bottom) > 40 ? 10.0 : 5.0
        let yTicks = stride(from: (bottom / yStep).rounded(.up) * yStep, through: top, by: yStep).map { (value: $0, label: String(Int($0))) }
        var chart = Chart(title: "test top-1 (mean +/- std over seeds)", xTitle: xTitle + (logScale ? " (log scale)" : ""),
                          yTitle: "accuracy (%)", plotWidth: width, plotHeight: height,
                          x: (axis(lo) - pad)...(axis(hi) + pad), xTicks: ticks, y: bottom...top, yTicks: yTicks)
        for (i, s) in series.enumerated() {
            let colour = colours[i % colours.count]
            // each line a few pixels aside, so that error bars at the same size do not hide each other
            let shift = (i - series.count / 2) * 3
            var last: (Int, Int)?
            for p in s.points.sorted(by: { $0.size < $1.size }) {
                let px = chart.x(axis(p.size)) + shift, py = chart.y(p.mean)
                if let l = last { chart.line(from: l, to: (px, py), colour) }
                let y0 = chart.y(p.mean - p.std), y1 = chart.y(p.mean + p.std)
                chart.line(from: (px, y0), to: (px, y1), colour)
                chart.line(from: (px - 2, y0), to: (px + 2, y0), colour); chart.line(from: (px - 2, y1), to: (px + 2, y1), colour)
                for dy in -1...1 { for dx in -1...1 { chart.plot(px + dx, py + dy, colour) } }
                last = (px, py)
            }
        }
        chart.legend(series.enumerated().map { (colours[$0.offset % colours.count], $0.element.name) },
                     x: chart.left + 6, y: chart.top + 4)
        return chart.image
    }
}
