import Foundation
import XCTest
@testable import ViTKitCore
@testable import ViTKitIO
@testable import ViTKitNN

/// timm's `--opt` choices (adamw, adam, sgd = Nesterov, momentum, nesterov) against torch.optim through timm's
/// factory (`scripts/make_optimizer_fixtures.py`): three steps, weight decayed, bias not, within 1e-6 relative.
final class OptimizerChoiceTests: XCTestCase {
    func testThreeStepsOfEachOptimiserMatchTorch() throws {
        let url = Bundle.module.url(forResource: "torch_optimizers", withExtension: "safetensors", subdirectory: "Fixtures")!
        let t = try SafeTensors.read(path: url.path).tensors
        var table = ParameterTable()
        let wo = table.add("fc.weight", [4, 5]), bo = table.add("fc.bias", [4])
        for algorithm in Optimizer.Algorithm.allCases {
            let params = AlignedBuffer(count: table.count), grads = AlignedBuffer(count: table.count)
            (params.pointer + wo).update(from: t["w0"]!.values, count: 20); (params.pointer + bo).update(from: t["b0"]!.values, count: 4)
            let opt = Optimizer(table: table, algorithm: algorithm, beta1: 0.9, beta2: 0.99, eps: 1e-3, weightDecay: 0.05, momentum: 0.9)
            for s in 0..<3 {
                (grads.pointer + wo).update(from: t["gw\(s)"]!.values, count: 20); (grads.pointer + bo).update(from: t["gb\(s)"]!.values, count: 4)
                opt.update(Pools.one, params: params, grads: grads, lr: 0.1)
                assertClose(Array(params.array[wo..<(wo + 20)]), t["\(algorithm.rawValue).w\(s + 1)"]!.values, tol: 1e-6,
                            "\(algorithm) weight after step \(s + 1)")
                assertClose(Array(params.array[bo..<(bo + 4)]), t["\(algorithm.rawValue).b\(s + 1)"]!.values, tol: 1e-6,
                            "\(algorithm) bias after step \(s + 1)")
            }
            XCTAssertEqual(opt.stateBuffers.map(\.name), algorithm.isAdam ? ["exp_avg", "exp_avg_sq"] : ["momentum_buffer"])
        }
    }
}
