// libjpeg-turbo's TurboJPEG API: whole JPEG images to and from 8-bit RGB.
#include <turbojpeg.h>
