import Foundation
import ViTKitCore
import ViTKitIO
import ViTKitImaging
import ViTKitModels
import ViTKitPictures

/// A grid of training runs (init modes × seeds × training-set sizes) with one recipe, kept in one folder so that
/// it can be run in parts: each run has its own folder `runs/<init>-seed<s>-n<size>/`, and a finished run leaves
/// its record (`run.json`) there, so a later `vitkit sweep` skips it; a run stopped part way resumes from its
/// `train_state.safetensors`. `writeResults` turns the records present into `results.csv`, `results.md` (mean ±
/// standard deviation over seeds) and `results.png` (accuracy against size, one line per init, error bars).
public struct Sweep: Sendable {
    /// One run of the grid.
    public struct Cell: Sendable, Equatable {
        /// The init mode, as `--init` spells it.
        public var initName: String
        /// The run's seed (its init, its subset of the data, its augmentation).
        public var seed: UInt64
        /// Training images per class.
        public var perClass: Int
        /// The run's folder name: `<init>-seed<s>-n<size>`.
        public var name: String { "\(initName)-seed\(seed)-n\(perClass)" }
    }

    /// What a finished run measured.
    public struct Record: Codable, Sendable, Equatable {
        /// The init mode.
        public var initName: String
        /// The seed.
        public var seed: UInt64
        /// Training images per class.
        public var perClass: Int
        /// Training images in all.
        public var trainImages: Int
        /// Test top-1 after the last epoch, in percent.
        public var finalTop1: Double
        /// Best test top-1 over the evaluated epochs.
        public var bestTop1: Double
        /// Epochs trained.
        public var epochs: Int
        /// Training and evaluation seconds over all epochs (all parts of a resumed run).
        public var seconds: Double
        /// The last epoch's training loss.
        public var finalTrainLoss: Double
    }

    /// Where a run of the grid stands.
    public enum Status: Sendable, Equatable {
        /// Not started.
        case fresh
        /// Stopped after this many epochs; its training state is there to resume from.
        case interrupted(epochs: Int)
        /// Done, with its record.
        case finished(Record)
    }

    /// The init modes, seeds and sizes of the grid.
    public let inits: [String], seeds: [UInt64], sizes: [Int]
    /// The sweep's folder.
    public let folder: String

    /// A grid over these values in `folder`.
    public init(inits: [String], seeds: [UInt64], sizes: [Int], folder: String) {
        self.inits = inits; self.seeds = seeds; self.sizes = sizes; self.folder = folder
    }

    /// Every run, seed by seed (so that a sweep stopped part way has whole replicates), then size, then init.
    public var cells: [Cell] {
        seeds.flatMap { s in sizes.flatMap { n in inits.map { Cell(initName: $0, seed: s, perClass: n) } } }
    }

    /// The folder of `cell`'s run.
    public func runFolder(_ cell: Cell) -> String {
        ((folder as NSString).appendingPathComponent("runs") as NSString).appendingPathComponent(cell.name)
    }

    static func recordPath(_ dir: String) -> String { (dir as NSString).appendingPathComponent("run.json") }

    /// Where `cell`'s run stands, from its folder. Throws for a record that cannot be read.
    public func status(_ cell: Cell) throws -> Status {
        let dir = runFolder(cell), fm = FileManager.default
        if let data = fm.contents(atPath: Self.recordPath(dir)) {
            do { return .finished(try JSONDecoder().decode(Record.self, from: data)) } catch {
                throw ViTKitError("sweep record \(Self.recordPath(dir)) is not a run record: \(error); remove it to run the cell again")
            }
        }
        let state = (dir as NSString).appendingPathComponent("train_state.safetensors")
        if fm.fileExists(atPath: state), let s = try? Self.trainingState(at: state) { return .interrupted(epochs: s.epoch) }
        return .fresh
    }

    static func trainingState(at path: String) throws -> TrainingState {
        guard let json = try SafeTensors.readMetadata(path: path)["train_state"] else {
            throw ViTKitError("\(path) has no training state")
        }
        return try JSONDecoder().decode(TrainingState.self, from: Data(json.utf8))
    }

    /// Makes `cell`'s record from its finished run's training state, and writes it (durably) as `run.json`.
    @discardableResult
    public func recordFinished(_ cell: Cell, trainImages: Int) throws -> Record {
        let dir = runFolder(cell)
        let state = try Self.trainingState(at: (dir as NSString).appendingPathComponent("train_state.safetensors"))
        guard let last = state.history.last else { throw ViTKitError("run \(dir) has no epoch in its training state") }
        let record = Record(initName: cell.initName, seed: cell.seed, perClass: cell.perClass, trainImages: trainImages,
                            finalTop1: last.testTop1 ?? .nan, bestTop1: state.bestTop1 ?? .nan, epochs: state.epoch,
                            seconds: state.history.reduce(0) { $0 + $1.seconds + ($1.evalSeconds ?? 0) },
                            finalTrainLoss: last.trainLoss)
        try DurableFile.write(Data(try Checkpoint.json(record).utf8), to: Self.recordPath(dir))
        return record
    }

    /// The records of the grid's finished runs, in grid order.
    public func records() throws -> [Record] {
        try cells.compactMap { if case .finished(let r) = try status($0) { return r } else { return nil } }
    }

    /// Mean and sample standard deviation (n − 1; 0 for one value).
    static func meanAndStd(_ v: [Double]) -> (Double, Double) {
        let m = v.reduce(0, +) / Double(max(v.count, 1))
        let s = v.count > 1 ? (v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count - 1)).squareRoot() : 0
        return (m, s)
    }

    /// Writes `results.csv` (a row per finished run), `results.md` (final top-1, mean ± std over seeds, per init
    /// and size) and `results.png` from the finished runs' records; returns the markdown table.
    @discardableResult
    public func writeResults() throws -> String {
        let all = try records()
        var csv = "init,seed,per_class,train_images,final_top1,best_top1,epochs,seconds,final_train_loss\n"
        for r in all {
            csv += "\(r.initName),\(r.seed),\(r.perClass),\(r.trainImages),\(String(format: "%.2f", r.finalTop1)),"
                + "\(String(format: "%.2f", r.bestTop1)),\(r.epochs),\(String(format: "%.1f", r.seconds)),"
                + "\(String(format: "%.4f", r.finalTrainLoss))\n"
        }
        try FileSystem.createFolder(folder)
        try DurableFile.write(Data(csv.utf8), to: (folder as NSString).appendingPathComponent("results.csv"))
        var md = "| init | " + sizes.map { "\($0) per class" }.joined(separator: " | ") + " |\n"
        md += "|---|" + sizes.map { _ in "---|" }.joined() + "\n"
        var series: [SweepPlot.Series] = []
        for i in inits {
            var row = "| `\(i)` |", points: [(size: Double, mean: Double, std: Double)] = []
            for n in sizes {
                let v = all.filter { $0.initName == i && $0.perClass == n }.map(\.finalTop1)
                if v.isEmpty { row += " – |"; continue }
                let (m, s) = Self.meanAndStd(v)
                row += String(format: " %.2f ± %.2f (%d) |", m, s, v.count)
                points.append((Double(n), m, s))
            }
            md += row + "\n"
            if !points.isEmpty { series.append(SweepPlot.Series(name: i, points: points)) }
        }
        md += "\nFinal test top-1 (%), mean ± sample standard deviation over seeds (number of seeds).\n"
        try DurableFile.write(Data(md.utf8), to: (folder as NSString).appendingPathComponent("results.md"))
        if !series.isEmpty { try SweepPlot.render(series).writePNG(to: (folder as NSString).appendingPathComponent("results.png")) }
        return md
    }
}
