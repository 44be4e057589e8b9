/// Errors a user can cause: every message names the thing, the value and what was expected.
public struct ViTKitError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ message: String) { description = message }
}
