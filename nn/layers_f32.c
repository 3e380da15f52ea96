/* Kernels in float (image networks): instantiates layers.inc and optim.inc with T = float. */
#define T float
#define NX(name) name##_f32
#define GEMM cblas_sgemm
#include "layers.inc"
#include "optim.inc"
