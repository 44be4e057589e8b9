import Foundation
import ViTKitCore
import ViTKitIO
import ViTKitImaging

/// SVHN, cropped digits: `train_32x32.mat` (73 257 images) and `test_32x32.mat` (26 032), MATLAB v5 files with
/// X (uint8, 32×32×3×N, column-major) and y (N labels 1…10, where 10 is the digit 0).
public enum SVHN {
    /// Per-channel mean of the training images.
    public static let mean: [Float] = [0.4376821, 0.4437697, 0.47280442]
    /// Per-channel standard deviation of the training images.
    public static let std: [Float] = [0.19803012, 0.20101562, 0.19703614]
    /// The digit names "0"…"9", in label order (the file's label 10 is digit 0).
    public static let classNames = (0...9).map { "\($0)" }

    /// Loads the train or test split from `directory`.
    public static func load(directory: String, train: Bool) throws -> ImageDataset {
        let path = (directory as NSString).appendingPathComponent(train ? "train_32x32.mat" : "test_32x32.mat")
        guard FileManager.default.fileExists(atPath: path) else {
            throw ViTKitError("SVHN file \(path) does not exist: expected train_32x32.mat and test_32x32.mat in \(directory)")
        }
        let mat = try MATFile(path: path)
        func variable(_ name: String) throws -> MATFile.Array {
            guard let a = mat.arrays[name] else {
                throw ViTKitError("SVHN file \(path) has no variable '\(name)' (it has: "
                    + "\(mat.arrays.keys.sorted().joined(separator: ", "))): expected X (32×32×3×N uint8) and y (N labels)")
            }
            return a
        }
        let x = try variable("X"), y = try variable("y")
        guard x.dims.count == 4, x.dims[0] == 32, x.dims[1] == 32, x.dims[2] == 3, x.dataType == 2 else {
            throw ViTKitError("SVHN file \(path): X has shape \(x.dims.map(String.init).joined(separator: "×")) "
                + "(storage type \(x.dataType)): expected 32×32×3×N uint8")
        }
        let n = x.dims[3]
        guard y.count == n else {
            throw ViTKitError("SVHN file \(path): y has \(y.count) labels for \(n) images in X")
        }
        let labels = try y.doubles().enumerated().map { (i, v) -> Int32 in
            guard v >= 1 && v <= 10 && v == v.rounded() else {
                throw ViTKitError("SVHN file \(path): label \(i) is \(v), expected 1…10 (10 is the digit 0)")
            }
            return Int32(v) % 10
        }
        // column-major (row, col, channel, image) to our planes [image][channel][row][col]
        var images = [UInt8](repeating: 0, count: n * 3072)
        x.raw.withUnsafeBufferPointer { src in
            images.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n {
                    for ch in 0..<3 {
                        let s = src.baseAddress! + i * 3072 + ch * 1024, d = dst.baseAddress! + i * 3072 + ch * 1024
                        for col in 0..<32 { for row in 0..<32 { d[row * 32 + col] = s[col * 32 + row] } }
                    }
                }
            }
        }
        var d = ImageDataset(name: "svhn-\(train ? "train" : "test")", images: images, labels: labels, channels: 3,
                             size: 32, numClasses: 10, mean: mean, std: std)
        d.classNames = classNames
        return d
    }
}
