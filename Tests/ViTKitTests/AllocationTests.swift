import Foundation
import XCTest

/// No heap allocation inside a training step: run `vitkit bench` with a malloc counter preloaded, once with 1
/// timed step and once with 11; the 10 extra steps (forward, loss, backward, AdamW) must not allocate, nor must the
/// input pipeline (the prefetching loader with RandAugment) when the bench runs it; for a ViT and a ConvMixer.
final class AllocationTests: XCTestCase {
    func testTrainingStepsDoNotAllocate() throws {
        // AddressSanitizer's own malloc comes before a preloaded counter, which then sees nothing
        if dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__asan_init") != nil {
            throw XCTSkip("built with AddressSanitizer, whose malloc the preloaded counter cannot see")
        }
        let products = Bundle(for: Self.self).bundleURL
        guard let bin = [products, products.deletingLastPathComponent()].map({ $0.appendingPathComponent("vitkit") })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            return XCTFail("vitkit binary not found next to \(products.path)")
        }
        let source = Bundle.module.url(forResource: "malloc_counter", withExtension: "c", subdirectory: "Support")!
        let lib = FileManager.default.temporaryDirectory.appendingPathComponent("vitkit-mcount-\(getpid()).so")
        defer { try? FileManager.default.removeItem(at: lib) }
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        cc.arguments = ["cc", "-shared", "-fPIC", "-O2", "-o", lib.path, source.path]
        try cc.run(); cc.waitUntilExit()
        XCTAssertEqual(cc.terminationStatus, 0, "could not compile the malloc counter with cc")

        func mallocs(steps: Int, _ extra: [String] = [], model: [String] = ["--config", "small"]) throws -> Int {
            let p = Process(), err = Pipe()
            p.executableURL = bin
            p.arguments = ["bench"] + model + ["--depth", "2", "--batch", "16", "--warmup", "1",
                           "--steps", "\(steps)", "--threads", "2"] + extra
            p.environment = ["LD_PRELOAD": lib.path]
            p.standardOutput = Pipe(); p.standardError = err
            try p.run(); p.waitUntilExit()
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix("mallocs=") }),
                  let n = Int(line.dropFirst(8)) else { XCTFail("no malloc count in: \(text)"); return -1 }
            return n
        }
        let one = try mallocs(steps: 1), eleven = try mallocs(steps: 11)
        XCTAssertGreaterThan(one, 0, "the counter must see the set-up allocations")
        XCTAssertEqual(eleven - one, 0, "10 training steps made \(eleven - one) heap allocations")
        // a ConvMixer with softmax filters shared by the channels (every per-step path of the model)
        let convMixer = ["--model", "convmixer", "--embed-dim", "64", "--spatial-init", "softmax", "--spatial-heads", "8"]
        let c1 = try mallocs(steps: 1, model: convMixer), c11 = try mallocs(steps: 11, model: convMixer)
        XCTAssertEqual(c11 - c1, 0, "10 ConvMixer training steps made \(c11 - c1) heap allocations")
        // with the input pipeline: RandAugment, flips and normalisation, in the training thread and in the background
        for workers in ["0", "1"] {
            let extra = ["--augment", "rand-m9-mstd0.5-inc1", "--workers", workers]
            let a = try mallocs(steps: 1, extra), b = try mallocs(steps: 11, extra)
            XCTAssertEqual(b - a, 0, "10 steps with RandAugment (\(workers) loader threads) made \(b - a) heap allocations")
        }
    }
}
