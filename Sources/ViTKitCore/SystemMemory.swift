import Foundation

/// What the system can still give this process.
package enum SystemMemory {
    /// Bytes available for new allocations without swapping: Linux's MemAvailable (/proc/meminfo), else the
    /// physical memory; nil when neither can be read. VITKIT_MEMORY_AVAILABLE (bytes) stands for it in tests.
    package static func availableBytes() -> Int? {
        if let s = ProcessInfo.processInfo.environment["VITKIT_MEMORY_AVAILABLE"], let v = Int(s) { return v }
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) {
            for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
                let parts = line.split(separator: " ")
                if parts.count >= 2, let kib = Int(parts[1]) { return kib * 1024 }
            }
        }
        let physical = ProcessInfo.processInfo.physicalMemory
        return physical > 0 ? Int(physical) : nil
    }

    /// "1.25 GiB", "310 MiB".
    package static func text(_ bytes: Int) -> String {
        let g = Double(bytes) / 1_073_741_824
        return g >= 1 ? String(format: "%.2f GiB", g) : String(format: "%.0f MiB", Double(bytes) / 1_048_576)
    }
}
