/* Layer kernels in double (neural ODEs): instantiates layers.inc with T = double. */
#define T double
#define NX(name) name##_f64
#define GEMM cblas_dgemm
#include "layers.inc"
