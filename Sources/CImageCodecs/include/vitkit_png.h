// PNG decoding with libpng's full API, which reports errors through longjmp: that has to happen in C, not Swift.
#ifndef VITKIT_PNG_H
#define VITKIT_PNG_H
#include <stddef.h>

/// Width and height of the PNG in `data`; 0 on success, else -1 with a message in `err`.
int vitkit_png_size(const unsigned char *data, size_t size, unsigned *width, unsigned *height, char *err, size_t errlen);

/// Decodes the PNG in `data` into `rgb` (width × height × 3 bytes, row-major, interleaved) as Pillow's
/// `Image.open(f).convert("RGB")` does: no gamma, sRGB or ICC conversion; palettes looked up (transparency
/// ignored); grey of 1, 2 or 4 bits scaled to 0..255 and copied to R, G and B; alpha dropped; 16-bit samples
/// to their high byte, except 16-bit grey without alpha, which Pillow reads as a number and clips at 255.
/// 0 on success, else -1 with a message in `err`.
int vitkit_png_decode_rgb(const unsigned char *data, size_t size, unsigned char *rgb, size_t capacity, char *err, size_t errlen);

#endif
