import ArgumentParser

/// The `vitkit` command: train, evaluate and benchmark Vision Transformers.
public struct VitkitCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "vitkit",
        abstract: "Train Vision Transformers from scratch on small image datasets.",
        subcommands: [])
    public init() {}
}
