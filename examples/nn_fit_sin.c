/* nn_fit_sin — train a small MLP f_theta: R -> R to fit y = sin(x) on [-pi, pi] and checkpoint it.
 *
 *   minimise  L(theta) = 1/B sum_b (f_theta(x_b) - sin(x_b))^2,   x_b ~ U(-pi, pi), B = 32
 *
 * with Adam (lr 1e-2, cosine decay to 1e-4 over the total iterations), f = 1 -> 32 tanh -> 32 tanh
 * -> 1. A checkpoint (model, optimiser, step, minibatch RNG) is written atomically every 1000
 * iterations and at the end, so a run that is killed and started again with the same arguments
 * ends bit-identically to one that was never stopped:
 *
 *   nn_fit_sin sin.h5 5000        # trains, writes sin.h5; interrupt it and run it again to resume
 *   nn_fit_sin sin.h5 8000        # continues a finished run (the cosine schedule now spans 8000)
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "nexp.h"
#include "nexp_checkpoint.h"
#include "nexp_mlp.h"
#include "nexp_optim.h"

enum { BATCH = 32 };

static int fail(const char *what, const nexp_error *err)
{
    fprintf(stderr, "nn_fit_sin: %s: %s\n", what, err->msg);
    return 1;
}

static int save(const char *path, const nexp_mlp *m, const nexp_optim *opt, const nexp_rng *rng, long step,
                nexp_error *err)
{
    nexp_ckpt_state st = NEXP_CKPT_STATE_INIT;
    st.step = step;
    st.rng = rng;
    st.metadata = "examples/nn_fit_sin";
    return nexp_checkpoint_save_mlp(path, m, opt, &st, err) == NEXP_OK ? 0 : fail("save", err);
}

int main(int argc, char **argv)
{
    char *end = NULL;
    errno = 0;
    long iters = argc == 3 ? strtol(argv[2], &end, 10) : -1;
    if (argc != 3 || *end != '\0' || errno != 0 || iters < 1 || iters > 10000000) {
        fprintf(stderr, "usage: nn_fit_sin MODEL.h5 ITERATIONS   (resumes from MODEL.h5 if it exists)\n");
        return 2;
    }
    const char *path = argv[1];
    nexp_error err = NEXP_ERROR_INIT;
    nexp_mlp *m = NULL;
    nexp_optim *opt = NULL;
    nexp_mlp_workspace *ws = NULL;
    nexp_rng rng;
    long start = 0;
    if (access(path, F_OK) == 0) {
        nexp_ckpt_info info;
        if (nexp_checkpoint_load_mlp(path, &m, &opt, &info, &err) != NEXP_OK) {
            return fail("resume", &err);
        }
        start = info.step;
        rng = info.rng;
        nexp_ckpt_info_clear(&info);
        if (opt == NULL) {
            nexp_mlp_free(m);
            fprintf(stderr, "nn_fit_sin: %s holds no optimiser state\n", path);
            return 1;
        }
        opt->cfg.total_steps = iters;
        printf("resuming %s at iteration %ld\n", path, start);
    } else {
        nexp_mlp_spec spec;
        nexp_optim_config cfg = NEXP_OPTIM_CONFIG_INIT;
        cfg.lr = 1e-2;
        cfg.schedule = NEXP_SCHEDULE_COSINE;
        cfg.total_steps = iters;
        cfg.lr_min = 1e-4;
        if (nexp_mlp_spec_init(&spec, 1, 32, 2, 1, NEXP_ACT_TANH, &err) != NEXP_OK ||
            nexp_mlp_create(&spec, 2024, &m, &err) != NEXP_OK ||
            nexp_optim_create(&cfg, m->n_params, &opt, &err) != NEXP_OK) {
            nexp_mlp_free(m);
            return fail("setup", &err);
        }
        nexp_rng_seed(&rng, 7);
    }
    if (nexp_mlp_workspace_create(m, BATCH, &ws, &err) != NEXP_OK) {
        nexp_optim_free(opt);
        nexp_mlp_free(m);
        return fail("workspace", &err);
    }
    double x[BATCH], y[BATCH], v[BATCH], loss = 0.0;
    for (long it = start; it < iters; it++) {
        for (int b = 0; b < BATCH; b++) {
            x[b] = nexp_rng_range(&rng, -M_PI, M_PI);
        }
        nexp_mlp_zero_grad(m);
        nexp_mlp_forward(m, ws, BATCH, x, y, NULL);
        loss = 0.0;
        for (int b = 0; b < BATCH; b++) {
            double r = y[b] - sin(x[b]);
            loss += r * r / BATCH;
            v[b] = 2.0 * r / BATCH;
        }
        nexp_mlp_vjp(m, ws, BATCH, x, v, NULL, NULL, m->grads, NULL);
        nexp_optim_step_f64(opt, m->params, m->grads, NULL, NULL);
        if ((it + 1) % 1000 == 0 && it + 1 < iters) {
            printf("iteration %6ld  minibatch MSE %.3e  lr %.2e\n", it + 1, loss, nexp_optim_lr(&opt->cfg, it));
            if (save(path, m, opt, &rng, it + 1, &err) != 0) {
                break;
            }
        }
    }
    long step = iters > start ? iters : start;
    int rc = err.code != NEXP_OK ? 1 : save(path, m, opt, &rng, step, &err);
    if (rc == 0) {
        printf("wrote %s (step %ld, %zu parameters, last minibatch MSE %.3e)\n", path, step, m->n_params, loss);
    }
    nexp_mlp_workspace_free(ws);
    nexp_optim_free(opt);
    nexp_mlp_free(m);
    return rc;
}
