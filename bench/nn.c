/* bench/nn.c — forward + backward time of nexp's networks (compare: bench/nn_torch.py, run both
 * with bench/run_nn.sh).
 *
 * (a) MLP 2 -> 50 -> 2, tanh, batch 20 (the neural-ODE size): one nexp_mlp_vjp call, which runs the
 *     forward pass (returning y) and the VJP with respect to the input and all parameters (what
 *     y = f(x); y.backward(v) computes in PyTorch).
 * (b) U-Net, widths 12-24-48 (depth 2, ~50 k parameters), ReLU, replicate padding, bilinear
 *     upsampling, one 4-channel head, on a (4, 3, 128, 128) batch: forward, then backward with
 *     respect to all parameters.
 *
 * (c) The same U-Net, forward only, on one 3 x 436 x 1024 image (Sintel size; inference in the
 *     learned inpainting model). No PyTorch peer.
 *
 * Usage: nn [--threads T] [--quick] [--only mlp|unet|infer]. Prints one line per case: name, parameters, time per
 * forward + backward (best of 5 repetitions of the mean over many calls).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nexp_core.h"
#include "nexp_mlp.h"
#include "nexp_net.h"
#include "nexp_rng.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what, const nexp_error *err)
{
    fprintf(stderr, "bench nn: %s: %s\n", what, err->msg);
    exit(1);
}

static double bench_mlp(int reps)
{
    nexp_error err = NEXP_ERROR_INIT;
    nexp_mlp_spec spec;
    nexp_mlp *m = NULL;
    nexp_mlp_workspace *ws = NULL;
    if (nexp_mlp_spec_init(&spec, 2, 50, 1, 2, NEXP_ACT_TANH, &err) != NEXP_OK ||
        nexp_mlp_create(&spec, 1, &m, &err) != NEXP_OK || nexp_mlp_workspace_create(m, 20, &ws, &err) != NEXP_OK) {
        die("mlp", &err);
    }
    double x[40], y[40], v[40], dx[40];
    nexp_rng rng;
    nexp_rng_seed(&rng, 2);
    for (int i = 0; i < 40; i++) {
        x[i] = nexp_rng_normal(&rng);
        v[i] = nexp_rng_normal(&rng);
    }
    double best = 1e30;
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        for (int i = 0; i < reps; i++) {
            memset(dx, 0, sizeof dx);
            nexp_mlp_zero_grad(m);
            nexp_mlp_vjp(m, ws, 20, x, v, y, dx, m->grads, NULL); /* forward (y) and backward */
        }
        double t = (now() - t0) / reps;
        best = t < best ? t : best;
    }
    printf("mlp 2-50-2 tanh batch 20   params %6zu   %10.2f us per forward+backward\n", m->n_params, best * 1e6);
    nexp_mlp_workspace_free(ws);
    nexp_mlp_free(m);
    return best;
}

/* The benchmarked U-Net (widths 12-24-48, 3 in, 4 out channels) and its plan for N x H x W. */
static void make_unet(int N, int H, int W, nexp_net **net, nexp_net_plan **plan, const char *what)
{
    nexp_error err = NEXP_ERROR_INIT;
    nexp_unet_config u = NEXP_UNET_CONFIG_INIT;
    u.widths[0] = 12, u.widths[1] = 24, u.widths[2] = 48;
    u.out_channels = 4;
    nexp_net_spec spec;
    if (nexp_unet_spec(&u, &spec, &err) != NEXP_OK || nexp_net_create(&spec, 1, net, &err) != NEXP_OK ||
        nexp_net_plan_create(*net, N, H, W, plan, &err) != NEXP_OK) {
        die(what, &err);
    }
}

static double bench_unet(int reps)
{
    const int N = 4, H = 128, W = 128;
    nexp_net *net = NULL;
    nexp_net_plan *plan = NULL;
    make_unet(N, H, W, &net, &plan, "unet");
    size_t nx = (size_t)N * 3 * H * W, ny = (size_t)N * 4 * H * W;
    float *x = malloc(nx * sizeof *x), *d = malloc(ny * sizeof *d);
    nexp_rng rng;
    nexp_rng_seed(&rng, 3);
    for (size_t i = 0; i < nx; i++) {
        x[i] = (float)nexp_rng_uniform(&rng);
    }
    for (size_t i = 0; i < ny; i++) {
        d[i] = (float)nexp_rng_normal(&rng) / (float)ny;
    }
    const float *douts[1] = { d };
    double best = 1e30;
    nexp_net_forward(net, plan, x, NULL); /* warm-up */
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        for (int i = 0; i < reps; i++) {
            nexp_net_forward(net, plan, x, NULL);
            nexp_net_zero_grad(net);
            nexp_net_backward(net, plan, douts, NULL, net->grads, NULL);
        }
        double t = (now() - t0) / reps;
        best = t < best ? t : best;
    }
    printf("unet 12-24-48 on 4x3x128x128 params %6zu   %10.2f ms per forward+backward\n", net->n_params, best * 1e3);
    free(x);
    free(d);
    nexp_net_plan_free(plan);
    nexp_net_free(net);
    return best;
}

static void bench_infer(int reps)
{
    const int H = 436, W = 1024;
    nexp_net *net = NULL;
    nexp_net_plan *plan = NULL;
    make_unet(1, H, W, &net, &plan, "unet inference");
    size_t nx = (size_t)3 * H * W;
    float *x = malloc(nx * sizeof *x);
    nexp_rng rng;
    nexp_rng_seed(&rng, 4);
    for (size_t i = 0; i < nx; i++) {
        x[i] = (float)nexp_rng_uniform(&rng);
    }
    nexp_net_forward(net, plan, x, NULL);
    double best = 1e30;
    for (int r = 0; r < 3; r++) {
        double t0 = now();
        for (int i = 0; i < reps; i++) {
            nexp_net_forward(net, plan, x, NULL);
        }
        double t = (now() - t0) / reps;
        best = t < best ? t : best;
    }
    printf("unet 12-24-48 forward only on 1x3x436x1024      %10.2f ms\n", best * 1e3);
    free(x);
    nexp_net_plan_free(plan);
    nexp_net_free(net);
}

int main(int argc, char **argv)
{
    int threads = 1, quick = 0;
    const char *only = "";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--quick") == 0) {
            quick = 1;
        } else {
            fprintf(stderr, "usage: nn [--threads T] [--quick] [--only mlp|unet|infer]\n");
            return 2;
        }
    }
    nexp_set_threads(threads);
    printf("nexp nn benchmark, %d thread(s)\n", threads);
    if (*only == '\0' || strcmp(only, "mlp") == 0) {
        bench_mlp(quick ? 2000 : 20000);
    }
    if (*only == '\0' || strcmp(only, "unet") == 0) {
        bench_unet(quick ? 1 : 3);
    }
    if (*only == '\0' || strcmp(only, "infer") == 0) {
        bench_infer(quick ? 1 : 3);
    }
    return 0;
}
