import ViTKitCore
import ViTKitIO
import ViTKitImaging

/// CIFAR-100, binary version: `train.bin` (50 000 records) and `test.bin` (10 000), each record a coarse label
/// byte, a fine label byte and 3072 bytes (R, G, B planes of 32×32).
public enum CIFAR100 {
    /// The CIFAR mean/std of the authors' earlier code (osiriszjq/impulse_init; structured_init's README leaves them as placeholders) (the reference normalises CIFAR-100 as CIFAR-10).
    public static let mean = CIFAR10.mean
    /// Per-channel standard deviation (CIFAR-10's, as the reference code uses).
    public static let std = CIFAR10.std

    /// Loads a split with the 100 fine labels, or with `coarse: true` the 20 superclasses.
    public static func load(directory: String, train: Bool, coarse: Bool = false) throws -> ImageDataset {
        let classes = coarse ? coarseNames.count : fineNames.count
        let (images, labels) = try CIFARBinary.read(dataset: "CIFAR-100", directory: directory,
                                                   files: [train ? "train.bin" : "test.bin"],
                                                   records: train ? 50000 : 10000, labelBytes: 2,
                                                   labelIndex: coarse ? 0 : 1, numClasses: classes,
                                                   expected: "train.bin, test.bin")
        var d = ImageDataset(name: "cifar100-\(train ? "train" : "test")", images: images, labels: labels, channels: 3,
                             size: 32, numClasses: classes, mean: mean, std: std)
        d.classNames = coarse ? coarseNames : fineNames
        return d
    }

    /// The 100 fine class names, in label order.
    public static let fineNames = [
        "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle", "bowl", "boy",
        "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle", "chair", "chimpanzee", "clock",
        "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant", "flatfish",
        "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion",
        "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse", "mushroom", "oak_tree", "orange",
        "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree", "plain", "plate", "poppy", "porcupine",
        "possum", "rabbit", "raccoon", "ray", "road", "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk",
        "skyscraper", "snail", "snake", "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank",
        "telephone", "television", "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale",
        "willow_tree", "wolf", "woman", "worm",
    ]

    /// The 20 coarse class names (superclasses), in label order.
    public static let coarseNames = [
        "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables", "household_electrical_devices",
        "household_furniture", "insects", "large_carnivores", "large_man-made_outdoor_things",
        "large_natural_outdoor_scenes", "large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates",
        "people", "reptiles", "small_mammals", "trees", "vehicles_1", "vehicles_2",
    ]
}
