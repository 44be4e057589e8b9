import Foundation
import XCTest
@testable import ViTKit
@testable import ViTKitCore
@testable import ViTKitIO
@testable import ViTKitModels
@testable import ViTKitNN
@testable import ViTKitTraining
@testable import ViTKitCLI

/// Distillation (DeiT) against timm and DeiT's loss (`scripts/make_distillation_fixtures.py`): timm's
/// `VisionTransformerDistilled` forward, both training modes and every gradient; ViTKit's distilled form of the
/// average-pooled model; DeiT's and vit-pytorch's losses; and the teacher in a training run.
final class DistillationTests: XCTestCase {
    static func deitConfig() -> ViTConfig {
        var c = ViTConfig(name: "deit", imgSize: 16, patchSize: 4, numClasses: 5, embedDim: 32, depth: 2, numHeads: 2)
        c.classToken = true; c.globalPool = .token; c.posEmbed = .learn; c.noEmbedClass = false; c.distilled = true
        return c
    }

    static func avgPoolConfig() -> ViTConfig {
        var c = ViTConfig(name: "avg", imgSize: 16, patchSize: 4, numClasses: 5, embedDim: 32, depth: 2, numHeads: 2)
        c.posEmbed = .learn; c.distilled = true
        return c
    }

    func values(_ p: UnsafePointer<Float>, _ n: Int) -> [Float] { Array(UnsafeBufferPointer(start: p, count: n)) }

    /// timm's layout: [cls, dist, patches], pos_embed over N + 2 rows, head_dist; in training without distilled
    /// training and at evaluation the heads' mean, with timm's loss, logits and every gradient.
    func testDeiTDistilledViTMatchesTimm() throws {
        let t = try fixtureTensors("distill_deit"), c = Self.deitConfig()
        XCTAssertEqual([c.numPrefixTokens, c.numTokens, c.posEmbedLen, c.distTokenIndex!], [2, 18, 18, 1])
        let m = try VisionTransformer(config: c, pool: Pools.two)
        try loadFixtureParameters(m, t)  // timm's state_dict, strict: same keys and shapes
        XCTAssertEqual(m.table["dist_token"]?.noWeightDecay, true)
        assertTrainingStepMatches(m, t, batch: 3)
        let eval = t["x"]!.values.withUnsafeBufferPointer { values(m.forward(images: $0.baseAddress!, batch: 3), 15) }
        assertClose(eval, t["eval_logits"]!.values, tol: 1e-5, "eval: the heads' mean")
    }

    /// Distilled training returns both heads; DeiT's soft loss (τ 2, α 0.3, base label smoothing 0.1) and every
    /// gradient equal timm's.
    func testDistilledTrainingWithDeiTsSoftLossMatchesTimm() throws {
        let t = try fixtureTensors("distill_deit")
        let m = try VisionTransformer(config: Self.deitConfig(), pool: Pools.two)
        try loadFixtureParameters(m, t)
        let labels = t["y"]!.values.map { Int32($0) }
        assertDistilledStepMatches(m, t, key: "split.", batch: 3, loss: DistillationLoss(kind: .soft, alpha: 0.3, tau: 2),
                                   labels: labels, smoothing: 0.1)
    }

    /// The average-pooled model's distillation token: a prefix left out of the average and of the position
    /// embedding, read by head_dist through fc_norm; DeiT's hard loss with soft (mixup) targets and every gradient.
    func testAveragePooledDistilledViTMatchesItsTorchDefinition() throws {
        let t = try fixtureTensors("distill_avgpool"), c = Self.avgPoolConfig()
        XCTAssertEqual([c.numPrefixTokens, c.posEmbedLen, c.distTokenIndex!], [1, 16, 0])
        XCTAssert(c.useFcNorm)
        let m = try VisionTransformer(config: c, pool: Pools.two)
        try loadFixtureParameters(m, t)
        assertDistilledStepMatches(m, t, key: "", batch: 4, loss: DistillationLoss(kind: .hard, alpha: 0.5),
                                   targets: t["targets"]!.values, smoothing: 0)
    }

    /// One distilled training step against the fixture's tensors under `key`: both heads' logits (`cls`, `dist`),
    /// the loss with the fixture's `teacher` logits and hard `labels` or soft `targets`, and every gradient.
    func assertDistilledStepMatches(_ m: VisionTransformer, _ t: [String: SafeTensors.Tensor], key: String, batch: Int,
                                    loss: DistillationLoss, labels: [Int32]? = nil, targets: [Float]? = nil,
                                    smoothing: Float, file: StaticString = #filePath, line: UInt = #line) {
        m.distilledTraining = true
        let n = batch * 5
        let value = t["x"]!.values.withUnsafeBufferPointer { x -> Float in
            let logits = m.trainingForward(images: x.baseAddress!, batch: batch)
            assertClose(values(logits, n), t[key + "cls"]!.values, tol: 1e-4, "head", file: file, line: line)
            assertClose(values(logits + n, n), t[key + "dist"]!.values, tol: 1e-4, "head_dist", file: file, line: line)
            let v = t[key + "teacher"]!.values.withUnsafeBufferPointer { teacher in
                (labels ?? []).withUnsafeBufferPointer { l in
                    (targets ?? []).withUnsafeBufferPointer { y in
                        loss.forwardBackward(student: logits, teacher: teacher.baseAddress!, labels: labels == nil ? nil : l.baseAddress,
                                             targets: targets == nil ? nil : y.baseAddress, smoothing: smoothing, batch: batch,
                                             classes: 5, dlogits: m.dLogits)
                    }
                }
            }
            m.backward(dlogits: m.dLogits, batch: batch)
            return v
        }
        XCTAssertEqual(value, t[key + "loss"]!.values[0], accuracy: 1e-5, file: file, line: line)
        for e in m.table.entries {
            assertClose(Array(m.gradient(e.name)!), t[key + "grad.\(e.name)"]!.values, tol: 2e-4, "grad \(e.name)",
                        file: file, line: line)
        }
    }

    /// DeiT's soft (KL sum × τ² / numel) and hard losses, and vit-pytorch's batchmean soft loss: values and both
    /// heads' gradients; and the soft loss's gradient by central differences.
    func testDistillationLossesMatchDeiTAndVitPytorch() throws {
        let t = try fixtureTensors("distill_loss")
        let b = 6, k = 7, labels = t["y"]!.values.map { Int32($0) }
        var student = t["cls"]!.values + t["dist"]!.values
        let teacher = t["teacher"]!.values
        func run(_ loss: DistillationLoss, smoothing: Float, _ s: [Float], _ d: inout [Float]) -> Float {
            s.withUnsafeBufferPointer { sp in teacher.withUnsafeBufferPointer { tp in labels.withUnsafeBufferPointer { lp in
                d.withUnsafeMutableBufferPointer {
                    loss.forwardBackward(student: sp.baseAddress!, teacher: tp.baseAddress!, labels: lp.baseAddress!, targets: nil,
                                         smoothing: smoothing, batch: b, classes: k, dlogits: $0.baseAddress!)
                }
            } } }
        }
        let cases: [(String, DistillationLoss, Float)] = [
            ("soft", DistillationLoss(kind: .soft, alpha: 0.4, tau: 3), 0.1),
            ("hard", DistillationLoss(kind: .hard, alpha: 0.4, tau: 3), 0.1),
            ("batchmean", DistillationLoss(kind: .soft, alpha: 0.4, tau: 3, reduction: .batchmean), 0),
        ]
        for (name, loss, smoothing) in cases {
            var d = [Float](repeating: 0, count: 2 * b * k)
            let v = run(loss, smoothing: smoothing, student, &d)
            XCTAssertEqual(v, t["\(name).loss"]!.values[0], accuracy: 1e-5, name)
            assertClose(Array(d[..<(b * k)]), t["\(name).dcls"]!.values, tol: 1e-5, "\(name) d head")
            assertClose(Array(d[(b * k)...]), t["\(name).ddist"]!.values, tol: 1e-5, "\(name) d head_dist")
        }
        // central differences of the soft loss in double-rounded float: a few logits of each head
        var d = [Float](repeating: 0, count: 2 * b * k), scratch = d
        _ = run(cases[0].1, smoothing: 0.1, student, &d)
        for i in [0, 5, 17, b * k + 3, b * k + 20, 2 * b * k - 1] {
            let h: Float = 1e-2, x = student[i]
            student[i] = x + h; let up = run(cases[0].1, smoothing: 0.1, student, &scratch)
            student[i] = x - h; let down = run(cases[0].1, smoothing: 0.1, student, &scratch)
            student[i] = x
            XCTAssertEqual((up - down) / (2 * h), d[i], accuracy: 2e-4, "d loss / d logit \(i)")
        }
        // kind none: the base loss alone, no gradient to head_dist
        var none = [Float](repeating: 1, count: 2 * b * k)
        let plain = run(DistillationLoss(kind: .none), smoothing: 0.1, student, &none)
        let base = student.withUnsafeBufferPointer { s in labels.withUnsafeBufferPointer {
            CrossEntropy.forwardBackward(logits: s.baseAddress!, labels: $0.baseAddress!, batch: b, classes: k, smoothing: 0.1, dlogits: nil)
        } }
        XCTAssertEqual(plain, base)
        XCTAssertEqual(Array(none[(b * k)...]), [Float](repeating: 0, count: b * k))
    }

    /// The plain ViT inside a distilled one (vit-pytorch's `to_vit()`): no dist_token, head_dist or the token's
    /// pos_embed row, and its logits are those of timm's plain VisionTransformer given the same weights.
    func testWithoutDistillationKeepsTheClassHead() throws {
        let t = try fixtureTensors("distill_deit")
        var c = Self.deitConfig(); c.name = "deit_tiny_distilled_patch16_224"
        let m = try VisionTransformer(config: c, pool: Pools.two)
        try loadFixtureParameters(m, t)
        let plain = try m.withoutDistillation()
        XCTAssertEqual(plain.config.name, "deit_tiny_patch16_224")
        XCTAssertFalse(plain.config.distilled)
        XCTAssertNil(plain.table["dist_token"]); XCTAssertNil(plain.table["head_dist.weight"])
        XCTAssertEqual(plain.table["pos_embed"]!.shape, [1, 17, 32])
        XCTAssertEqual(plain.parameterCount, m.parameterCount - 32 - 5 * 32 - 5 - 32)
        let logits = t["x"]!.values.withUnsafeBufferPointer { values(plain.forward(images: $0.baseAddress!, batch: 3), 15) }
        assertClose(logits, t["plain_logits"]!.values, tol: 1e-5, "timm's VisionTransformer with those weights")
    }

    func teacher(classes: Int = 4) throws -> ConvMixer {
        let cm = try ConvMixer(config: ConvMixerConfig(name: "convmixer", imgSize: 16, patchSize: 4, numClasses: classes, dim: 16,
                                                       depth: 1, kernelSize: 3), pool: Pools.two)
        var rng = RNG(seed: 9)
        try cm.initialize(.timm, rng: &rng)
        return cm
    }

    func student() throws -> VisionTransformer {
        var c = TrainingTests.tinyConfig(); c.distilled = true
        let m = try VisionTransformer(config: c, pool: Pools.two)
        var rng = RNG(seed: 3)
        try m.initialize(.timm, rng: &rng)
        return m
    }

    /// A distilled run: the teacher's weights and running statistics end as they began and it takes no gradient;
    /// the same seed gives the same numbers; stopped and resumed it ends bit for bit as the whole run.
    func testTrainingWithATeacherLeavesItUntouchedAndResumesExactly() throws {
        let root = try temporaryDirectory()
        let (train, test) = TrainingTests.data()
        let cm = try teacher()
        let weights = values(cm.params.pointer, cm.params.count), stats = values(cm.state.pointer, cm.state.count)
        func options(_ dir: String) -> TrainOptions {
            var o = TrainingTests.options(epochs: 2, output: dir)
            o.distillation = DistillationLoss(kind: .soft, alpha: 0.5, tau: 2)
            o.mixup = Mixup(mixupAlpha: 0.8, cutmixAlpha: 1, prob: 1, switchProb: 0.5)
            return o
        }
        func run(_ dir: String, stopAfter: Int? = nil, resume: Bool = false) throws -> Trainer {
            let t = Trainer(model: try student(), options: options(dir))
            t.log = { _ in }
            try t.distill(from: cm)
            if resume { try t.resume(from: dir + "/train_state.safetensors") }
            try t.fit(train: train, test: test, stopAfter: stopAfter)
            return t
        }
        let whole = try run(root + "/a")
        XCTAssertEqual(values(cm.params.pointer, cm.params.count), weights, "teacher weights")
        XCTAssertEqual(values(cm.state.pointer, cm.state.count), stats, "teacher BatchNorm running statistics")
        XCTAssert(values(cm.grads.pointer, cm.grads.count).allSatisfy { $0 == 0 }, "the teacher takes no gradient")
        XCTAssertFalse((whole.model as! VisionTransformer).distilledTraining, "distilled training is on only inside a step")
        let again = try run(root + "/c")
        XCTAssertEqual(again.stepLosses, whole.stepLosses, "same seed, same numbers")
        _ = try run(root + "/b", stopAfter: 1)
        let rest = try run(root + "/b", resume: true)
        XCTAssertEqual(values(rest.model.params.pointer, rest.model.params.count), values(whole.model.params.pointer, whole.model.params.count))
        XCTAssertEqual(rest.history.map(\.testTop1), whole.history.map(\.testTop1))
        // the checkpoint is a distilled ViT with timm's keys, and evaluates as one
        let saved = try Checkpoint.model(from: root + "/a/last.safetensors", pool: Pools.two) { _ in fatalError("recorded") }
        XCTAssertNotNil(saved.table["dist_token"]); XCTAssertNotNil(saved.table["head_dist.weight"])
        XCTAssertEqual((saved as? VisionTransformer)?.config.distilled, true)
        // a distilled loss with a different teacher gives other weights: the teacher is used
        let t2 = Trainer(model: try student(), options: options(root + "/d"))
        t2.log = { _ in }
        let other = try teacher(); other.params.pointer[0] += 1; other.params.pointer[100] -= 1
        try t2.distill(from: other)
        try t2.fit(train: train, test: test)
        XCTAssertNotEqual(t2.stepLosses, whole.stepLosses)
    }

    /// A model only ever evaluated (a teacher) keeps the inference buffers: five planes, not 4·depth + 1 and the
    /// gradients, with the same logits as the training form; trained afterwards, it gets the full buffers again.
    func testATeacherKeepsOnlyInferenceBuffers() throws {
        let config = ConvMixerConfig(name: "cm", imgSize: 16, patchSize: 2, numClasses: 4, dim: 8, depth: 3, kernelSize: 3)
        func model() throws -> ConvMixer {
            let m = try ConvMixer(config: config, pool: Pools.two)
            var rng = RNG(seed: 3); m.initialize(rng: &rng)
            for i in 0..<m.state.count where i % 3 == 0 { m.state.pointer[i] += 0.25 }  // running statistics not 0 / 1
            return m
        }
        var rng = RNG(seed: 4)
        let x = (0..<(5 * 3 * 16 * 16)).map { _ in rng.normal() }
        let evalOnly = try model(), trained = try model()
        trained.reserve(batch: 5)
        let plane = 5 * 8 * 8 * 8
        let a = x.withUnsafeBufferPointer { values(evalOnly.forward(images: $0.baseAddress!, batch: 5), 20) }
        let b = x.withUnsafeBufferPointer { values(trained.forward(images: $0.baseAddress!, batch: 5), 20) }
        XCTAssertEqual(a, b, "the inference buffers give the same logits")
        XCTAssertEqual(evalOnly.acts!.forTraining, false)
        XCTAssertEqual(trained.acts!.floatCount - evalOnly.acts!.floatCount, (13 - 5 + 4) * plane + 5 * 8,
                       "eight saved planes, four gradient planes and the pooled gradient fewer")
        let labels: [Int32] = [0, 1, 2, 3, 0]
        let la = x.withUnsafeBufferPointer { xs in labels.withUnsafeBufferPointer {
            evalOnly.lossAndGradients(images: xs.baseAddress!, labels: $0.baseAddress!, batch: 5, smoothing: 0) } }
        let lb = x.withUnsafeBufferPointer { xs in labels.withUnsafeBufferPointer {
            trained.lossAndGradients(images: xs.baseAddress!, labels: $0.baseAddress!, batch: 5, smoothing: 0) } }
        XCTAssertEqual(evalOnly.acts!.forTraining, true, "training needs the full buffers")
        XCTAssertEqual(la, lb)
        XCTAssertEqual(values(evalOnly.grads.pointer, evalOnly.grads.count), values(trained.grads.pointer, trained.grads.count))
    }

    /// What cannot distil is said before training: no teacher, another class count or picture size, a student without
    /// a distillation token; and on the command line an unreadable or non-model teacher file, naming it.
    func testBadTeachersAreClearErrors() throws {
        let (train, test) = TrainingTests.data()
        var o = TrainingTests.options(epochs: 1)
        o.distillation = DistillationLoss(kind: .hard)
        let t = Trainer(model: try student(), options: o)
        XCTAssertThrowsError(try t.fit(train: train, test: test)) { XCTAssert("\($0)".contains("needs a teacher"), "\($0)") }
        XCTAssertThrowsError(try t.distill(from: try teacher(classes: 5))) { XCTAssert("\($0)".contains("has 5 classes, the student 4"), "\($0)") }
        let plain = Trainer(model: try VisionTransformer(config: TrainingTests.tinyConfig(), pool: Pools.two), options: o)
        XCTAssertThrowsError(try plain.distill(from: try teacher())) { XCTAssert("\($0)".contains("distillation token"), "\($0)") }
        let big = try ConvMixer(config: ConvMixerConfig(name: "cm32", imgSize: 32, patchSize: 4, numClasses: 4, dim: 8, depth: 1, kernelSize: 3), pool: Pools.two)
        XCTAssertThrowsError(try t.distill(from: big)) { XCTAssert("\($0)".contains("takes 3×32×32 pictures, the student 3×16×16"), "\($0)") }

        let root = try temporaryDirectory()
        try Data("not a model".utf8).write(to: URL(fileURLWithPath: root + "/notes.safetensors"))
        let cmd = try XCTUnwrap(try VitkitCommand.parseAsRoot(["train", "--distill-teacher", "t.safetensors"]) as? TrainCommand)
        let config = ModelConfig.vit(try student().config)
        for file in [root + "/missing.safetensors", root + "/notes.safetensors"] {
            XCTAssertThrowsError(try TrainCommand.loadTeacher(file, model: cmd.teacherModel, student: config, pool: Pools.two)) {
                XCTAssert("\($0)".contains("--distill-teacher \(file): safetensors file \(file)"), "\($0)")
            }
        }
        // a timm state_dict records no architecture: --teacher-model names it
        try SafeTensors.write(path: root + "/timm.safetensors", tensors: Checkpoint.weights(try teacher()), metadata: [:])
        XCTAssertThrowsError(try TrainCommand.loadTeacher(root + "/timm.safetensors", model: nil, student: config, pool: Pools.two)) {
            XCTAssert("\($0)".contains("name its model with --teacher-model"), "\($0)")
        }
        XCTAssertEqual(cmd.distillKind, .soft, "a teacher distils soft unless told")
        guard case .vit(let c) = try cmd.model.architecture(numClasses: 4, distilled: true) else { return XCTFail("a ViT") }
        XCTAssert(c.distilled)
        XCTAssertThrowsError(try VitkitCommand.parseAsRoot(["train", "--distill-type", "soft"])) {
            XCTAssert(VitkitCommand.message(for: $0).contains("needs a teacher"), VitkitCommand.message(for: $0))
        }
        XCTAssertThrowsError(try VitkitCommand.parseAsRoot(["train", "--distill-teacher", "t.safetensors", "--distilled", "false"]))
        XCTAssertThrowsError(try VitkitCommand.parseAsRoot(["train", "--distill-teacher", "t.safetensors", "--distill-type", "warm"]))
    }

    /// A checkpoint written before the distillation token existed (no `distilled` key) still reads; deit names resolve.
    func testOldConfigsAndDeiTNames() throws {
        var json = try Checkpoint.json(TrainingTests.tinyConfig())
        json = json.replacingOccurrences(of: "\"distilled\":false,", with: "")
        XCTAssertFalse(json.contains("distilled"))
        let c = try JSONDecoder().decode(ViTConfig.self, from: Data(json.utf8))
        XCTAssertEqual(c, TrainingTests.tinyConfig())
        guard case .vit(let deit) = try ModelConfig.named("deit_tiny_distilled_patch16_224", numClasses: 1000) else { return XCTFail() }
        XCTAssertEqual([deit.numTokens, deit.posEmbedLen, deit.embedDim], [198, 198, 192])
        let m = try VisionTransformer(config: deit, pool: Pools.one)
        XCTAssertEqual(m.parameterCount, 5_910_800)  // timm's deit_tiny_distilled_patch16_224
        XCTAssertEqual(try VisionTransformer(config: try ViTConfig.named("deit_tiny_patch16_224"), pool: Pools.one).parameterCount, 5_717_416)
    }

    /// The Swift API with vit-pytorch's shape: `DistillWrapper(student:teacher:temperature:alpha:hard:)` gives
    /// vit-pytorch's loss (cross-entropy + KL batchmean × τ², computed here from both models' logits), its trainer
    /// runs the recipe, and `toViT()` drops the distillation token and head.
    func testDistillWrapperHasVitPytorchsShape() throws {
        let student = try ViT(imageSize: 16, patchSize: 4, numClasses: 4, dim: 32, depth: 1, heads: 2, mlpDim: 64, pool: .mean,
                              positionEmbedding: .sincos, distillationToken: true, threads: Pools.two)
        let cm = try teacher()
        let wrapper = try DistillWrapper(student: student, teacher: cm, temperature: 2, alpha: 0.25)
        let (train, test) = TrainingTests.data()
        let n = 8, per = 3 * 16 * 16
        let pixels = (0..<(n * per)).map { i in (Float(train.images[i]) / 255 - train.mean[i / 256 % 3]) / train.std[i / 256 % 3] }
        let images = try Tensor(shape: [n, 3, 16, 16], values: pixels)
        let labels = (0..<n).map { Int(train.labels[$0]) }
        let loss = try wrapper(images, labels: labels)
        // the same batch by hand, in double: both heads' logits of the student in distilled training, the teacher's
        student.model.distilledTraining = true
        let both = images.values.withUnsafeBufferPointer { values(student.model.trainingForward(images: $0.baseAddress!, batch: n), 2 * n * 4) }
        student.model.distilledTraining = false
        let t = images.values.withUnsafeBufferPointer { values(cm.forward(images: $0.baseAddress!, batch: n), n * 4) }
        func logSoftmax(_ x: ArraySlice<Float>, _ tau: Double) -> [Double] {
            let z = x.map { Double($0) / tau }, m = z.max()!, lse = m + log(z.map { exp($0 - m) }.reduce(0, +))
            return z.map { $0 - lse }
        }
        var ce = 0.0, kl = 0.0
        for b in 0..<n {
            ce -= logSoftmax(both[(b * 4)..<(b * 4 + 4)], 1)[labels[b]]
            let q = logSoftmax(both[(n * 4 + b * 4)..<(n * 4 + b * 4 + 4)], 2), p = logSoftmax(t[(b * 4)..<(b * 4 + 4)], 2)
            for j in 0..<4 { kl += exp(p[j]) * (p[j] - q[j]) }
        }
        XCTAssertEqual(Double(loss), 0.75 * ce / Double(n) + 0.25 * kl / Double(n) * 4, accuracy: 1e-5)
        XCTAssertNotEqual(student.model.gradient("dist_token")!.map { $0 }, [Float](repeating: 0, count: 32), "the token learns")
        XCTAssertThrowsError(try wrapper(images, labels: [0])) { XCTAssert("\($0)".contains("with 1 labels"), "\($0)") }
        var o = TrainingTests.options(epochs: 1)
        o.autoAugment = nil
        let trainer = try wrapper.trainer(options: o)
        trainer.log = { _ in }
        try trainer.fit(train: train, test: test)
        XCTAssertEqual(trainer.options.distillation, wrapper.loss)
        let plain = try student.toViT()
        XCTAssertEqual(plain.parameterCount, student.parameterCount - 32 - 4 * 32 - 4)
        XCTAssertThrowsError(try DistillWrapper(student: plain, teacher: cm)) { XCTAssert("\($0)".contains("distillation token"), "\($0)") }
    }

    /// The paper's inits take a student with a distillation token: impulse fits its kernels on the patch grid (the
    /// token joins the attention), and still refuses a class token.
    func testImpulseInitTakesTheDistillationToken() throws {
        let m = try student()
        var rng = RNG(seed: 4), o = InitOptions()
        o.impulseIterations = 20
        let r = try m.initialize(try InitMode(parsing: "impulse3"), options: o, rng: &rng)
        XCTAssertEqual(r.count, 1)
        XCTAssert(m.parameter("dist_token")!.contains { $0 != 0 })
        var c = m.config; c.classToken = true
        XCTAssertThrowsError(try VisionTransformer(config: c, pool: Pools.one).initialize(try InitMode(parsing: "impulse3"), options: o, rng: &rng))
        XCTAssertNoThrow(try m.initialize(try InitMode(parsing: "post-impulse"), options: o, rng: &rng))
        XCTAssertEqual(m.parameter("dist_token")!.map { $0 }, [Float](repeating: 0, count: 32), "the follow-up's tokens start at 0")
    }
}

/// A batch that cannot fit is refused before its buffers are allocated, with the estimate; the estimates equal
/// what the models allocate.
final class MemoryEstimateTests: XCTestCase {
    func testActivationEstimatesEqualTheAllocations() throws {
        for name in ["vit_tiny_patch2_32", "small", "deit_tiny_distilled_patch16_224"] {
            var c = try ViTConfig.named(name); c.imgSize = 32; c.patchSize = name.contains("deit") ? 8 : c.patchSize
            for pool in [Pools.one, Pools.two] {
                let m = try VisionTransformer(config: c, pool: pool)
                m.reserve(batch: 3)
                XCTAssertEqual(m.activationBytes(batch: 3), 4 * m.acts!.floatCount, name)
            }
        }
        let cm = try ConvMixer(config: ConvMixerConfig(name: "cm", imgSize: 16, patchSize: 2, numClasses: 4, dim: 8, depth: 3,
                                                       kernelSize: 3), pool: Pools.two)
        var rng = RNG(seed: 1); cm.initialize(rng: &rng)
        let x = [Float](repeating: 0.5, count: 2 * 3 * 16 * 16)
        _ = x.withUnsafeBufferPointer { cm.forward(images: $0.baseAddress!, batch: 2) }
        XCTAssertEqual(cm.activationBytes(batch: 2, inference: true), 4 * cm.acts!.floatCount)
        cm.reserve(batch: 2)
        XCTAssertEqual(cm.activationBytes(batch: 2), 4 * cm.acts!.floatCount)
    }

    func testABatchThatCannotFitIsRefusedBeforeAllocating() throws {
        let (train, test) = TrainingTests.data()
        let m = try VisionTransformer(config: TrainingTests.tinyConfig(), pool: Pools.two)
        let t = Trainer(model: m, options: TrainingTests.options(epochs: 1))
        t.log = { _ in }
        setenv("VITKIT_MEMORY_AVAILABLE", "\(m.activationBytes(batch: 2) + 1)", 1)
        defer { unsetenv("VITKIT_MEMORY_AVAILABLE") }
        XCTAssertThrowsError(try t.fit(train: train, test: test)) {
            let text = "\($0)"
            XCTAssert(text.contains("batch \(t.options.batchSize) of tiny needs about") && text.contains("MiB is available")
                      && text.contains("(2 fits)") && text.contains("--grad-accum-steps"), text)
        }
        XCTAssertNil(m.acts, "nothing allocated")
        unsetenv("VITKIT_MEMORY_AVAILABLE")
        try t.fit(train: train, test: test)
    }
}
