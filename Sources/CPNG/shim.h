// libpng's simplified API (png_image_*): whole 8-bit RGB images in and out of files.
#include <png.h>

// PNG_FORMAT_RGB is a macro of a macro, which Swift does not import.
static const unsigned int vitkit_png_format_rgb = PNG_FORMAT_RGB;
static const unsigned int vitkit_png_format_rgba = PNG_FORMAT_RGBA;
