import ViTKitCore
import ViTKitImaging
import ViTKitModels
import ViTKitNN

/// The `curves.png` a training run keeps up to date: two panels over the epochs, each with titled axes and tick
/// labels: losses on the left (train blue, test orange) and test top-1 on the right (green, 0-100%). The numbers
/// themselves are in summary.csv.
public enum CurvePlot {
    /// One epoch's numbers, as the plot needs them.
    public struct Point: Sendable, Equatable {
        /// The epoch (1-based), its training loss, and its evaluation when there was one.
        public var epoch: Int, trainLoss: Double, testLoss: Double?, testTop1: Double?
        /// A point with these numbers.
        public init(epoch: Int, trainLoss: Double, testLoss: Double? = nil, testTop1: Double? = nil) {
            self.epoch = epoch; self.trainLoss = trainLoss; self.testLoss = testLoss; self.testTop1 = testTop1
        }
    }

    static let blue: (UInt8, UInt8, UInt8) = (31, 119, 180), orange: (UInt8, UInt8, UInt8) = (255, 127, 14)
    static let green: (UInt8, UInt8, UInt8) = (44, 160, 44)

    /// Both panels side by side; `panelWidth` × `height` is each plot area's size.
    public static func render(_ history: [Point], panelWidth: Int = 320, height: Int = 200) -> RGBImage {
        RGBImage.grid([panels(history, panelWidth: panelWidth, height: height).map(\.image)], gap: 8)
    }

    /// The loss panel and the accuracy panel.
    static func panels(_ history: [Point], panelWidth: Int, height: Int) -> [Chart] {
        let losses = history.flatMap { [$0.trainLoss] + ($0.testLoss.map { [$0] } ?? []) }.filter(\.isFinite)
        let top = max(0.5, ((losses.max() ?? 1) * 2).rounded(.up) / 2)
        let last = Double(max(history.last?.epoch ?? 1, 1)), first = Double(history.first?.epoch ?? 1)
        let epochs = first...max(last, first), epochTicks = Chart.ticks(from: first, upTo: last, atMost: 8, minStep: 1)
        var loss = Chart(title: "loss", xTitle: "epoch", yTitle: "cross-entropy", plotWidth: panelWidth, plotHeight: height,
                         x: epochs, xTicks: epochTicks, y: 0...top, yTicks: Chart.ticks(upTo: top, atMost: 6))
        draw(&loss, history.map { ($0.epoch, $0.trainLoss) }, blue)
        draw(&loss, history.compactMap { s in s.testLoss.map { (s.epoch, $0) } }, orange)
        loss.legend([(blue, "train"), (orange, "test")], x: loss.left + loss.plotWidth - 86, y: loss.top + 4)
        var acc = Chart(title: "test top-1", xTitle: "epoch", yTitle: "accuracy (%)", plotWidth: panelWidth, plotHeight: height,
                        x: epochs, xTicks: epochTicks, y: 0...100, yTicks: Chart.ticks(upTo: 100, atMost: 5))
        draw(&acc, history.compactMap { s in s.testTop1.map { (s.epoch, $0) } }, green)
        return [loss, acc]
    }

    /// One series as a polyline with a 3×3 dot at each (epoch, value); a value that is not finite (a NaN loss) is
    /// left out and breaks the line.
    static func draw(_ chart: inout Chart, _ points: [(Int, Double)], _ colour: (UInt8, UInt8, UInt8)) {
        var last: (Int, Int)?
        for (epoch, value) in points {
            guard value.isFinite else { last = nil; continue }
            let p = (chart.x(Double(epoch)), chart.y(value))
            if let l = last { chart.line(from: l, to: p, colour) }
            for dy in -1...1 { for dx in -1...1 { chart.plot(p.0 + dx, p.1 + dy, colour) } }
            last = p
        }
    }
}
