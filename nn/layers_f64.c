/* Kernels in double (neural ODEs): instantiates layers.inc and optim.inc with T = double. */
#define T double
#define NX(name) name##_f64
#define GEMM cblas_dgemm
#include "layers.inc"
#include "optim.inc"
