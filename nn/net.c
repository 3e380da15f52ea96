#include "nexp_net.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexp_rng.h"

static const char *const op_names[NEXP_NODE_COUNT_] = { "input",    "conv",    "tconv",   "bcos",  "upsample",
                                                        "avgpool", "maxpool", "concat", "act" };

const char *nexp_node_op_name(nexp_node_op op)
{
    return ((int)op >= 0 && op < NEXP_NODE_COUNT_) ? op_names[op] : "unknown";
}

/* ---- spec building and checking ------------------------------------------------------------- */

static nexp_node_spec node_default(nexp_node_op op, int src)
{
    nexp_node_spec n;
    memset(&n, 0, sizeof n);
    n.op = op;
    n.src[0] = src;
    n.src[1] = -1;
    n.kernel = 1;
    n.stride = 1;
    n.pad = NEXP_PAD_ZERO;
    n.bcos_b = 2.0;
    n.act = NEXP_ACT_IDENTITY;
    n.head = -1;
    return n;
}

nexp_status nexp_net_spec_begin(nexp_net_spec *spec, int in_channels, nexp_error *err)
{
    if (spec == NULL || in_channels < 1) {
        return nexp_error_set(err, NEXP_ERR_ARG, "net spec: %d input channels, expected >= 1", in_channels);
    }
    memset(spec, 0, sizeof *spec);
    spec->in_channels = in_channels;
    spec->n_nodes = 1;
    spec->nodes[0] = node_default(NEXP_NODE_INPUT, -1);
    spec->nodes[0].channels = in_channels;
    return NEXP_OK;
}

/* Checks node i against the nodes before it. */
static nexp_status check_node(const nexp_net_spec *spec, int i, nexp_error *err)
{
    const nexp_node_spec *n = &spec->nodes[i];
    if (i == 0) {
        return n->op == NEXP_NODE_INPUT ? NEXP_OK
                                        : nexp_error_set(err, NEXP_ERR_ARG, "net spec: node 0 must be the input");
    }
    if ((int)n->op <= NEXP_NODE_INPUT || n->op >= NEXP_NODE_COUNT_) {
        return nexp_error_set(err, NEXP_ERR_ARG, "net spec: node %d has unknown operation %d", i, (int)n->op);
    }
    int nsrc = (n->op == NEXP_NODE_CONCAT || (n->op == NEXP_NODE_UPSAMPLE && n->src[1] != -1)) ? 2 : 1;
    for (int k = 0; k < nsrc; k++) {
        if (n->src[k] < 0 || n->src[k] >= i) {
            return nexp_error_set(err, NEXP_ERR_ARG, "net spec: node %d (%s) reads node %d, expected 0..%d", i,
                                  op_names[n->op], n->src[k], i - 1);
        }
    }
    if ((int)n->act < 0 || n->act >= NEXP_ACT_COUNT_) {
        return nexp_error_set(err, NEXP_ERR_ARG, "net spec: node %d has unknown activation %d", i, (int)n->act);
    }
    if (n->op == NEXP_NODE_CONV || n->op == NEXP_NODE_TCONV || n->op == NEXP_NODE_BCOS) {
        if (n->channels < 1 || n->channels > 4096 || n->kernel < 1 || n->kernel > 7 ||
            (n->stride != 1 && n->stride != 2)) {
            return nexp_error_set(err, NEXP_ERR_ARG,
                                  "net spec: node %d (%s): %d channels, kernel %d, stride %d out of range", i,
                                  op_names[n->op], n->channels, n->kernel, n->stride);
        }
        if (n->pad != NEXP_PAD_ZERO && (n->pad != NEXP_PAD_REPLICATE || n->op == NEXP_NODE_TCONV)) {
            return nexp_error_set(err, NEXP_ERR_ARG, "net spec: node %d (%s): unsupported padding %d", i,
                                  op_names[n->op], (int)n->pad);
        }
        if (n->op == NEXP_NODE_BCOS && !(n->bcos_b >= 1.0 && n->bcos_b <= 8.0)) {
            return nexp_error_set(err, NEXP_ERR_ARG, "net spec: node %d: B-cos exponent %g, expected 1..8", i,
                                  n->bcos_b);
        }
    }
    if (n->head < -1 || n->head >= NEXP_NET_MAX_HEADS) {
        return nexp_error_set(err, NEXP_ERR_ARG, "net spec: node %d: head %d, expected -1..%d", i, n->head,
                              NEXP_NET_MAX_HEADS - 1);
    }
    return NEXP_OK;
}

nexp_status nexp_net_spec_check(const nexp_net_spec *spec, nexp_error *err)
{
    if (spec == NULL || spec->in_channels < 1 || spec->n_nodes < 2 || spec->n_nodes > NEXP_NET_MAX_NODES) {
        return nexp_error_set(err, NEXP_ERR_ARG, "net spec: needs an input with >= 1 channels and 1..%d layers",
                              NEXP_NET_MAX_NODES - 1);
    }
    int seen[NEXP_NET_MAX_HEADS] = { 0 }, n_heads = 0;
    for (int i = 0; i < spec->n_nodes; i++) {
        nexp_status st = check_node(spec, i, err);
        if (st != NEXP_OK) {
            return st;
        }
        int h = spec->nodes[i].head;
        if (h >= 0) {
            if (seen[h]++) {
                return nexp_error_set(err, NEXP_ERR_ARG, "net spec: head %d is given twice", h);
            }
            n_heads++;
        }
    }
    for (int h = 0; h < n_heads; h++) {
        if (!seen[h]) {
            return nexp_error_set(err, NEXP_ERR_ARG, "net spec: heads must be numbered 0..%d, %d is missing",
                                  n_heads - 1, h);
        }
    }
    if (n_heads == 0) {
        return nexp_error_set(err, NEXP_ERR_ARG, "net spec: no output (no node is marked as a head)");
    }
    return NEXP_OK;
}

static int append(nexp_net_spec *spec, nexp_node_spec n, nexp_error *err)
{
    if (spec == NULL || spec->n_nodes < 1) {
        return nexp_error_set(err, NEXP_ERR_ARG, "net spec: call nexp_net_spec_begin first");
    }
    if (spec->n_nodes >= NEXP_NET_MAX_NODES) {
        return nexp_error_set(err, NEXP_ERR_TOO_LARGE, "net spec: more than %d nodes", NEXP_NET_MAX_NODES);
    }
    int i = spec->n_nodes;
    spec->nodes[i] = n;
    nexp_status st = check_node(spec, i, err);
    if (st != NEXP_OK) {
        return st;
    }
    spec->n_nodes++;
    return i;
}

int nexp_net_add_conv(nexp_net_spec *spec, int src, int channels, int kernel, int stride, nexp_pad pad,
                      nexp_act act, nexp_error *err)
{
    nexp_node_spec n = node_default(NEXP_NODE_CONV, src);
    n.channels = channels;
    n.kernel = kernel;
    n.stride = stride;
    n.pad = pad;
    n.bias = 1;
    n.act = act;
    return append(spec, n, err);
}

int nexp_net_add_tconv(nexp_net_spec *spec, int src, int channels, int kernel, int stride, nexp_act act,
                       nexp_error *err)
{
    nexp_node_spec n = node_default(NEXP_NODE_TCONV, src);
    n.channels = channels;
    n.kernel = kernel;
    n.stride = stride;
    n.bias = 1;
    n.act = act;
    return append(spec, n, err);
}

int nexp_net_add_bcos(nexp_net_spec *spec, int src, int channels, int kernel, int stride, nexp_pad pad, double B,
                      nexp_error *err)
{
    nexp_node_spec n = node_default(NEXP_NODE_BCOS, src);
    n.channels = channels;
    n.kernel = kernel;
    n.stride = stride;
    n.pad = pad;
    n.bcos_b = B;
    return append(spec, n, err);
}

int nexp_net_add_simple(nexp_net_spec *spec, nexp_node_op op, int src, nexp_act act, nexp_error *err)
{
    if (op != NEXP_NODE_UPSAMPLE && op != NEXP_NODE_AVGPOOL && op != NEXP_NODE_MAXPOOL && op != NEXP_NODE_ACT) {
        return nexp_error_set(err, NEXP_ERR_ARG, "net spec: %s is not a parameter-free one-input operation",
                              nexp_node_op_name(op));
    }
    nexp_node_spec n = node_default(op, src);
    n.act = act;
    return append(spec, n, err);
}

int nexp_net_add_upsample(nexp_net_spec *spec, int src, int like, nexp_error *err)
{
    nexp_node_spec n = node_default(NEXP_NODE_UPSAMPLE, src);
    n.src[1] = like;
    return append(spec, n, err);
}

int nexp_net_add_concat(nexp_net_spec *spec, int a, int b, nexp_error *err)
{
    nexp_node_spec n = node_default(NEXP_NODE_CONCAT, a);
    n.src[1] = b;
    return append(spec, n, err);
}

int nexp_net_mark_head(nexp_net_spec *spec, int node, nexp_error *err)
{
    if (spec == NULL || node < 1 || node >= spec->n_nodes) {
        return nexp_error_set(err, NEXP_ERR_ARG, "net spec: no node %d to mark as a head", node);
    }
    int h = 0;
    for (int i = 0; i < spec->n_nodes; i++) {
        h += spec->nodes[i].head >= 0;
    }
    if (spec->nodes[node].head >= 0) {
        return spec->nodes[node].head;
    }
    if (h >= NEXP_NET_MAX_HEADS) {
        return nexp_error_set(err, NEXP_ERR_TOO_LARGE, "net spec: more than %d heads", NEXP_NET_MAX_HEADS);
    }
    spec->nodes[node].head = h;
    return h;
}

/* Output channels of every node; the spec must be checked. */
static void node_channels(const nexp_net_spec *spec, int *ch)
{
    for (int i = 0; i < spec->n_nodes; i++) {
        const nexp_node_spec *n = &spec->nodes[i];
        switch (n->op) {
        case NEXP_NODE_INPUT:
            ch[i] = spec->in_channels;
            break;
        case NEXP_NODE_CONV:
        case NEXP_NODE_TCONV:
        case NEXP_NODE_BCOS:
            ch[i] = n->channels;
            break;
        case NEXP_NODE_CONCAT:
            ch[i] = ch[n->src[0]] + ch[n->src[1]];
            break;
        default:
            ch[i] = ch[n->src[0]];
            break;
        }
    }
}

/* ---- text form ------------------------------------------------------------------------------ */

int nexp_net_spec_format(const nexp_net_spec *spec, char *buf, size_t len)
{
    size_t cap = 64 + (size_t)spec->n_nodes * 160;
    char *tmp = malloc(cap);
    if (tmp == NULL) {
        return -1;
    }
    int used = snprintf(tmp, cap, "net in=%d\n", spec->in_channels);
    for (int i = 1; i < spec->n_nodes && i < NEXP_NET_MAX_NODES; i++) {
        const nexp_node_spec *n = &spec->nodes[i];
        used += snprintf(tmp + used, cap - (size_t)used,
                         "%s src=%d,%d c=%d k=%d s=%d pad=%s bias=%d b=%.17g act=%s head=%d\n",
                         nexp_node_op_name(n->op), n->src[0], n->src[1], n->channels, n->kernel, n->stride,
                         n->pad == NEXP_PAD_REPLICATE ? "replicate" : "zero", n->bias, n->bcos_b,
                         nexp_act_name(n->act), n->head);
    }
    if (buf != NULL && len > 0) {
        snprintf(buf, len, "%s", tmp);
    }
    free(tmp);
    return used;
}

static int parse_int(const char *s, int *out)
{
    errno = 0;
    char *e = NULL;
    long v = strtol(s, &e, 10);
    if (e == s || *e != '\0' || errno != 0 || v < -1000000 || v > 1000000) {
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* One node line "op key=value ...". */
static nexp_status parse_node(char *line, int lineno, nexp_node_spec *n, nexp_error *err)
{
    char *save = NULL;
    char *tok = strtok_r(line, " \t\r", &save);
    int op = -1;
    for (int k = 1; tok != NULL && k < NEXP_NODE_COUNT_; k++) {
        if (strcmp(tok, op_names[k]) == 0) {
            op = k;
        }
    }
    if (op < 0) {
        return nexp_error_set(err, NEXP_ERR_FORMAT, "net spec line %d: unknown operation \"%s\"", lineno,
                              tok != NULL ? tok : "");
    }
    *n = node_default((nexp_node_op)op, -1);
    while ((tok = strtok_r(NULL, " \t\r", &save)) != NULL) {
        char *eq = strchr(tok, '=');
        if (eq == NULL) {
            return nexp_error_set(err, NEXP_ERR_FORMAT, "net spec line %d: expected key=value, found \"%s\"", lineno,
                                  tok);
        }
        *eq = '\0';
        const char *key = tok, *val = eq + 1;
        int bad = 0;
        if (strcmp(key, "src") == 0) {
            char a[32] = { 0 };
            const char *comma = strchr(val, ',');
            size_t la = comma != NULL ? (size_t)(comma - val) : strlen(val);
            if (la >= sizeof a) {
                bad = 1;
            } else {
                memcpy(a, val, la);
                bad = parse_int(a, &n->src[0]) != 0 || (comma != NULL && parse_int(comma + 1, &n->src[1]) != 0);
            }
        } else if (strcmp(key, "c") == 0) {
            bad = parse_int(val, &n->channels);
        } else if (strcmp(key, "k") == 0) {
            bad = parse_int(val, &n->kernel);
        } else if (strcmp(key, "s") == 0) {
            bad = parse_int(val, &n->stride);
        } else if (strcmp(key, "bias") == 0) {
            bad = parse_int(val, &n->bias);
        } else if (strcmp(key, "head") == 0) {
            bad = parse_int(val, &n->head);
        } else if (strcmp(key, "pad") == 0) {
            bad = strcmp(val, "zero") != 0 && strcmp(val, "replicate") != 0;
            n->pad = strcmp(val, "replicate") == 0 ? NEXP_PAD_REPLICATE : NEXP_PAD_ZERO;
        } else if (strcmp(key, "b") == 0) {
            char *e = NULL;
            n->bcos_b = strtod(val, &e);
            bad = e == val || *e != '\0';
        } else if (strcmp(key, "act") == 0) {
            int a = nexp_act_from_name(val);
            bad = a < 0;
            n->act = a < 0 ? NEXP_ACT_IDENTITY : (nexp_act)a;
        } else {
            return nexp_error_set(err, NEXP_ERR_FORMAT, "net spec line %d: unknown key \"%s\"", lineno, key);
        }
        if (bad) {
            return nexp_error_set(err, NEXP_ERR_FORMAT, "net spec line %d: bad value \"%s\" for %s", lineno, val, key);
        }
    }
    n->bias = n->bias != 0 && (n->op == NEXP_NODE_CONV || n->op == NEXP_NODE_TCONV);
    return NEXP_OK;
}

nexp_status nexp_net_spec_parse(const char *text, nexp_net_spec *spec, nexp_error *err)
{
    if (text == NULL || spec == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "net spec: NULL text");
    }
    nexp_net_spec *s = calloc(1, sizeof *s);
    char *copy = malloc(strlen(text) + 1);
    nexp_status st = NEXP_OK;
    if (s == NULL || copy == NULL) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "net spec: out of memory");
        goto done;
    }
    strcpy(copy, text);
    char *save = NULL;
    int lineno = 0;
    for (char *line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        if (lineno == 1) {
            int in = 0;
            char extra = 0;
            if (sscanf(line, "net in=%d %c", &in, &extra) != 1 || in < 1) {
                st = nexp_error_set(err, NEXP_ERR_FORMAT, "net spec: first line must be \"net in=<channels>\"");
                goto done;
            }
            if ((st = nexp_net_spec_begin(s, in, err)) != NEXP_OK) {
                goto done;
            }
            continue;
        }
        if (s->n_nodes >= NEXP_NET_MAX_NODES) {
            st = nexp_error_set(err, NEXP_ERR_FORMAT, "net spec: more than %d nodes", NEXP_NET_MAX_NODES);
            goto done;
        }
        if ((st = parse_node(line, lineno, &s->nodes[s->n_nodes], err)) != NEXP_OK) {
            goto done;
        }
        s->n_nodes++;
    }
    if (lineno == 0) {
        st = nexp_error_set(err, NEXP_ERR_FORMAT, "net spec: empty text");
        goto done;
    }
    if ((st = nexp_net_spec_check(s, err)) != NEXP_OK) {
        goto done;
    }
    *spec = *s;
done:
    free(copy);
    free(s);
    return st;
}

/* ---- U-Net ---------------------------------------------------------------------------------- */

/* A hidden 3x3 convolution of the U-Net: ordinary (bias + activation) or B-cos. */
static int unet_conv(nexp_net_spec *spec, const nexp_unet_config *cfg, int src, int channels, int stride,
                     nexp_error *err)
{
    if (cfg->bcos_b > 0.0) {
        return nexp_net_add_bcos(spec, src, channels, 3, stride, cfg->pad, cfg->bcos_b, err);
    }
    return nexp_net_add_conv(spec, src, channels, 3, stride, cfg->pad, cfg->act, err);
}

nexp_status nexp_unet_spec(const nexp_unet_config *cfg, nexp_net_spec *spec, nexp_error *err)
{
    if (cfg == NULL || spec == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "unet: NULL argument");
    }
    if (cfg->depth < 1 || cfg->depth > 6) {
        return nexp_error_set(err, NEXP_ERR_ARG, "unet: depth %d, expected 1..6", cfg->depth);
    }
    for (int l = 0; l <= cfg->depth; l++) {
        if (cfg->widths[l] < 1 || cfg->widths[l] > 4096) {
            return nexp_error_set(err, NEXP_ERR_ARG, "unet: width of level %d is %d, expected 1..4096", l,
                                  cfg->widths[l]);
        }
    }
    if (cfg->out_channels < 1 || cfg->head_levels == 0 || (cfg->head_levels >> (cfg->depth + 1)) != 0) {
        return nexp_error_set(err, NEXP_ERR_ARG, "unet: %d output channels with head levels 0x%x (depth %d)",
                              cfg->out_channels, cfg->head_levels, cfg->depth);
    }
    nexp_status st = nexp_net_spec_begin(spec, cfg->in_channels, err);
    if (st != NEXP_OK) {
        return st;
    }
    int enc[7], head_node[7];
    int x = unet_conv(spec, cfg, 0, cfg->widths[0], 1, err);
    enc[0] = x;
    for (int l = 1; l <= cfg->depth && x >= 0; l++) {
        x = unet_conv(spec, cfg, x, cfg->widths[l], 2, err);
        if (x >= 0) {
            x = unet_conv(spec, cfg, x, cfg->widths[l], 1, err);
        }
        enc[l] = x;
    }
    for (int l = cfg->depth; l >= 0 && x >= 0; l--) {
        if (l < cfg->depth) {
            int up = cfg->transposed_up ? nexp_net_add_tconv(spec, x, cfg->widths[l + 1], 2, 2, cfg->act, err)
                                        : nexp_net_add_upsample(spec, x, enc[l], err);
            int cat = up >= 0 ? nexp_net_add_concat(spec, up, enc[l], err) : up;
            x = cat >= 0 ? unet_conv(spec, cfg, cat, cfg->widths[l], 1, err) : cat;
        }
        head_node[l] = -1;
        if (x >= 0 && (cfg->head_levels >> l) & 1u) {
            head_node[l] = nexp_net_add_conv(spec, x, cfg->out_channels, 1, 1, cfg->pad, cfg->head_act, err);
            if (head_node[l] < 0) {
                x = head_node[l];
            }
        }
    }
    if (x < 0) {
        return (nexp_status)x;
    }
    for (int l = 0; l <= cfg->depth; l++) {
        if (head_node[l] >= 0) {
            nexp_net_mark_head(spec, head_node[l], NULL);
        }
    }
    return nexp_net_spec_check(spec, err);
}

/* ---- the network object ----------------------------------------------------------------------- */

static void add_tensor(nexp_net *net, int node, const char *what, int ndim, const int *shape, size_t *off)
{
    nexp_tensor_view *v = &net->tensors[net->n_tensors];
    snprintf(v->name, sizeof v->name, "n%d.%s", node, what);
    v->offset = *off;
    v->ndim = ndim;
    v->size = 1;
    for (int d = 0; d < ndim; d++) {
        v->shape[d] = shape[d];
        v->size *= (size_t)shape[d];
    }
    *off += v->size;
    net->n_tensors++;
}

nexp_status nexp_net_create(const nexp_net_spec *spec, uint64_t seed, nexp_net **out, nexp_error *err)
{
    if (out == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "net create: NULL output");
    }
    *out = NULL;
    nexp_status st = nexp_net_spec_check(spec, err);
    if (st != NEXP_OK) {
        return st;
    }
    nexp_net *net = calloc(1, sizeof *net);
    if (net == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "net create: out of memory");
    }
    net->spec = *spec;
    node_channels(spec, net->channels);
    size_t off = 0;
    for (int i = 0; i < spec->n_nodes; i++) {
        const nexp_node_spec *n = &spec->nodes[i];
        net->weight_tensor[i] = net->bias_tensor[i] = -1;
        if (n->head >= 0) {
            net->head_node[n->head] = i;
            net->n_heads++;
        }
        if (n->op != NEXP_NODE_CONV && n->op != NEXP_NODE_TCONV && n->op != NEXP_NODE_BCOS) {
            continue;
        }
        int cin = net->channels[n->src[0]];
        int shape[4] = { n->channels, cin, n->kernel, n->kernel };
        if (n->op == NEXP_NODE_TCONV) {
            shape[0] = cin;
            shape[1] = n->channels;
        }
        net->weight_tensor[i] = net->n_tensors;
        add_tensor(net, i, "weight", 4, shape, &off);
        if (n->bias) {
            net->bias_tensor[i] = net->n_tensors;
            add_tensor(net, i, "bias", 1, &n->channels, &off);
        }
    }
    net->n_params = off;
    net->params = calloc(off > 0 ? off : 1, sizeof(float));
    net->grads = calloc(off > 0 ? off : 1, sizeof(float));
    if (net->params == NULL || net->grads == NULL) {
        nexp_net_free(net);
        return nexp_error_set(err, NEXP_ERR_NOMEM, "net create: out of memory for %zu parameters", off);
    }
    nexp_net_init(net, seed);
    *out = net;
    return NEXP_OK;
}

void nexp_net_free(nexp_net *net)
{
    if (net == NULL) {
        return;
    }
    free(net->params);
    free(net->grads);
    free(net);
}

void nexp_net_init(nexp_net *net, uint64_t seed)
{
    nexp_rng rng;
    nexp_rng_seed(&rng, seed);
    memset(net->params, 0, net->n_params * sizeof(float));
    for (int i = 0; i < net->spec.n_nodes; i++) {
        if (net->weight_tensor[i] < 0) {
            continue;
        }
        const nexp_node_spec *n = &net->spec.nodes[i];
        const nexp_tensor_view *v = &net->tensors[net->weight_tensor[i]];
        int kk = n->kernel * n->kernel;
        int cin = net->channels[n->src[0]];
        double fan_in = (double)cin * kk, fan_out = (double)n->channels * kk;
        float *w = net->params + v->offset;
        nexp_act a = n->act;
        if (a == NEXP_ACT_RELU || a == NEXP_ACT_LEAKY_RELU || a == NEXP_ACT_GELU || a == NEXP_ACT_SOFTPLUS) {
            double sd = sqrt(2.0 / fan_in);
            for (size_t j = 0; j < v->size; j++) {
                w[j] = (float)(sd * nexp_rng_normal(&rng));
            }
        } else {
            double lim = sqrt(6.0 / (fan_in + fan_out));
            for (size_t j = 0; j < v->size; j++) {
                w[j] = (float)nexp_rng_range(&rng, -lim, lim);
            }
        }
    }
}

void nexp_net_zero_grad(nexp_net *net)
{
    memset(net->grads, 0, net->n_params * sizeof(float));
}

/* ---- plans ---------------------------------------------------------------------------------- */

struct nexp_net_plan {
    int N, n_nodes;
    int C[NEXP_NET_MAX_NODES], H[NEXP_NET_MAX_NODES], W[NEXP_NET_MAX_NODES];
    int head_of[NEXP_NET_MAX_NODES]; /* the spec's head numbers */
    nexp_conv2d_shape conv[NEXP_NET_MAX_NODES];
    float *z[NEXP_NET_MAX_NODES];  /* result of the operation */
    float *a[NEXP_NET_MAX_NODES];  /* after the activation (== z for identity) */
    float *g[NEXP_NET_MAX_NODES];  /* d loss / d a */
    float *scratch;                /* convolution / B-cos scratch */
    float *tmp;                    /* activation derivatives */
    float *block;
};

static size_t node_size(const nexp_net_plan *p, int i)
{
    return (size_t)p->N * (size_t)p->C[i] * (size_t)p->H[i] * (size_t)p->W[i];
}

nexp_status nexp_net_plan_create(const nexp_net *net, int N, int H, int W, nexp_net_plan **out, nexp_error *err)
{
    if (net == NULL || out == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "net plan: NULL argument");
    }
    *out = NULL;
    if (N < 1 || H < 1 || W < 1 || (size_t)H * (size_t)W > ((size_t)1 << 28)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "net plan: batch %d of %dx%d, expected positive sizes", N, W, H);
    }
    nexp_net_plan *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "net plan: out of memory");
    }
    const nexp_net_spec *s = &net->spec;
    p->N = N;
    p->n_nodes = s->n_nodes;
    size_t total = 0, scratch = 1, tmp = 1;
    nexp_status st = NEXP_OK;
    for (int i = 0; i < s->n_nodes; i++) {
        const nexp_node_spec *n = &s->nodes[i];
        int a = n->src[0], b = n->src[1];
        p->C[i] = net->channels[i];
        p->head_of[i] = n->head;
        if (n->op == NEXP_NODE_INPUT) {
            p->H[i] = H;
            p->W[i] = W;
        } else if (n->op == NEXP_NODE_CONV || n->op == NEXP_NODE_TCONV || n->op == NEXP_NODE_BCOS) {
            st = nexp_conv2d_shape_init(&p->conv[i], N, p->C[a], p->H[a], p->W[a], n->channels, n->kernel, n->stride,
                                        n->pad, n->op == NEXP_NODE_TCONV, err);
            if (st != NEXP_OK) {
                nexp_error_prefix(err, "net plan");
                goto fail;
            }
            p->H[i] = p->conv[i].H_out;
            p->W[i] = p->conv[i].W_out;
            size_t need = n->op == NEXP_NODE_BCOS ? nexp_bcos_scratch_size(&p->conv[i])
                                                  : nexp_conv2d_scratch_size(&p->conv[i]);
            scratch = need > scratch ? need : scratch;
        } else if (n->op == NEXP_NODE_UPSAMPLE) {
            p->H[i] = b >= 0 ? p->H[b] : 2 * p->H[a];
            p->W[i] = b >= 0 ? p->W[b] : 2 * p->W[a];
            if (p->H[i] < 2 * p->H[a] - 1 || p->H[i] > 2 * p->H[a] || p->W[i] < 2 * p->W[a] - 1 ||
                p->W[i] > 2 * p->W[a]) {
                st = nexp_error_set(err, NEXP_ERR_SIZE,
                                    "net plan: node %d upsamples %dx%d to the size of node %d, %dx%d (must be "
                                    "twice, or twice minus one)",
                                    i, p->W[a], p->H[a], b, p->W[i], p->H[i]);
                goto fail;
            }
        } else if (n->op == NEXP_NODE_AVGPOOL || n->op == NEXP_NODE_MAXPOOL) {
            if (p->H[a] % 2 != 0 || p->W[a] % 2 != 0) {
                st = nexp_error_set(err, NEXP_ERR_SIZE, "net plan: node %d pools a %dx%d input (odd size)", i,
                                    p->W[a], p->H[a]);
                goto fail;
            }
            p->H[i] = p->H[a] / 2;
            p->W[i] = p->W[a] / 2;
        } else if (n->op == NEXP_NODE_CONCAT) {
            if (p->H[a] != p->H[b] || p->W[a] != p->W[b]) {
                st = nexp_error_set(err, NEXP_ERR_SIZE,
                                    "net plan: node %d concatenates %dx%d with %dx%d (for a %dx%d input; a U-Net "
                                    "with transposed-convolution upsampling needs sizes divisible by 2^depth)",
                                    i, p->W[a], p->H[a], p->W[b], p->H[b], W, H);
                goto fail;
            }
            p->H[i] = p->H[a];
            p->W[i] = p->W[a];
        } else {
            p->H[i] = p->H[a];
            p->W[i] = p->W[a];
        }
        size_t sz = node_size(p, i);
        total += sz * (n->act == NEXP_ACT_IDENTITY ? 2 : 3);
        tmp = sz > tmp ? sz : tmp;
    }
    p->block = calloc(total + scratch + tmp, sizeof(float));
    if (p->block == NULL) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "net plan: out of memory for %zu floats", total + scratch + tmp);
        goto fail;
    }
    float *q = p->block;
    for (int i = 0; i < s->n_nodes; i++) {
        size_t sz = node_size(p, i);
        p->z[i] = q;
        q += sz;
        if (s->nodes[i].act == NEXP_ACT_IDENTITY) {
            p->a[i] = p->z[i];
        } else {
            p->a[i] = q;
            q += sz;
        }
        p->g[i] = q;
        q += sz;
    }
    p->scratch = q;
    p->tmp = q + scratch;
    *out = p;
    return NEXP_OK;
fail:
    nexp_net_plan_free(p);
    return st;
}

void nexp_net_plan_free(nexp_net_plan *plan)
{
    if (plan == NULL) {
        return;
    }
    free(plan->block);
    free(plan);
}

static const float *weight_of(const nexp_net *net, const float *block, int i)
{
    return net->weight_tensor[i] >= 0 ? block + net->tensors[net->weight_tensor[i]].offset : NULL;
}

static const float *bias_of(const nexp_net *net, const float *block, int i)
{
    return net->bias_tensor[i] >= 0 ? block + net->tensors[net->bias_tensor[i]].offset : NULL;
}

static nexp_status check_plan(const nexp_net *net, const nexp_net_plan *plan, const char *what, nexp_error *err)
{
    if (net == NULL || plan == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "net %s: NULL net or plan", what);
    }
    if (plan->n_nodes != net->spec.n_nodes) {
        return nexp_error_set(err, NEXP_ERR_MISMATCH, "net %s: plan made for another network", what);
    }
    return NEXP_OK;
}

nexp_status nexp_net_forward(const nexp_net *net, nexp_net_plan *p, const float *x, nexp_error *err)
{
    nexp_status st = check_plan(net, p, "forward", err);
    if (st != NEXP_OK) {
        return st;
    }
    const nexp_net_spec *s = &net->spec;
    for (int i = 0; i < s->n_nodes; i++) {
        const nexp_node_spec *n = &s->nodes[i];
        int a = n->src[0];
        float *z = p->z[i];
        switch (n->op) {
        case NEXP_NODE_INPUT:
            memcpy(z, x, node_size(p, 0) * sizeof(float));
            break;
        case NEXP_NODE_CONV:
            nexp_conv2d_forward_f32(&p->conv[i], p->a[a], weight_of(net, net->params, i), bias_of(net, net->params, i),
                                    z, p->scratch);
            break;
        case NEXP_NODE_TCONV:
            nexp_tconv2d_forward_f32(&p->conv[i], p->a[a], weight_of(net, net->params, i),
                                     bias_of(net, net->params, i), z, p->scratch);
            break;
        case NEXP_NODE_BCOS:
            nexp_bcos_forward_f32(&p->conv[i], n->bcos_b, p->a[a], weight_of(net, net->params, i), z, p->scratch);
            break;
        case NEXP_NODE_UPSAMPLE:
            nexp_upsample2x_forward_f32(p->N * p->C[a], p->H[a], p->W[a], p->H[i], p->W[i], p->a[a], z);
            break;
        case NEXP_NODE_AVGPOOL:
            nexp_avgpool2_forward_f32(p->N * p->C[a], p->H[a], p->W[a], p->a[a], z);
            break;
        case NEXP_NODE_MAXPOOL:
            nexp_maxpool2_forward_f32(p->N * p->C[a], p->H[a], p->W[a], p->a[a], z);
            break;
        case NEXP_NODE_CONCAT:
            nexp_concat_forward_f32(p->N, p->C[a], p->C[n->src[1]], (size_t)p->H[i] * p->W[i], p->a[a],
                                    p->a[n->src[1]], z);
            break;
        case NEXP_NODE_ACT:
            memcpy(z, p->a[a], node_size(p, i) * sizeof(float));
            break;
        case NEXP_NODE_COUNT_:
            break;
        }
        if (n->act != NEXP_ACT_IDENTITY) {
            nexp_act_forward_f32(n->act, node_size(p, i), z, p->a[i]);
        }
    }
    return NEXP_OK;
}

const float *nexp_net_output(const nexp_net_plan *plan, int head, int shape[4])
{
    if (plan == NULL || head < 0 || head >= NEXP_NET_MAX_HEADS) {
        return NULL;
    }
    int node = -1;
    for (int i = 0; i < plan->n_nodes; i++) {
        if (plan->head_of[i] == head) {
            node = i;
        }
    }
    if (node < 0) {
        return NULL;
    }
    if (shape != NULL) {
        shape[0] = plan->N;
        shape[1] = plan->C[node];
        shape[2] = plan->H[node];
        shape[3] = plan->W[node];
    }
    return plan->a[node];
}

nexp_status nexp_net_backward(const nexp_net *net, nexp_net_plan *p, const float *const *douts, float *dx,
                              float *dparams, nexp_error *err)
{
    nexp_status st = check_plan(net, p, "backward", err);
    if (st != NEXP_OK) {
        return st;
    }
    const nexp_net_spec *s = &net->spec;
    for (int i = 0; i < s->n_nodes; i++) {
        memset(p->g[i], 0, node_size(p, i) * sizeof(float));
    }
    for (int h = 0; h < net->n_heads; h++) {
        if (douts != NULL && douts[h] != NULL) {
            int node = net->head_node[h];
            memcpy(p->g[node], douts[h], node_size(p, node) * sizeof(float));
        }
    }
    for (int i = s->n_nodes - 1; i >= 1; i--) {
        const nexp_node_spec *n = &s->nodes[i];
        int a = n->src[0];
        size_t sz = node_size(p, i);
        float *gz = p->g[i];
        if (n->act != NEXP_ACT_IDENTITY) {
            nexp_act_derivative_f32(n->act, sz, p->z[i], p->a[i], p->tmp);
            for (size_t j = 0; j < sz; j++) {
                gz[j] *= p->tmp[j];
            }
        }
        float *dw = dparams != NULL && net->weight_tensor[i] >= 0
                        ? dparams + net->tensors[net->weight_tensor[i]].offset
                        : NULL;
        float *db = dparams != NULL && net->bias_tensor[i] >= 0 ? dparams + net->tensors[net->bias_tensor[i]].offset
                                                                 : NULL;
        float *ga = (a == 0 && dx == NULL) ? NULL : p->g[a];
        switch (n->op) {
        case NEXP_NODE_CONV:
            nexp_conv2d_backward_f32(&p->conv[i], p->a[a], weight_of(net, net->params, i), gz, ga, dw, db, p->scratch);
            break;
        case NEXP_NODE_TCONV:
            nexp_tconv2d_backward_f32(&p->conv[i], p->a[a], weight_of(net, net->params, i), gz, ga, dw, db,
                                      p->scratch);
            break;
        case NEXP_NODE_BCOS:
            nexp_bcos_backward_f32(&p->conv[i], n->bcos_b, p->a[a], weight_of(net, net->params, i), gz, ga, dw,
                                   p->scratch);
            break;
        case NEXP_NODE_UPSAMPLE:
            if (ga != NULL) {
                nexp_upsample2x_backward_f32(p->N * p->C[a], p->H[a], p->W[a], p->H[i], p->W[i], gz, ga);
            }
            break;
        case NEXP_NODE_AVGPOOL:
            if (ga != NULL) {
                nexp_avgpool2_backward_f32(p->N * p->C[a], p->H[a], p->W[a], gz, ga);
            }
            break;
        case NEXP_NODE_MAXPOOL:
            if (ga != NULL) {
                nexp_maxpool2_backward_f32(p->N * p->C[a], p->H[a], p->W[a], p->a[a], gz, ga);
            }
            break;
        case NEXP_NODE_CONCAT: {
            int b = n->src[1];
            float *gb = (b == 0 && dx == NULL) ? NULL : p->g[b];
            nexp_concat_backward_f32(p->N, p->C[a], p->C[b], (size_t)p->H[i] * p->W[i], gz, ga, gb);
            break;
        }
        case NEXP_NODE_ACT:
            if (ga != NULL) {
                for (size_t j = 0; j < sz; j++) {
                    ga[j] += gz[j];
                }
            }
            break;
        case NEXP_NODE_INPUT:
        case NEXP_NODE_COUNT_:
            break;
        }
    }
    if (dx != NULL) {
        size_t sz = node_size(p, 0);
        for (size_t j = 0; j < sz; j++) {
            dx[j] += p->g[0][j];
        }
    }
    return NEXP_OK;
}
