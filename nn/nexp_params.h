/* nexp_params.h — named views into a model's one flat parameter block.
 *
 *   const nexp_tensor_view *v = &mlp->tensors[0];         // "dense0.weight", shape (50, 2)
 *   double *w = mlp->params + v->offset;                   // v->size values, row-major
 *   double *dw = mlp->grads + v->offset;                   // gradients share the layout
 *
 * A model keeps all of its parameters in one contiguous array, its gradients and every optimiser
 * moment in arrays of the same length and layout, and lists its tensors once in a table of these
 * views. The optimiser and the checkpoint writer loop over the one array / the one table.
 */
#ifndef NEXP_PARAMS_H
#define NEXP_PARAMS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NEXP_TENSOR_NAME_MAX 48
#define NEXP_TENSOR_MAX_DIMS 4

typedef struct nexp_tensor_view {
    char name[NEXP_TENSOR_NAME_MAX]; /* unique within the model, e.g. "dense1.bias" */
    size_t offset;                   /* first element in the flat block */
    size_t size;                     /* number of elements = product of shape */
    int ndim;
    int shape[NEXP_TENSOR_MAX_DIMS]; /* row-major */
} nexp_tensor_view;

#ifdef __cplusplus
}
#endif
#endif
