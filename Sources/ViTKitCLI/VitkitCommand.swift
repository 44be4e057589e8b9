import ArgumentParser
import Foundation
import ViTKit

/// The `vitkit` command: train, evaluate, benchmark and initialise Vision Transformers.
public struct VitkitCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "vitkit",
        abstract: "Train Vision Transformers from scratch on small image datasets.",
        subcommands: [TrainCommand.self, SweepCommand.self, EvalCommand.self, PredictCommand.self, ExportCommand.self, AttentionCommand.self,
                      BenchCommand.self, InitCommand.self],
        defaultSubcommand: TrainCommand.self)
    public init() {}

    /// Parses the command line, with `-c FILE` / `--config-file FILE` read as options first (see `ConfigFile`), and
    /// runs the command.
    public static func mainReadingConfigFile() {
        let arguments: [String]
        do { arguments = try ConfigFile.expand(Array(CommandLine.arguments.dropFirst())) } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            Foundation.exit(1)
        }
        main(arguments)
    }
}

/// Runs `body`, turning a ViTKitError, or a Foundation file error (`ViTKitError(_:action:)`), into its one-line
/// message on stderr and exit code 1 (no stack trace, no `NSCocoaErrorDomain` dump).
func runOrExit(rank: Int? = nil, _ body: () throws -> Void) throws {
    let who = rank.map { "rank \($0): " } ?? ""
    do { try body() } catch let e as ViTKitError {
        FileHandle.standardError.write(Data("error: \(who)\(e.description)\n".utf8))
        throw ExitCode.failure
    } catch let e as NSError where [NSCocoaErrorDomain, NSPOSIXErrorDomain].contains(e.domain) {
        FileHandle.standardError.write(Data("error: \(who)\(ViTKitError(e).description)\n".utf8))
        throw ExitCode.failure
    }
}
