#ifndef CTURBOJPEG_SHIM_H
#define CTURBOJPEG_SHIM_H
// TurboJPEG 2.x tj* API: errors are return codes (the classic libjpeg API would exit() on errors).
#include <turbojpeg.h>
#endif
