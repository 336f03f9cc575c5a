#ifndef CPNG_SHIM_H
#define CPNG_SHIM_H
// libpng 1.6: only the simplified png_image_* API is used (no setjmp/longjmp error handling needed).
#include <png.h>
#endif
