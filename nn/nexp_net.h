/* nexp_net.h — float32 image networks as small graphs of layers: a U-Net builder, flat parameters,
 * planned forward / backward passes.
 *
 *   nexp_unet_config u = NEXP_UNET_CONFIG_INIT;              // 3 -> (16, 32, 64) -> 4 channels
 *   u.in_channels = 3; u.out_channels = 4; u.head_levels = 0x1 | 0x2;   // heads at 1/1 and 1/2
 *   nexp_net_spec spec; nexp_unet_spec(&u, &spec, &err);
 *   nexp_net *net = NULL; nexp_net_plan *plan = NULL;
 *   nexp_net_create(&spec, 42, &net, &err);                   // seeded He / Glorot init
 *   nexp_net_plan_create(net, 4, 128, 128, &plan, &err);      // batch (4, 3, 128, 128), any size
 *   nexp_net_forward(net, plan, x, &err);                     // outputs: nexp_net_output(plan, k, ...)
 *   nexp_net_zero_grad(net);
 *   nexp_net_backward(net, plan, douts, NULL, net->grads, &err);   // douts[k]: d loss / d output k
 *
 * Graph: node 0 is the input (N, in_channels, H, W); node i > 0 applies one operation to earlier
 * nodes (src[0], and src[1] for concat) and then its activation. Nodes marked head = k are the
 * network's outputs 0..n_heads-1. The spec is plain data with a text form (nexp_net_spec_format /
 * _parse), saved with the weights so that a checkpoint alone rebuilds the model.
 *
 * Parameters: one flat float block net->params, tensors "n<i>.weight" (conv: (C_out, C_in, k, k);
 * transposed conv: (C_in, C_out, k, k); B-cos: (C_out, C_in, k, k)) and "n<i>.bias" (C_out), in node
 * order, listed in net->tensors; net->grads has the same layout.
 *
 * Plan, then execute: a plan holds every activation and gradient buffer for one batch shape, so
 * forward and backward allocate nothing. forward / backward read the net (const); one plan per
 * thread; gradients accumulate into the block the caller passes. Backward needs the activations of
 * the last forward on the same plan.
 */
#ifndef NEXP_NET_H
#define NEXP_NET_H

#include <stddef.h>
#include <stdint.h>

#include "nexp_layers.h"
#include "nexp_params.h"
#include "nexp_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nexp_node_op {
    NEXP_NODE_INPUT = 0,
    NEXP_NODE_CONV,     /* convolution, k x k, stride 1 or 2, zero or replicate padding */
    NEXP_NODE_TCONV,    /* transposed convolution (upsampling by stride) */
    NEXP_NODE_BCOS,     /* B-cos convolution, no bias */
    NEXP_NODE_UPSAMPLE, /* bilinear 2x (to the size of src[1] if given: 2H or 2H - 1) */
    NEXP_NODE_AVGPOOL,  /* 2 x 2, stride 2 */
    NEXP_NODE_MAXPOOL,  /* 2 x 2, stride 2 */
    NEXP_NODE_CONCAT,   /* channels of src[0], then src[1] */
    NEXP_NODE_ACT,      /* activation only */
    NEXP_NODE_COUNT_
} nexp_node_op;

typedef struct nexp_node_spec {
    nexp_node_op op;
    int src[2];      /* earlier nodes; src[1] = -1 unless concat or sized upsampling */
    int channels;    /* conv / tconv / bcos: output channels */
    int kernel;      /* conv / tconv / bcos */
    int stride;      /* conv / tconv / bcos: 1 or 2 */
    nexp_pad pad;    /* conv / bcos */
    int bias;        /* conv / tconv: 1 = with bias */
    double bcos_b;   /* bcos: exponent B (2 in the paper) */
    nexp_act act;    /* applied to the node's result */
    int head;        /* -1, or the output index this node provides */
} nexp_node_spec;

#define NEXP_NET_MAX_NODES 96
#define NEXP_NET_MAX_HEADS 8

typedef struct nexp_net_spec {
    int in_channels;
    int n_nodes; /* including node 0, the input */
    nexp_node_spec nodes[NEXP_NET_MAX_NODES];
} nexp_net_spec;

/* Builder: begin with the input, add nodes (each returns the new node's index, or a negative
 * nexp_status with err set), mark heads. */
nexp_status nexp_net_spec_begin(nexp_net_spec *spec, int in_channels, nexp_error *err);
int nexp_net_add_conv(nexp_net_spec *spec, int src, int channels, int kernel, int stride, nexp_pad pad,
                      nexp_act act, nexp_error *err);
int nexp_net_add_tconv(nexp_net_spec *spec, int src, int channels, int kernel, int stride, nexp_act act,
                       nexp_error *err);
int nexp_net_add_bcos(nexp_net_spec *spec, int src, int channels, int kernel, int stride, nexp_pad pad, double B,
                      nexp_error *err);
/* op: NEXP_NODE_UPSAMPLE, _AVGPOOL, _MAXPOOL or _ACT. */
int nexp_net_add_simple(nexp_net_spec *spec, nexp_node_op op, int src, nexp_act act, nexp_error *err);
/* Bilinear 2x upsampling to the size of node like (twice src's size or one less, to meet an
 * odd-sized skip connection); like = -1: exactly twice. */
int nexp_net_add_upsample(nexp_net_spec *spec, int src, int like, nexp_error *err);
int nexp_net_add_concat(nexp_net_spec *spec, int a, int b, nexp_error *err);
/* Make node the next output (head); returns the head index. */
int nexp_net_mark_head(nexp_net_spec *spec, int node, nexp_error *err);
/* Full check: sources before the node, parameters in range, heads numbered 0..n-1 once each. */
nexp_status nexp_net_spec_check(const nexp_net_spec *spec, nexp_error *err);
/* Text form: "net in=3\n" then one line per node, e.g.
 * "conv src=0 c=16 k=3 s=2 pad=replicate bias=1 act=relu head=-1". format returns the length
 * snprintf would have written. parse accepts what format writes and checks the result. */
int nexp_net_spec_format(const nexp_net_spec *spec, char *buf, size_t len);
nexp_status nexp_net_spec_parse(const char *text, nexp_net_spec *spec, nexp_error *err);
const char *nexp_node_op_name(nexp_node_op op);

typedef struct nexp_unet_config {
    int in_channels;
    int depth;                /* number of stride-2 downsamplings, 1..6 */
    int widths[7];            /* channels at levels 0..depth (level l has resolution 1 / 2^l) */
    int out_channels;         /* K channels per head */
    unsigned head_levels;     /* bit l set: a head at level l; heads are numbered from fine to coarse */
    nexp_act act;             /* hidden activation */
    nexp_act head_act;        /* activation of the heads (usually identity) */
    nexp_pad pad;             /* padding of every convolution */
    int transposed_up;        /* 0: bilinear 2x upsampling; 1: transposed convolution k 2, stride 2 */
    double bcos_b;            /* > 0: every hidden 3x3 convolution is a B-cos convolution with this B
                               * (no bias, no activation: the interpretable variant); 0: ordinary */
} nexp_unet_config;

#define NEXP_UNET_CONFIG_INIT \
    { 3, 2, { 16, 32, 64, 0, 0, 0, 0 }, 1, 0x1u, NEXP_ACT_RELU, NEXP_ACT_IDENTITY, NEXP_PAD_REPLICATE, 0, 0.0 }

/* Encoder: level 0 conv 3x3; for each level l = 1..depth a stride-2 conv 3x3 and a conv 3x3.
 * Decoder, from level depth-1 up to 0: upsample (or transposed conv) the coarser features, concat
 * with the encoder's level-l features (skip), conv 3x3. Heads: a 1x1 conv to K channels at each
 * requested level (at level depth, on the bottleneck). Any H and W work with bilinear upsampling
 * (a stride-2 level has ceil(H / 2) rows; upsampling meets the skip's size); transposed
 * convolutions need H and W divisible by 2^depth. */
nexp_status nexp_unet_spec(const nexp_unet_config *cfg, nexp_net_spec *spec, nexp_error *err);

typedef struct nexp_net {
    nexp_net_spec spec;
    int channels[NEXP_NET_MAX_NODES]; /* output channels of every node */
    int weight_tensor[NEXP_NET_MAX_NODES]; /* index into tensors, or -1 */
    int bias_tensor[NEXP_NET_MAX_NODES];   /* index into tensors, or -1 */
    int head_node[NEXP_NET_MAX_HEADS];
    int n_heads;
    size_t n_params;
    float *params; /* owned */
    float *grads;  /* owned, zeroed by create and nexp_net_zero_grad */
    int n_tensors;
    nexp_tensor_view tensors[2 * NEXP_NET_MAX_NODES];
} nexp_net;

nexp_status nexp_net_create(const nexp_net_spec *spec, uint64_t seed, nexp_net **out, nexp_error *err);
void nexp_net_free(nexp_net *net);
/* He normal (std sqrt(2 / fan_in)) for weights followed by relu-like activations, Glorot uniform
 * otherwise; fan_in = C_in k^2. Biases zero. */
void nexp_net_init(nexp_net *net, uint64_t seed);
void nexp_net_zero_grad(nexp_net *net);

typedef struct nexp_net_plan nexp_net_plan;

/* Buffers for batches of shape (N, in_channels, H, W). */
nexp_status nexp_net_plan_create(const nexp_net *net, int N, int H, int W, nexp_net_plan **out, nexp_error *err);
void nexp_net_plan_free(nexp_net_plan *plan);
/* x (N, in_channels, H, W). */
nexp_status nexp_net_forward(const nexp_net *net, nexp_net_plan *plan, const float *x, nexp_error *err);
/* Output k of the last forward, (N, C, H, W) with the sizes in shape (may be NULL); owned by plan. */
const float *nexp_net_output(const nexp_net_plan *plan, int head, int shape[4]);
/* douts[k] (shape of output k) or NULL for a head the loss does not use; dx (N, in, H, W) += and
 * dparams (n_params) += the gradients, either may be NULL. */
nexp_status nexp_net_backward(const nexp_net *net, nexp_net_plan *plan, const float *const *douts, float *dx,
                              float *dparams, nexp_error *err);

#ifdef __cplusplus
}
#endif
#endif
