// ViTKit: the modules a user needs, in one import. Each concern is its own module (their imports form a graph
// without cycles, which the compiler enforces):
//
//   ViTKitCore      aligned buffers, the thread pool, BLAS/LAPACK, SIMD math, seeded RNG, parameter tables, errors
//   ViTKitNN        layers, losses and the optimiser as forward/backward kernels over buffers
//   ViTKitIO        safetensors, .npy/.npz, MAT, tar, zlib, MD5, durable writes (knows no model)
//   ViTKitImaging   JPEG/PNG decoding, Pillow's operations and resize, RGB pictures and PNG files
//   ViTKitData      datasets, augmentation, the loaders
//   ViTKitModels    ViT, ConvMixer, their inits, checkpoints and their mapping to models
//   ViTKitPictures  attention pictures and analysis, charts (curves.png, distance.png)
//   ViTKitTraining  schedules, evaluation, the training step and loop, the training state, data parallelism
//   ViTKitDistributed  the processes of a run (Open MPI, loaded at run time) and their collectives
@_exported import ViTKitCore
@_exported import ViTKitData
@_exported import ViTKitDistributed
@_exported import ViTKitIO
@_exported import ViTKitImaging
@_exported import ViTKitModels
@_exported import ViTKitNN
@_exported import ViTKitPictures
@_exported import ViTKitTraining
