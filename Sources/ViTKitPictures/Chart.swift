import Foundation
import ViTKitCore
import ViTKitImaging
import ViTKitModels
import ViTKitNN

/// A plot that can be read on its own: a framed area with a grey line at each y tick, tick labels on both axes,
/// the axes' titles and a title above, all in `BitmapFont`. Callers draw their data into `image` through `x(_:)`
/// and `y(_:)`.
struct Chart {
    /// A tick: where it sits on the axis, and its label.
    typealias Tick = (value: Double, label: String)

    var image: RGBImage
    /// The plot area's top-left corner in `image`, and its size.
    let left: Int, top: Int, plotWidth: Int, plotHeight: Int
    let xRange: ClosedRange<Double>, yRange: ClosedRange<Double>

    static let text: (UInt8, UInt8, UInt8) = (40, 40, 40), frame: (UInt8, UInt8, UInt8) = (160, 160, 160)
    static let gridLine: (UInt8, UInt8, UInt8) = (225, 225, 225)

    init(title: String, xTitle: String, yTitle: String, plotWidth: Int, plotHeight: Int,
         x xRange: ClosedRange<Double>, xTicks: [Tick], y yRange: ClosedRange<Double>, yTicks: [Tick]) {
        let label = BitmapFont.glyphHeight
        let widest = yTicks.map { BitmapFont.width($0.label) }.max() ?? 0
        left = 3 + label + 5 + widest + 4
        top = title.isEmpty ? 6 : label + 8
        self.plotWidth = plotWidth; self.plotHeight = plotHeight
        self.xRange = xRange; self.yRange = yRange
        let bottom = 4 + label + 5 + label + 3
        let lastLabel = xTicks.last.map { BitmapFont.width($0.label) / 2 + 2 } ?? 0
        image = RGBImage(width: left + plotWidth + max(8, lastLabel), height: top + plotHeight + bottom)

        for t in yTicks {
            let py = y(t.value)
            if py > top && py < top + plotHeight - 1 { for px in left..<(left + plotWidth) { image[px, py] = Self.gridLine } }
            for px in (left - 3)..<left { image[px, py] = Self.frame }
            BitmapFont.draw(t.label, into: &image, x: left - 5 - BitmapFont.width(t.label), y: py - label / 2, colour: Self.text)
        }
        for t in xTicks {
            let px = x(t.value)
            for py in (top + plotHeight)..<(top + plotHeight + 3) { image[px, py] = Self.frame }
            BitmapFont.draw(t.label, into: &image, x: px - BitmapFont.width(t.label) / 2, y: top + plotHeight + 4, colour: Self.text)
        }
        image.strokeRect(x: left, y: top, width: plotWidth, height: plotHeight, color: Self.frame)
        BitmapFont.draw(xTitle, into: &image, x: left + (plotWidth - BitmapFont.width(xTitle)) / 2,
                        y: top + plotHeight + 4 + label + 5, colour: Self.text)
        BitmapFont.draw(yTitle, into: &image, x: 3, y: top + (plotHeight - BitmapFont.width(yTitle)) / 2, colour: Self.text,
                        vertical: true)
        BitmapFont.draw(title, into: &image, x: max(2, left + (plotWidth - BitmapFont.width(title)) / 2), y: 3, colour: Self.text)
    }

    /// The pixel column of `v` (the ends of `xRange` at the frame's left and right).
    func x(_ v: Double) -> Int {
        let span = xRange.upperBound - xRange.lowerBound
        let f = span > 0 ? (min(max(v, xRange.lowerBound), xRange.upperBound) - xRange.lowerBound) / span : 0.5
        return left + Int((f * Double(plotWidth - 1)).rounded())
    }

    /// The pixel row of `v` (`yRange`'s bottom at the frame's bottom).
    func y(_ v: Double) -> Int {
        let span = yRange.upperBound - yRange.lowerBound
        let f = span > 0 ? (min(max(v, yRange.lowerBound), yRange.upperBound) - yRange.lowerBound) / span : 0
        return top + plotHeight - 1 - Int((f * Double(plotHeight - 1)).rounded())
    }

    /// Sets one pixel, if it is inside the picture.
    mutating func plot(_ px: Int, _ py: Int, _ c: (UInt8, UInt8, UInt8)) {
        if px >= 0 && py >= 0 && px < image.width && py < image.height { image[px, py] = c }
    }

    /// Bresenham's line between two pixels.
    mutating func line(from a: (Int, Int), to b: (Int, Int), _ c: (UInt8, UInt8, UInt8)) {
        var (px, py) = a
        let dx = abs(b.0 - px), dy = -abs(b.1 - py), sx = px < b.0 ? 1 : -1, sy = py < b.1 ? 1 : -1
        var err = dx + dy
        while true {
            plot(px, py, c)
            if px == b.0 && py == b.1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; px += sx }
            if e2 <= dx { err += dx; py += sy }
        }
    }

    /// A small key, `entries` of (colour, name) in a row from (x, y) in `image`.
    mutating func legend(_ entries: [((UInt8, UInt8, UInt8), String)], x: Int, y: Int) {
        var px = x
        for (c, name) in entries {
            for dy in 0..<5 { for dx in 0..<5 { plot(px + dx, y + 1 + dy, c) } }
            BitmapFont.draw(name, into: &image, x: px + 8, y: y, colour: Self.text)
            px += 8 + BitmapFont.width(name) + 8
        }
    }

    /// Ticks from 0 (or `from`) up to `max` at a round step (1, 2 or 5 × 10ᵏ, at least `minStep`) giving at most
    /// `count` of them.
    static func ticks(from low: Double = 0, upTo max: Double, atMost count: Int, minStep: Double = 0) -> [Tick] {
        let span = Swift.max(max - low, 1e-9)
        var step = pow(10, floor(log10(span / Double(count))))
        for m in [1.0, 2, 5, 10] where span / (step * m) <= Double(count) { step *= m; break }
        step = Swift.max(step, minStep)
        var out: [Tick] = []
        var v = (low / step).rounded(.up) * step
        while v <= max + step * 1e-9 { out.append((v, label(v, step: step))); v += step }
        return out
    }

    /// A tick label: an integer when the value is one, else with the decimals the step needs.
    static func label(_ v: Double, step: Double) -> String {
        if v == v.rounded() && step >= 1 { return String(Int(v)) }
        let decimals = step >= 1 ? 0 : step >= 0.1 ? 1 : 2
        return String(format: "%.\(decimals)f", v)
    }
}
