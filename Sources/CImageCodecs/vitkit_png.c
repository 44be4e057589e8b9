#include "vitkit_png.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const unsigned char *data;
    size_t size, pos;
    char *err;
    size_t errlen;
    jmp_buf jump;
    // freed on every path, so they live here rather than in locals that a longjmp may lose
    unsigned char *rows;
    png_bytep *pointers;
} reader;

static void on_error(png_structp png, png_const_charp message) {
    reader *r = png_get_error_ptr(png);
    snprintf(r->err, r->errlen, "%s", message);
    longjmp(r->jump, 1);
}

static void on_warning(png_structp png, png_const_charp message) { (void)png; (void)message; }

static void on_read(png_structp png, png_bytep out, png_size_t count) {
    reader *r = png_get_io_ptr(png);
    if (r->size - r->pos < count) png_error(png, "the file ends early (truncated)");
    memcpy(out, r->data + r->pos, count);
    r->pos += count;
}

/// Reads the PNG's header (and with `rgb`, its pixels).
static int run(const unsigned char *data, size_t size, unsigned *width, unsigned *height, unsigned char *rgb,
               size_t capacity, char *err, size_t errlen) {
    reader r = {data, size, 0, err, errlen, {{0}}, NULL, NULL};
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
        snprintf(err, errlen, "not a PNG file (its first bytes are not the PNG signature)");
        return -1;
    }
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        snprintf(err, errlen, "libpng could not start");
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        return -1;
    }
    if (setjmp(r.jump)) {
        png_destroy_read_struct(&png, &info, NULL);
        free(r.rows);
        free(r.pointers);
        return -1;
    }
    png_set_read_fn(png, &r, on_read);
    // Pillow checks no ICC profile and no chunk CRC beyond what decoding needs: neither do we
    png_set_option(png, PNG_SKIP_sRGB_CHECK_PROFILE, PNG_OPTION_ON);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    *width = w; *height = h;
    if (!rgb) { png_destroy_read_struct(&png, &info, NULL); return 0; }
    if ((size_t)w * h * 3 > capacity) png_error(png, "the output buffer is too small");

    int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    int grey16 = color == PNG_COLOR_TYPE_GRAY && depth == 16;
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16 && !grey16) png_set_strip_16(png);  // the high byte, as Pillow's ;16B raw modes
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t stride = png_get_rowbytes(png, info);
    int channels = png_get_channels(png, info);
    r.rows = malloc(stride * h);
    r.pointers = malloc(sizeof(png_bytep) * h);
    if (!r.rows || !r.pointers) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++) r.pointers[y] = r.rows + y * stride;
    png_read_image(png, r.pointers);
    png_read_end(png, NULL);
    for (png_uint_32 y = 0; y < h; y++) {
        const unsigned char *s = r.rows + y * stride;
        unsigned char *d = rgb + (size_t)y * w * 3;
        for (png_uint_32 x = 0; x < w; x++, d += 3) {
            if (grey16) {
                unsigned v = (unsigned)s[2 * x] << 8 | s[2 * x + 1];
                d[0] = d[1] = d[2] = v > 255 ? 255 : (unsigned char)v;
            } else if (channels <= 2) {
                d[0] = d[1] = d[2] = s[channels * x];
            } else {
                const unsigned char *p = s + channels * x;
                d[0] = p[0]; d[1] = p[1]; d[2] = p[2];
            }
        }
    }
    png_destroy_read_struct(&png, &info, NULL);
    free(r.rows);
    free(r.pointers);
    return 0;
}

int vitkit_png_size(const unsigned char *data, size_t size, unsigned *width, unsigned *height, char *err, size_t errlen) {
    return run(data, size, width, height, NULL, 0, err, errlen);
}

int vitkit_png_decode_rgb(const unsigned char *data, size_t size, unsigned char *rgb, size_t capacity, char *err, size_t errlen) {
    unsigned w, h;
    return run(data, size, &w, &h, rgb, capacity, err, errlen);
}
