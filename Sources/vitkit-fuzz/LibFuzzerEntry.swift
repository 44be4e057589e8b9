// With VITKIT_FUZZ=1 and --sanitize=fuzzer (scripts/fuzz.sh) libFuzzer owns main: it calls these two.
#if VITKIT_LIBFUZZER
import Foundation
import ViTKitFuzz

nonisolated(unsafe) private var target = FuzzTarget.safetensors

/// Takes the target's name out of the command line before libFuzzer reads its options and inputs from it.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>,
                             _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    var arguments = (0..<Int(argc.pointee)).map { String(cString: argv.pointee![$0]!) }
    let before = arguments.count
    switch FuzzTarget.chosen(from: &arguments) {
    case .success(let chosen): target = chosen
    case .failure(let error): FileHandle.standardError.write(Data("\(error)\n".utf8)); exit(2)
    }
    if arguments.count < before {  // drop argv[1], keeping libFuzzer's own array
        let v = argv.pointee!
        for i in 1..<Int(argc.pointee) { v[i] = v[i + 1] }
        argc.pointee -= 1
    }
    return 0
}

/// One input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    target.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
#endif
