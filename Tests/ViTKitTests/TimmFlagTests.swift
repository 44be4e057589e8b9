import Foundation
import XCTest
@testable import ViTKit
@testable import ViTKitCLI

/// timm's spellings that `vitkit train` accepts so that timm command lines run with `python train.py` replaced.
final class TimmFlagTests: XCTestCase {
    func testGpIsGlobalPoolAndAmpIsAcceptedWithANote() throws {
        let cmd = try XCTUnwrap(try VitkitCommand.parseAsRoot(["train", "--gp", "token", "--class-token", "true", "--amp",
                                                                "--opt", "momentum", "--sched", "step", "--drop-path", "0.1"]) as? TrainCommand)
        XCTAssertEqual(try cmd.model.resolve(numClasses: 10).globalPool, .token)
        XCTAssertTrue(cmd.amp)
        XCTAssertEqual(cmd.options.opt, .momentum); XCTAssertEqual(cmd.options.sched, .step); XCTAssertEqual(cmd.options.dropPath, 0.1)
        let root = try temporaryDirectory()
        let p = Process(), out = Pipe()
        p.executableURL = try vitkitBinary()
        p.arguments = ["train", "--depth", "1", "--embed-dim", "48", "--synthetic-train", "64", "--synthetic-test", "16", "-b", "32",
                       "--epochs", "1", "--amp", "--output", root + "/amp"]
        p.standardOutput = out; p.standardError = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssert(text.contains("# --amp: ViTKit trains in float32 on the CPU; the flag changes nothing"), text)
    }
}

extension TimmFlagTests {
    /// The follow-up's command line: `--model-kwargs img_size=… weight_init=skip post_weight_init=impulse`.
    func testModelKwargsBecomeVitkitOptions() throws {
        let args = try ConfigFile.expand(["train", "--config", "vit_tiny_patch16_224", "--model-kwargs", "img_size=64",
                                          "weight_init=skip", "post_weight_init=impulse", "class_token=True", "-b", "8"])
        XCTAssertEqual(args, ["train", "--config", "vit_tiny_patch16_224", "--img-size", "64", "--class-token", "true",
                              "--init", "post-impulse", "-b", "8"])
        let cmd = try XCTUnwrap(try VitkitCommand.parseAsRoot(args) as? TrainCommand)
        XCTAssertEqual(try cmd.initArguments.mode(), .post(PostInit(.impulse)))
        XCTAssertEqual(try ConfigFile.expand(["train", "--model-kwargs", "weight_init=skip"]), ["train", "--init", "skip"])
        XCTAssertThrowsError(try ConfigFile.expand(["train", "--model-kwargs", "act_layer=relu"])) {
            XCTAssert("\($0)".contains("act_layer=…: not a model option vitkit has"), "\($0)")
        }
    }
}

extension TimmFlagTests {
    /// The two papers' README commands (osiriszjq/structured_init and osiriszjq/structured_initialization), with
    /// `python train.py` (or the launcher) replaced by `vitkit train --timm-defaults`: each parses, and means what
    /// it means in timm.
    func testThePapersCommandsParseAndMeanWhatTheyMeanInTimm() throws {
        func parse(_ line: String) throws -> TrainCommand {
            let args = try ConfigFile.expand(line.split(separator: " ").map(String.init))
            return try XCTUnwrap(try VitkitCommand.parseAsRoot(args) as? TrainCommand, line)
        }
        let first = try parse("train --timm-defaults /data --dataset torch/cifar10 --dataset-download --num-classes 10 --input-size 3 32 32 "
            + "--mean 0.4914 0.4822 0.4465 --std 0.2471 0.2435 0.2616 --model vit_tiny_patch2_32 --model-kwargs embed_dim=192 depth=12 "
            + "num_heads=3 weight_init=impulse3 class_token=False no_embed_class=Ture sin_pe=True --gp avg -b 512 -j 8 --opt adamw "
            + "--epochs 200 --sched cosine --lr 0.001 --min-lr 0.000001 --warmup-epochs 10 --opt-eps 1e-3 --clip-grad 3.0 --weight-decay 0.01 "
            + "--amp --scale 1.0 1.0 --ratio 1.0 1.0 --crop-pct 1.0 --reprob 0.0 --aa rand-m9-mstd0.5-inc1")
        var c = try first.model.resolve(numClasses: 10)
        XCTAssertEqual([c.imgSize, c.patchSize, c.embedDim, c.depth], [32, 2, 192, 12])
        XCTAssert(!c.classToken && c.noEmbedClass && c.posEmbed == .sincos && c.globalPool == .avg && c.useFcNorm)
        XCTAssertEqual(first.data.datasetName, "cifar10"); XCTAssertEqual(first.data.dataDir, "/data")
        var o = first.options
        XCTAssertEqual([o.lr, o.minLR, o.warmupLR, o.optEps, o.clipGrad, o.weightDecay], [1e-3, 1e-6, 1e-5, 1e-3, 3, 0.01])
        XCTAssertEqual([o.batchSize, o.epochs, o.warmupEpochs, Int(o.seed)], [512, 200, 10, 42])
        XCTAssertEqual(try first.initArguments.mode(), try InitMode(parsing: "impulse3"))

        let firstImageNet = try parse("train --timm-defaults /imagenet --train-split train --val-split val --model vit_tiny_patch16_224 "
            + "--model-kwargs weight_init=impulse3 class_token=False no_embed_class=Ture sin_pe=True --gp avg -b 512 -j 10 --opt adamw "
            + "--epochs 300 --sched cosine --amp --input-size 3 224 224 --lr-base 0.004 --lr-base-size 4096 --weight-decay 0.05 "
            + "--aa rand-m9-mstd0.5-inc1 --cutmix 0.8 --mixup 1.0 --reprob 0.25 --remode pixel --num-classes 1000 --warmup-epochs 50")
        o = firstImageNet.options
        XCTAssertEqual(o.peakLR(globalBatch: 4096), 0.004, accuracy: 1e-12, "sqrt scaling for AdamW, ratio 1")
        XCTAssertEqual([o.optEps, o.clipGrad, o.minLR, o.mixup.mixupAlpha, o.mixup.cutmixAlpha], [1e-8, 0, 0, 1.0, 0.8])
        XCTAssertEqual(o.scale.0, 0.08); XCTAssertEqual(firstImageNet.data.valSplit, "val")
        XCTAssertEqual(firstImageNet.data.cropPct, 0.9, "vit_* pretrained config's crop")
        c = try firstImageNet.model.resolve(numClasses: 1000)
        XCTAssert(!c.classToken && c.posEmbed == .sincos && c.globalPool == .avg, "the kwargs make the paper's model")

        let second = try parse("train --timm-defaults /data --dataset torch/CIFAR10 --dataset-download --input-size 3 224 224 "
            + "--mean 0.485 0.456 0.406 --std 0.229 0.224 0.225 --seed 0 --num-classes 10 --model vit_tiny_patch16_224 "
            + "--model-kwargs img_size=224 weight_init=skip post_weight_init=impulse --model-ema-decay 0.9999 -j 10 -b 64 --lr 2e-3 "
            + "--layer-decay 1.0 --warmup-lr 1e-6 --min-lr 1e-6 --weight-decay 0.05 --opt adamw --opt-eps 1e-8 --epochs 300 "
            + "--sched cosine --warmup-epochs 50 --amp --aa rand-m9-mstd0.5-inc1 --cutmix 1.0 --mixup 0.8 --reprob 0.25 --smoothing 0.1 "
            + "--drop 0.0 --color-jitter 0.4 --drop-path 0.1 --crop-pct 0.875 --pin-mem")
        c = try second.model.resolve(numClasses: 10)
        XCTAssert(c.classToken && !c.noEmbedClass && c.posEmbed == .learn && c.globalPool == .token && !c.useFcNorm, "timm's stock ViT")
        o = second.options
        XCTAssertEqual([o.lr, o.warmupLR, o.minLR, o.optEps, o.clipGrad, o.weightDecay, o.dropPath], [2e-3, 1e-6, 1e-6, 1e-8, 0, 0.05, 0.1])
        XCTAssertEqual(o.layerDecay, 1.0); XCTAssertFalse(o.modelEMA, "timm keeps no EMA without --model-ema")
        XCTAssertEqual([o.scale.0, o.scale.1, o.ratio.0], [0.08, 1, 0.75]); XCTAssertEqual(Int(o.seed), 0)
        XCTAssertEqual(second.data.datasetName, "cifar10"); XCTAssertEqual(second.data.cropPct, 0.875)
        XCTAssertEqual(try second.initArguments.mode(), .post(PostInit(.impulse)))
        XCTAssertTrue(second.pinMem)

        let secondImageNet = try parse("train --timm-defaults /imagenet --train-split train --val-split val --input-size 3 224 224 "
            + "--mean 0.485 0.456 0.406 --std 0.229 0.224 0.225 --num-classes 1000 --seed 42 --model vit_base_patch16_224 "
            + "--model-kwargs img_size=224 weight_init=skip post_weight_init=mimetic -j 10 -b 64 --lr-base-size 512 --lr-base 5e-4 "
            + "--lr-base-scale linear --warmup-lr 1e-6 --min-lr 1e-5 --weight-decay 0.05 --opt adamw --opt-eps 1e-8 --epochs 300 "
            + "--sched cosine --warmup-epochs 5 --cooldown-epochs 10 --amp --aa rand-m9-mstd0.5-inc1 --cutmix 1.0 --mixup 0.8 "
            + "--reprob 0.25 --smoothing 0.1 --drop 0.0 --color-jitter 0.3 --drop-path 0.1 --crop-pct 0.875 --aug-repeats 3.0 --pin-mem")
        o = secondImageNet.options
        XCTAssertEqual(o.peakLR(globalBatch: 16 * 64), 5e-4 * 2, accuracy: 1e-15, "16 processes × 64, linear")
        XCTAssertEqual(o.augRepeats, 3); XCTAssertEqual(o.cooldownEpochs, 10)
        XCTAssertEqual(try secondImageNet.model.resolve(numClasses: 1000).embedDim, 768)
        // without --timm-defaults, vitkit's defaults stand (the first paper's recipe)
        let plain = try parse("train --opt adamw")
        XCTAssertEqual([plain.options.optEps, plain.options.clipGrad], [1e-3, 3])
    }

    /// timm's spellings that are not vitkit options of the same name.
    func testTimmSpellings() throws {
        XCTAssertEqual(try ConfigFile.expand(["train", "/data", "--input-size", "3", "64", "64"]),
                       ["train", "--data-dir", "/data", "--img-size", "64"])
        XCTAssertEqual(try ConfigFile.expand(["train", "--input-size", "3", "64", "32"]), ["train", "--img-size", "64", "32"])
        XCTAssertEqual(try ConfigFile.expand(["train", "--model-kwargs", "no_embed_class=Ture", "sin_pe=False", "class_token=0"]),
                       ["train", "--no-embed-class", "true", "--pos-embed", "learn", "--class-token", "false"])
    }
}
