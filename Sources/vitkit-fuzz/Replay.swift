// A plain build has no libFuzzer: `vitkit-fuzz TARGET FILE_OR_FOLDER …` replays inputs through the target.
#if !VITKIT_LIBFUZZER
import Foundation
import ViTKitFuzz

@main
enum Replay {
    static func main() {
        var arguments = CommandLine.arguments
        let target: FuzzTarget
        switch FuzzTarget.chosen(from: &arguments) {
        case .success(let chosen): target = chosen
        case .failure(let error): FileHandle.standardError.write(Data("\(error)\n".utf8)); exit(2)
        }
        var files: [String] = []
        for path in arguments.dropFirst() {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                FileHandle.standardError.write(Data("vitkit-fuzz: \(path) does not exist\n".utf8)); exit(2)
            }
            if isFolder.boolValue {
                files += ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 }
            } else { files.append(path) }
        }
        var refused = 0
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            if case .refused(let why) = data.withUnsafeBytes({ target.run($0) }) {
                refused += 1
                print("\(file): refused: \(why)")
            }
        }
        print("vitkit-fuzz \(target.rawValue): replayed \(files.count) inputs, \(files.count - refused) parsed and \(refused) refused, "
            + "no crash (this build has no libFuzzer: replay only)")
    }
}
#endif
