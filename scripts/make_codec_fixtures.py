#!/usr/bin/env python3
"""Writes Tests/ViTKitTests/Fixtures/codecs/: small JPEG and PNG files of the kinds that image folders hold and
that a plain decoder gets wrong (CMYK and YCCK JPEGs; 16-bit, low-bit, palette, alpha PNGs; gAMA, sRGB and iCCP
chunks), and pillow_codecs.safetensors with what Pillow makes of each: Image.open(f).convert("RGB") as an
H x W x 3 tensor (float32 holding 0..255), which is what timm's ImageFolder feeds its transforms.

PNGs are written here byte by byte, so that each has exactly the chunks named (Pillow cannot write 16-bit RGB);
the YCCK JPEG comes from libjpeg-turbo's TurboJPEG (a CMYK source is stored as YCCK), through ctypes.

    python scripts/make_codec_fixtures.py      (needs numpy, Pillow, torch, safetensors and libturbojpeg0)
"""
import ctypes
import io
import os
import struct
import zlib

import numpy as np
import torch
from PIL import Image, ImageCms
from safetensors.torch import save_file

here = os.path.join(os.path.dirname(__file__), "..", "Tests", "ViTKitTests", "Fixtures", "codecs")
os.makedirs(here, exist_ok=True)
rng = np.random.default_rng(12)
H, W = 6, 7


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(rows, width, height, depth, color, extra=b""):
    """A PNG of raw scanlines `rows` (bytes each, filter 0 added here), with `extra` chunks before IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)
    raw = b"".join(b"\x00" + r for r in rows)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def rows16(a):
    """Big-endian 16-bit scanlines of an H x W (x C) uint16 array."""
    return [r.astype(">u2").tobytes() for r in a]


files = {}
# 16-bit grey: values below and above 255 (Pillow's I;16 to RGB clips at 255)
g16 = rng.integers(0, 65536, size=(H, W)).astype(np.uint16)
g16[0, :4] = [0, 17, 255, 256]
files["grey16.png"] = png(rows16(g16), W, H, 16, 0)
# 16-bit RGB and RGBA, 16-bit grey with alpha
files["rgb16.png"] = png(rows16(rng.integers(0, 65536, size=(H, W, 3)).astype(np.uint16).reshape(H, -1)), W, H, 16, 2)
files["rgba16.png"] = png(rows16(rng.integers(0, 65536, size=(H, W, 4)).astype(np.uint16).reshape(H, -1)), W, H, 16, 6)
files["greyalpha16.png"] = png(rows16(rng.integers(0, 65536, size=(H, W, 2)).astype(np.uint16).reshape(H, -1)), W, H, 16, 4)
rgb8 = rng.integers(0, 256, size=(H, W, 3)).astype(np.uint8)
rgb8_rows = [r.tobytes() for r in rgb8.reshape(H, -1)]
# colour-space chunks, which Pillow does not apply
files["gama.png"] = png(rgb8_rows, W, H, 8, 2, chunk(b"gAMA", struct.pack(">I", 100000)))  # gamma 1.0
files["gama045.png"] = png(rgb8_rows, W, H, 8, 2, chunk(b"gAMA", struct.pack(">I", 45455)) + chunk(
    b"cHRM", struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000)))
files["srgb.png"] = png(rgb8_rows, W, H, 8, 2, chunk(b"sRGB", b"\x00") + chunk(b"gAMA", struct.pack(">I", 45455)))
icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()  # anything but sRGB
files["iccp.png"] = png(rgb8_rows, W, H, 8, 2, chunk(b"iCCP", b"lab\x00\x00" + zlib.compress(icc)))
# palette with transparency, 8-bit and 4-bit indices
palette = rng.integers(0, 256, size=(16, 3)).astype(np.uint8)
idx = rng.integers(0, 16, size=(H, W)).astype(np.uint8)
files["palette_trns.png"] = png([r.tobytes() for r in idx], W, H, 8, 3,
                                chunk(b"PLTE", palette.tobytes()) + chunk(b"tRNS", bytes([0, 128, 255, 7])))


def pack(a, depth):
    """Rows of `a` (small values) packed `depth` bits a sample, high bits first."""
    per = 8 // depth
    out = []
    for r in a:
        r = list(r) + [0] * (-len(r) % per)
        out.append(bytes(sum(v << (8 - depth * (j + 1)) for j, v in enumerate(r[i:i + per])) for i in range(0, len(r), per)))
    return out


files["palette4.png"] = png(pack(idx, 4), W, H, 4, 3, chunk(b"PLTE", palette.tobytes()))
files["grey2.png"] = png(pack(rng.integers(0, 4, size=(H, W)), 2), W, H, 2, 0)
files["grey1.png"] = png(pack(rng.integers(0, 2, size=(H, W)), 1), W, H, 1, 0)
# grey with alpha, grey and RGB with a tRNS colour key
ga = rng.integers(0, 256, size=(H, W, 2)).astype(np.uint8)
files["greyalpha.png"] = png([r.tobytes() for r in ga.reshape(H, -1)], W, H, 8, 4)
files["grey_trns.png"] = png([r.tobytes() for r in ga[..., 0]], W, H, 8, 0, chunk(b"tRNS", struct.pack(">H", int(ga[0, 0, 0]))))
files["rgb_trns.png"] = png(rgb8_rows, W, H, 8, 2, chunk(b"tRNS", struct.pack(">3H", *map(int, rgb8[0, 0]))))
files["rgba.png"] = png([r.tobytes() for r in rng.integers(0, 256, size=(H, W * 4)).astype(np.uint8)], W, H, 8, 6)

# CMYK JPEG as Pillow writes it (Adobe marker, inverted samples), and a YCCK one from TurboJPEG
cmyk = rng.integers(0, 256, size=(16, 16, 4)).astype(np.uint8)
cmyk[:8, :8] = [0, 0, 0, 0]
cmyk[:8, 8:] = [255, 0, 0, 40]
buf = io.BytesIO()
Image.fromarray(cmyk, "CMYK").save(buf, "JPEG", quality=95)
files["cmyk.jpg"] = buf.getvalue()
tj = ctypes.CDLL("libturbojpeg.so.0")
tj.tjInitCompress.restype = ctypes.c_void_p
handle = ctypes.c_void_p(tj.tjInitCompress())
out, size = ctypes.POINTER(ctypes.c_ubyte)(), ctypes.c_ulong(0)
src = np.ascontiguousarray(cmyk)
TJPF_CMYK, TJSAMP_444, TJFLAG_ACCURATEDCT = 11, 0, 4096
status = tj.tjCompress2(handle, src.ctypes.data_as(ctypes.c_void_p), 16, 64, 16, TJPF_CMYK, ctypes.byref(out),
                        ctypes.byref(size), TJSAMP_444, 95, TJFLAG_ACCURATEDCT)
assert status == 0, "tjCompress2 failed"
files["ycck.jpg"] = ctypes.string_at(out, size.value)
tj.tjFree(out)
tj.tjDestroy(handle)

expected = {}
for name, data in files.items():
    with open(os.path.join(here, name), "wb") as f:
        f.write(data)
    im = Image.open(io.BytesIO(data))
    rgb = np.asarray(im.convert("RGB"))
    expected[name] = torch.tensor(rgb, dtype=torch.float32)
    print(f"{name:18s} {im.mode:6s} {im.info.get('adobe_transform', '')!s:3s} -> RGB {rgb.shape}")
save_file({k: v.contiguous() for k, v in expected.items()},
          os.path.join(here, "..", "pillow_codecs.safetensors"))
