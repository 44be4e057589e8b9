import ArgumentParser
import Foundation
import ViTKit

/// `vitkit sweep`: a grid of `vitkit train` runs (inits × seeds × training-set sizes) with one recipe, resumable.
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Train a grid of runs (init modes × seeds × images per class) with one recipe, and tabulate them.",
        discussion: """
        The recipe is `vitkit train`'s options, after `--` and/or from a YAML file (--recipe, as train's -c); the
        sweep sets --init, --seed, --per-class and --output of each run. Each run lives in OUTPUT/runs/<init>-seed<s>-n<size>/
        with its summary.csv and checkpoints, and a finished run writes its record (run.json) there: started again,
        the sweep skips finished runs and resumes a stopped one from its train_state.safetensors, so it can be run
        in parts. After each run it rewrites OUTPUT/results.csv (one row per run), results.md (final top-1, mean ±
        std over seeds) and results.png (top-1 against images per class, one line per init, error bars).

        Example: vitkit sweep --inits timm,impulse3,post-impulse --seeds 0,1,2 --per-class 100,500 --output runs/sweep \\
                   -- --dataset cifar10 --data-dir ~/data/cifar-10-batches-bin --epochs 60 -b 128
        """)

    @Option(help: "Init modes, comma-separated (as --init spells them).") var inits = "timm,impulse3"
    @Option(help: "Seeds, comma-separated.") var seeds = "0,1,2"
    @Option(name: .customLong("per-class"), help: "Training images per class, comma-separated (0: the whole training set).")
    var perClass = "100"
    @Option(help: "The sweep's folder.") var output = "runs/sweep"
    @Option(help: ArgumentHelp("A YAML file of train options (as `vitkit train -c`), before those after --.", valueName: "file"))
    var recipe: String?
    @Argument(parsing: .postTerminator, help: "vitkit train's options for every run, after --.") var trainOptions: [String] = []

    func grid() throws -> Sweep {
        func list<T>(_ text: String, _ name: String, _ parse: (String) -> T?) throws -> [T] {
            try text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.map { part in
                guard let v = parse(part) else { throw ValidationError("--\(name): '\(part)' is not valid in '\(text)'") }
                return v
            }
        }
        let modes = try list(inits, "inits") { try? InitMode(parsing: $0) }.map(\.description)
        let s = try list(seeds, "seeds") { UInt64($0) }
        let n = try list(perClass, "per-class") { Int($0).flatMap { $0 >= 0 ? $0 : nil } }
        if modes.isEmpty || s.isEmpty || n.isEmpty { throw ValidationError("--inits, --seeds and --per-class each need at least one value") }
        for set in ["--init", "--seed", "--per-class", "--output", "--resume"] where trainOptions.contains(set) {
            throw ValidationError("\(set) is set by the sweep for each run; leave it out of the train options")
        }
        return Sweep(inits: modes, seeds: s, sizes: n, folder: output)
    }

    func validate() throws { _ = try grid() }

    func run() throws {
        try runOrExit {
            let sweep = try grid()
            let cells = sweep.cells
            try FileSystem.createFolder(output)
            for (i, cell) in cells.enumerated() {
                let dir = sweep.runFolder(cell), position = "[\(i + 1)/\(cells.count)]"
                let what = "init=\(cell.initName) seed=\(cell.seed) per_class=\(cell.perClass)"
                var args = ["train"] + (recipe.map { ["-c", $0] } ?? []) + trainOptions
                    + ["--init", cell.initName, "--seed", "\(cell.seed)", "--per-class", "\(cell.perClass)", "--output", dir]
                switch try sweep.status(cell) {
                case .finished(let r):
                    print("# sweep \(position) \(what): finished before (top-1 \(String(format: "%.2f", r.finalTop1))), skipped")
                    continue
                case .interrupted(let epochs):
                    print("# sweep \(position) \(what): resuming after epoch \(epochs)")
                    args += ["--resume", dir]
                case .fresh:
                    print("# sweep \(position) \(what): starting")
                }
                fflush(stdout)
                guard let train = try VitkitCommand.parseAsRoot(try ConfigFile.expand(args)) as? TrainCommand else {
                    throw ViTKitError("sweep: the train options do not make a train command")
                }
                let images = try train.train(world: .single)
                let r = try sweep.recordFinished(cell, trainImages: images)
                print("# sweep \(position) \(what): top-1 \(String(format: "%.2f", r.finalTop1)) after \(r.epochs) epochs, "
                    + String(format: "%.0f s", r.seconds))
                try sweep.writeResults()
            }
            print(try sweep.writeResults(), terminator: "")
        }
    }
}
