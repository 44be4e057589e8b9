#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora, Fuzz/corpus/<target>/: small valid inputs of every form each parser reads,
and a few it must refuse with a clear error (named bad_*), from which libFuzzer's mutations start. Deterministic.
FuzzTests replays them: every seed parses, every bad_ one is refused.

    python3 scripts/make_fuzz_corpus.py      (needs numpy and scipy)
"""
import gzip
import io
import json
import os
import shutil
import struct
import tarfile
import zlib

import numpy as np
import scipy.io

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
corpus = os.path.join(root, "Fuzz", "corpus")
codecs = os.path.join(root, "Tests", "ViTKitTests", "Fixtures", "codecs")


def put(target, name, data):
    folder = os.path.join(corpus, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def safetensors(tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def npy(array, version=None):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, array)
    else:
        np.lib.format.write_array(buf, array, version=version)
    return buf.getvalue()


shutil.rmtree(corpus, ignore_errors=True)
a = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
put("safetensors", "f32", safetensors({"w": ("F32", [2, 3], a.tobytes()), "b": ("F32", [3], a[0].tobytes())},
                                      {"format": "pt"}))
put("safetensors", "f16_bf16_i64", safetensors({"h": ("F16", [2, 2], np.arange(4, dtype=np.float16).tobytes()),
                                                "g": ("BF16", [2], (np.arange(2, dtype=np.float32).view(np.uint32) >> 16).astype(np.uint16).tobytes()),
                                                "n": ("I64", [], struct.pack("<q", 12))}))
put("safetensors", "empty_tensor", safetensors({"e": ("F32", [0, 4], b"")}))
put("safetensors", "empty_header", safetensors({}))

# checkpoint headers as `vitkit train` writes them (the configs' JSON copied from real runs), with one small tensor
vit = ('{"classToken":false,"depth":1,"distilled":false,"embedDim":32,"globalPool":"avg","imgSize":32,"inChans":3,'
       '"mlpRatio":4,"name":"small","noEmbedClass":true,"normEps":1e-06,"numClasses":10,"numHeads":2,"patchSize":4,'
       '"posEmbed":"sincos","qkvBias":true,"regTokens":0}')
convmixer = ('{"bnEps":1e-05,"bnMomentum":0.1,"choiceSeed":42,"depth":8,"dim":256,"imgSize":32,"inChans":3,"kernelSize":3,'
             '"name":"convmixer_256_8_3_train","numClasses":10,"patchSize":2,"spatialHeads":0,"spatialInit":"random",'
             '"trainableSpatial":true}')
pretrained = ('{"crop_pct":1,"input_size":[3,32,32],"interpolation":"bicubic","label_names":["0","1"],'
              '"mean":[0.5,0.5,0.5],"std":[0.25,0.25,0.25]}')
bias = ("F32", [2], np.zeros(2, np.float32).tobytes())
put("checkpoint", "vit", safetensors({"head.bias": bias}, {"format": "pt", "epoch": "2", "vitkit_config": vit, "pretrained_cfg": pretrained}))
put("checkpoint", "convmixer", safetensors({"head.bias": bias}, {"format": "pt", "vitkit_convmixer_config": convmixer}))
put("checkpoint", "timm_file", safetensors({"head.bias": bias}, {"format": "pt"}))
put("checkpoint", "bad_config", safetensors({"head.bias": bias}, {"vitkit_config": vit.replace('"numHeads":2', '"numHeads":3')}))

for name, arr in {"f4": a, "f8": a.astype(np.float64), "f2": a.astype(np.float16), "u1": np.arange(5, dtype=np.uint8),
                  "i1": np.arange(-2, 3, dtype=np.int8), "scalar": np.float32(3.5), "fortran": np.asfortranarray(a),
                  "empty": np.zeros((0, 3), np.float32), "three_axes": np.arange(8, dtype=np.float32).reshape(2, 2, 2)}.items():
    put("npy", name, npy(arr))
put("npy", "version2", npy(a, version=(2, 0)))
put("npy", "version3", npy(a, version=(3, 0)))

for name, compressed in {"stored": False, "deflated": True}.items():
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, w=a, b=np.arange(3, dtype=np.float32))
    put("npz", name, buf.getvalue())

for name, kwargs in {"v7_compressed": {"do_compression": True}, "v5_plain": {"do_compression": False}}.items():
    buf = io.BytesIO()
    scipy.io.savemat(buf, {"X": np.arange(24, dtype=np.uint8).reshape(2, 3, 4), "y": np.array([[1.0], [2.0]]),
                           "s": np.float32(1.5), "i": np.arange(3, dtype=np.int16), "c": np.array(["ab"]),
                           "cell": np.array([[1, 2]], dtype=object)}, format="5", **kwargs)
    put("mat", name, buf.getvalue())

def tar(fmt, files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for path, content in files:
            if content is None:
                info = tarfile.TarInfo(path); info.type = tarfile.DIRTYPE; info.mtime = 0
                t.addfile(info)
                continue
            info = tarfile.TarInfo(path); info.size = len(content); info.mtime = 0
            t.addfile(info, io.BytesIO(content))
    return buf.getvalue()

long_name = "cifar-10-batches-bin/" + "n" * 120 + ".bin"
archives = {
    "ustar": tar(tarfile.USTAR_FORMAT, [("cifar-10-batches-bin", None), ("cifar-10-batches-bin/batches.meta.txt", b"airplane\n"),
                                        ("cifar-10-batches-bin/data_batch_1.bin", bytes(range(40)))]),
    "gnu_longname": tar(tarfile.GNU_FORMAT, [(long_name, b"x" * 600)]),
    "pax": tar(tarfile.PAX_FORMAT, [("d/" + "p" * 110, b"pax"), ("d/e", b"")]),
}
for name, data in archives.items():
    put("tar", name, data)
    put("targz", name, gzip.compress(data, mtime=0))
put("targz", "zlib_stream", zlib.compress(archives["ustar"]))

for f in sorted(os.listdir(codecs)):
    data = open(os.path.join(codecs, f), "rb").read()
    put("jpeg" if f.endswith(".jpg") else "png", f, data)
    put("image", f, data)
for f in ["pillow_q90.jpg"]:
    path = os.path.join(root, "Tests", "ViTKitTests", "Fixtures", f)
    if os.path.exists(path) and os.path.getsize(path) < 8192:
        put("jpeg", f, open(path, "rb").read())
put("image", "bad_gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")
put("image", "bad_html", b"<!DOCTYPE html><html></html>")

put("yaml", "args", "model: small\nbatch_size: 128\nepochs: 3\nlr: 0.001\nweight_decay: 0.05\nsched: cosine\n"
                    "aa: rand-m9-mstd0.5-inc1\nmixup: 0.8\ncutmix: 1.0\nmodel_ema: true\nfreeze_spatial: false\n"
                    "img_size: [32, 32]\nnum_classes: 10\nsmoothing: null\n")
put("yaml", "flow", "{lr: 5e-4, warmup_epochs: 5, decay_milestones: [30, 60], opt: adamw, amp: false}\n")
put("yaml", "merge", "<<: {epochs: 2, lr: 0.1}\nepochs: 3\nscale:\n  - 0.5\n  - 1\n")
put("yaml", "bad_nested", "scale: {lo: 0.5}\n")
put("yaml", "bad_not_mapping", "- just\n- a list\n")

for i, s in enumerate(["rand-m9-mstd0.5-inc1", "rand-m9-n2-mstd0.5", "rand-n3-m12-mmax15-p0.8-mstd101", "rand-m0", "rand",
                       "rand-m30-inc0"]):
    put("randaugment", f"s{i}", s)
put("randaugment", "bad_negative_std", "rand-m9-mstd-1")
put("randaugment", "bad_autoaugment", "original")

for i, s in enumerate(["timm", "skip", "mimetic0.7_0.7", "mimetic1_0", "impulse3", "impulse5", "post-default",
                       "post-mimetic", "post-impulse", "post-impulse18_7_1", "post-default0.5_0.5_1e-3", ""]):
    put("initmode", f"s{i}", s)

for target in sorted(os.listdir(corpus)):
    files = os.listdir(os.path.join(corpus, target))
    print(f"{target}: {len(files)} seeds, {sum(os.path.getsize(os.path.join(corpus, target, f)) for f in files)} bytes")
