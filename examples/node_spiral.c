/* The classic neural-ODE spiral demo (Chen et al. 2018, torchdiffeq's ode_demo):
 *
 *   data:  dy/dt = (y^3) A,  A = [[-0.1, 2], [-2, -0.1]],  y(0) = (2, 0),  1000 points on [0, 25]
 *   model: dy/dt = f_theta(y^3),  f_theta an MLP 2 -> 50 (tanh) -> 2
 *   fit:   20 windows of 10 consecutive points per iteration, stacked into one ODE system of 40
 *          states, L1 loss, RMSprop lr 1e-3, 2000 iterations
 *
 * Usage: node_spiral [ITERS] [GRADIENT] [SEED]     (GRADIENT: adjoint | backprop | backprop-rk4 | forward)
 * Prints the loss every 100 iterations, then wall and CPU seconds per iteration and the test loss: the mean
 * absolute error of the whole trajectory predicted from y(0) (the same number bench/ compares).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "nexp.h"
#include "nexp_node_train.h"

static int report(const nexp_node_iter_info *info, void *user)
{
    (void)user;
    if (info->iter % 100 == 0 || info->failed > 0) {
        printf("iter %5ld  loss %.6f%s%s\n", info->iter, info->loss, info->failure ? "  (failed solve: " : "",
               info->failure ? info->failure : "");
        if (info->failure) {
            printf(")\n");
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 2000;
    const char *grad = argc > 2 ? argv[2] : "backprop";
    uint64_t seed = argc > 3 ? (uint64_t)atoll(argv[3]) : 0;
    nexp_error err = NEXP_ERROR_INIT;
    nexp_set_threads(1);

    /* the data: the true spiral solved tightly with CVODE */
    double A[4] = { -0.1, 2.0, -2.0, -0.1 }, y0[2] = { 2.0, 0.0 };
    enum { N = 1000 };
    static double t[N], Y[N * 2];
    for (int i = 0; i < N; i++) {
        t[i] = 25.0 * i / (N - 1);
    }
    nexp_ode_system truth;
    nexp_ode_builtin_system("spiral", A, &truth, &err);
    nexp_ode_options so = NEXP_ODE_OPTIONS_INIT;
    so.method = NEXP_ODE_ADAMS;
    so.rtol = 1e-10;
    so.atol = 1e-10;
    if (nexp_ode_solve(&truth, &so, 0.0, y0, N, t, Y, NULL, &err) != NEXP_OK) {
        fprintf(stderr, "node_spiral: %s\n", err.msg);
        return 1;
    }
    nexp_series data = { 0 };
    long starts[2] = { 0, N };
    char *names[2] = { "y1", "y2" }, *groups[1] = { "spiral" };
    data.n_states = 2;
    data.n_groups = 1;
    data.n_rows = N;
    data.time_name = "t";
    data.state_names = names;
    data.group_names = groups;
    data.group_start = starts;
    data.t = t;
    data.y = Y;

    nexp_node_spec spec = NEXP_NODE_SPEC_INIT;
    spec.n = 2;
    spec.hidden = 50;
    spec.input = NEXP_NODE_INPUT_CUBE;
    nexp_node *model = NULL;
    if (nexp_node_create(&spec, seed, &model, &err) != NEXP_OK) {
        fprintf(stderr, "node_spiral: %s\n", err.msg);
        return 1;
    }
    nexp_node_train_options o = NEXP_NODE_TRAIN_OPTIONS_INIT;
    if (nexp_ode_grad_method_parse(grad, &o.grad.method, &err) != NEXP_OK) {
        fprintf(stderr, "node_spiral: %s\n", err.msg);
        return 2;
    }
    o.grad.ode.rtol = 1e-7;
    o.grad.ode.atol = 1e-9;
    o.iters = iters;
    o.batch = 20;
    o.window = 10;
    o.loss = NEXP_NODE_LOSS_L1;
    o.optim.kind = NEXP_OPTIM_RMSPROP;
    o.optim.lr = 1e-3;
    o.seed = seed;
    o.on_iter = report;
    nexp_node_train_state *st = NULL;
    double start = nexp_time_now();
    clock_t cpu0 = clock();
    if (nexp_node_train(model, &data, &o, &st, &err) != NEXP_OK) {
        fprintf(stderr, "node_spiral: %s\n", err.msg);
        return 1;
    }
    double secs = nexp_time_now() - start, test = 0.0;
    double cpu = (double)(clock() - cpu0) / CLOCKS_PER_SEC;
    if (nexp_node_evaluate(model, &data, NEXP_NODE_LOSS_L1, &o.grad.ode, &test, NULL, &err) != NEXP_OK) {
        fprintf(stderr, "node_spiral: %s\n", err.msg);
        return 1;
    }
    printf("gradient %s: %ld iterations in %.3f s wall (%.3g s/iteration), %.3f s CPU (%.3g s/iteration), "
           "test loss (mean |error| over the trajectory) %.5f\n",
           grad, iters, secs, secs / (iters > 0 ? iters : 1), cpu, cpu / (iters > 0 ? iters : 1), test);
    nexp_node_train_state_free(st);
    nexp_node_free(model);
    return 0;
}
