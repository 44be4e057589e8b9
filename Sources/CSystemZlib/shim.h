// zlib: inflate for MATLAB v5 compressed elements.
#include <zlib.h>

// inflateInit and deflateInit are macros, which Swift does not import.
static inline int vitkit_inflate_init(z_stream *s) { return inflateInit(s); }
static inline int vitkit_deflate_init(z_stream *s, int level) { return deflateInit(s, level); }
// windowBits 15 + 32: zlib or gzip stream, detected from its header.
static inline int vitkit_inflate_init_auto(z_stream *s) { return inflateInit2(s, 15 + 32); }
