// Load a checkpoint that timm wrote and predict classes for image files.
//
// In Python:  m = timm.models.vision_transformer.VisionTransformer(img_size=16, patch_size=4, embed_dim=32, depth=2,
//             num_heads=2); safetensors.torch.save_file(m.state_dict(), "vit.safetensors")
//   swift run -c release PredictWithTimm vit.safetensors cat.jpg dog.png
import Foundation
import ViTKit

let args = Array(CommandLine.arguments.dropFirst())
guard args.count >= 2 else {
    print("usage: PredictWithTimm CHECKPOINT IMAGE…")
    exit(2)
}
do {
    // the timm model the file was made with: timm's defaults (class token, token pooling, a learned position
    // embedding that covers the class token too)
    var config = ViTConfig(name: "timm_vit", imgSize: 16, patchSize: 4, embedDim: 32, depth: 2, numHeads: 2)
    config.classToken = true; config.globalPool = .token; config.posEmbed = .learn; config.noEmbedClass = false
    let vit = try ViT.load(args[0], config: config)
    // timm's eval transform for a model of this size, and the normalisation the model was trained with
    var pixels: [Float] = []
    for file in args.dropFirst() {
        let picture = try ImageFolder.decode(file).evalTransform(size: config.imgSize, cropPct: 0.9, filter: .bicubic)
        pixels += picture.normalized(mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
    }
    let logits = try vit(Tensor(shape: [args.count - 1, 3, config.imgSize, config.imgSize], values: pixels))
    let classes = logits.argmaxOfRows
    for (i, file) in args.dropFirst().enumerated() {
        print("\(file): class \(classes[i]), logit \(logits[row: i].max()!)")
    }
} catch {
    print("error: \(error)")
    exit(1)
}
