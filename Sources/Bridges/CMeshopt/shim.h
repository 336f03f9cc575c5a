#ifndef CMESHOPT_SHIM_H
#define CMESHOPT_SHIM_H
#include <meshoptimizer.h>
#endif
