#include <string.h>

#include "nexp_layers.h"

static const char *const act_names[NEXP_ACT_COUNT_] = {
    [NEXP_ACT_IDENTITY] = "identity", [NEXP_ACT_RELU] = "relu",         [NEXP_ACT_LEAKY_RELU] = "leaky_relu",
    [NEXP_ACT_TANH] = "tanh",         [NEXP_ACT_SIGMOID] = "sigmoid",   [NEXP_ACT_SOFTPLUS] = "softplus",
    [NEXP_ACT_GELU] = "gelu",
};

const char *nexp_act_name(nexp_act act)
{
    if ((int)act < 0 || act >= NEXP_ACT_COUNT_) {
        return "unknown";
    }
    return act_names[act];
}

int nexp_act_from_name(const char *name)
{
    if (name == NULL) {
        return -1;
    }
    if (strcmp(name, "linear") == 0 || strcmp(name, "none") == 0) {
        return NEXP_ACT_IDENTITY;
    }
    for (int a = 0; a < NEXP_ACT_COUNT_; a++) {
        if (strcmp(name, act_names[a]) == 0) {
            return a;
        }
    }
    return -1;
}

int nexp_act_slope_from_output(nexp_act act)
{
    /* relu and leaky_relu test x > 0, which is y > 0 */
    return act == NEXP_ACT_IDENTITY || act == NEXP_ACT_RELU || act == NEXP_ACT_LEAKY_RELU || act == NEXP_ACT_TANH ||
           act == NEXP_ACT_SIGMOID;
}

nexp_status nexp_conv2d_shape_init(nexp_conv2d_shape *s, int N, int C_in, int H, int W, int C_out, int k,
                                   int stride, nexp_pad pad_mode, int transposed, nexp_error *err)
{
    if (s == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "conv2d: NULL shape");
    }
    if (N < 1 || C_in < 1 || H < 1 || W < 1 || C_out < 1) {
        return nexp_error_set(err, NEXP_ERR_ARG, "conv2d: sizes N %d, C_in %d, H %d, W %d, C_out %d must be >= 1", N,
                              C_in, H, W, C_out);
    }
    if (k < 1 || k > 7 || (stride != 1 && stride != 2)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "conv2d: kernel %d and stride %d, expected 1..7 and 1 or 2", k,
                              stride);
    }
    if (pad_mode != NEXP_PAD_ZERO && pad_mode != NEXP_PAD_REPLICATE) {
        return nexp_error_set(err, NEXP_ERR_ARG, "conv2d: unknown padding mode %d", (int)pad_mode);
    }
    if (transposed && pad_mode != NEXP_PAD_ZERO) {
        return nexp_error_set(err, NEXP_ERR_ARG, "transposed conv2d: only zero padding is supported");
    }
    s->N = N;
    s->C_in = C_in;
    s->H = H;
    s->W = W;
    s->C_out = C_out;
    s->k = k;
    s->stride = stride;
    s->pad = (k - 1) / 2;
    s->pad_mode = pad_mode;
    s->transposed = transposed != 0;
    if (s->transposed) {
        s->H_out = (H - 1) * stride + k - 2 * s->pad;
        s->W_out = (W - 1) * stride + k - 2 * s->pad;
    } else {
        s->H_out = (H + 2 * s->pad - k) / stride + 1;
        s->W_out = (W + 2 * s->pad - k) / stride + 1;
    }
    if (s->H_out < 1 || s->W_out < 1 || H + 2 * s->pad < k || W + 2 * s->pad < k) {
        return nexp_error_set(err, NEXP_ERR_SIZE, "conv2d: a %dx%d input is too small for a %dx%d kernel", H, W, k,
                              k);
    }
    return NEXP_OK;
}

size_t nexp_conv2d_scratch_size(const nexp_conv2d_shape *s)
{
    if (s->transposed) {
        return (size_t)s->C_out * (size_t)(s->k * s->k) * (size_t)s->H * (size_t)s->W;
    }
    if (s->k == 1 && s->stride == 1) {
        return 0;
    }
    return (size_t)s->C_in * (size_t)(s->k * s->k) * (size_t)s->H_out * (size_t)s->W_out;
}

size_t nexp_conv2d_weight_size(const nexp_conv2d_shape *s)
{
    return (size_t)s->C_out * (size_t)s->C_in * (size_t)(s->k * s->k);
}

size_t nexp_bcos_scratch_size(const nexp_conv2d_shape *s)
{
    size_t K = (size_t)s->C_in * (size_t)(s->k * s->k), P = (size_t)s->H_out * (size_t)s->W_out;
    size_t O = (size_t)s->C_out;
    return K * P + O * P + 2 * P + 2 * O * K + O;
}
