/* Training neural ODEs: windows or whole trajectories, parallel solves, optimiser steps. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexp_node_train.h"

/* Training stops with an error after this many consecutive iterations in which every solve failed. */
#define NODE_MAX_FAILED_ITERS 20

void nexp_node_train_state_free(nexp_node_train_state *st)
{
    if (st != NULL) {
        nexp_optim_free(st->optim);
        free(st);
    }
}

/* One ODE solve of the iteration: B trajectories on a relative grid t (nt, t[0] = 0) shifted by
 * toff (B) for the physics. */
typedef struct solve_job {
    int B, nt;
    double *t, *y0, *yobs, *toff;
    double loss;
    nexp_status status;
    char msg[NEXP_ERROR_MSG_MAX];
} solve_job;

typedef struct train_ctx {
    nexp_node *m;
    const nexp_series *data;
    int n_threads;
    nexp_node_work **works; /* one per thread */
    solve_job *jobs;
    int n_jobs, max_jobs;
    double *grads;          /* (max_jobs, n_params) */
    double *gsum;           /* (n_params) */
    double *buf;            /* storage of the jobs' arrays */
} train_ctx;

static void ctx_free(train_ctx *c)
{
    for (int i = 0; c->works != NULL && i < c->n_threads; i++) {
        nexp_node_work_free(c->works[i]);
    }
    free(c->works);
    free(c->jobs);
    free(c->grads);
    free(c->gsum);
    free(c->buf);
}

/* Fills job j's arrays for rows [s, s + len) of group g as trajectory b of the job. */
static void put_window(const nexp_series *d, int g, long s, int len, solve_job *job, int b)
{
    const int n = d->n_states;
    long r0 = d->group_start[g] + s;
    double ts = d->t[r0];
    if (b == 0) {
        for (int i = 0; i < len; i++) {
            job->t[i] = d->t[r0 + i] - ts;
        }
    }
    job->toff[b] = ts;
    memcpy(job->y0 + (size_t)b * n, d->y + (size_t)r0 * n, (size_t)n * sizeof(double));
    for (int i = 0; i < len; i++) {
        memcpy(job->yobs + ((size_t)i * job->B + b) * n, d->y + (size_t)(r0 + i) * n, (size_t)n * sizeof(double));
    }
}

static int same_grid(const nexp_series *d, int g1, long s1, int g2, long s2, int len)
{
    const double *a = d->t + d->group_start[g1] + s1, *b = d->t + d->group_start[g2] + s2;
    double span = fabs(a[len - 1] - a[0]) + 1e-300;
    for (int i = 1; i < len; i++) {
        if (fabs((a[i] - a[0]) - (b[i] - b[0])) > 1e-9 * span) {
            return 0;
        }
    }
    return 1;
}

/* Windows of this iteration (or whole trajectories) into c->jobs. */
static void plan_jobs(train_ctx *c, const nexp_node_train_options *o, nexp_rng *rng, const long *n_windows,
                      long total_windows)
{
    const nexp_series *d = c->data;
    const int n = d->n_states;
    double *p = c->buf;
    c->n_jobs = 0;
    if (o->batch == 0) {
        for (int g = 0; g < d->n_groups; g++) {
            solve_job *job = &c->jobs[c->n_jobs++];
            int len = (int)nexp_series_rows(d, g);
            job->B = 1;
            job->nt = len;
            job->t = p;
            job->toff = p + len;
            job->y0 = job->toff + 1;
            job->yobs = job->y0 + n;
            p = job->yobs + (size_t)len * n;
            put_window(d, g, 0, len, job, 0);
        }
        return;
    }
    int gs[4096];
    long ss[4096];
    const int W = o->window, Bw = o->batch;
    for (int b = 0; b < Bw; b++) {
        long k = (long)nexp_rng_below(rng, (uint64_t)total_windows);
        int g = 0;
        while (k >= n_windows[g]) {
            k -= n_windows[g++];
        }
        gs[b] = g;
        ss[b] = k;
    }
    int stack = 1;
    for (int b = 1; b < Bw && stack; b++) {
        stack = same_grid(d, gs[0], ss[0], gs[b], ss[b], W);
    }
    int njobs = stack ? 1 : Bw, per = stack ? Bw : 1;
    for (int j = 0; j < njobs; j++) {
        solve_job *job = &c->jobs[c->n_jobs++];
        job->B = per;
        job->nt = W;
        job->t = p;
        job->toff = p + W;
        job->y0 = job->toff + per;
        job->yobs = job->y0 + (size_t)per * n;
        p = job->yobs + (size_t)W * per * n;
        for (int b = 0; b < per; b++) {
            put_window(d, gs[j * per + b], ss[j * per + b], W, job, b);
        }
    }
}

static void run_jobs(train_ctx *c, const nexp_node_train_options *o)
{
    const int np = c->m->n_params;
#pragma omp parallel for schedule(dynamic) num_threads(c->n_threads)
    for (int j = 0; j < c->n_jobs; j++) {
        solve_job *job = &c->jobs[j];
        nexp_node_work *w = c->works[omp_get_thread_num()];
        nexp_node_batch b = { job->B, job->nt, job->t, job->y0, job->yobs, job->toff };
        nexp_error err = NEXP_ERROR_INIT;
        job->status = nexp_node_loss_grad(c->m, w, &b, o->loss, &o->grad, &job->loss, c->grads + (size_t)j * np,
                                          NULL, NULL, &err);
        snprintf(job->msg, sizeof job->msg, "%s", err.msg);
        if (job->status == NEXP_OK && !isfinite(job->loss)) {
            job->status = NEXP_ERR_NONFINITE;
            snprintf(job->msg, sizeof job->msg, "non-finite loss");
        }
    }
}

static nexp_status check_data(const nexp_node *m, const nexp_series *d, const nexp_node_train_options *o,
                              nexp_error *err)
{
    if (d == NULL || d->n_states != m->n) {
        return nexp_error_set(err, NEXP_ERR_MISMATCH, "node: the data has %d states, the model %d",
                              d ? d->n_states : 0, m->n);
    }
    if (o->iters < 0 || o->batch < 0 || o->batch > 4096 || (o->batch > 0 && o->window < 2)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "node: need iters >= 0, batch in 0..4096 and window >= 2");
    }
    return NEXP_OK;
}

nexp_status nexp_node_train(nexp_node *model, const nexp_series *data, const nexp_node_train_options *o,
                            nexp_node_train_state **state, nexp_error *err)
{
    if (model == NULL || o == NULL || state == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "node: train needs a model, options and a state pointer");
    }
    nexp_status st = check_data(model, data, o, err);
    if (st != NEXP_OK) {
        return st;
    }
    const int n = model->n, np = model->n_params;
    long *n_windows = calloc((size_t)data->n_groups, sizeof *n_windows);
    long total_windows = 0;
    if (n_windows == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "node: out of memory");
    }
    for (int g = 0; o->batch > 0 && g < data->n_groups; g++) {
        long r = nexp_series_rows(data, g);
        n_windows[g] = r >= o->window ? r - o->window + 1 : 0;
        total_windows += n_windows[g];
    }
    if (o->batch > 0 && total_windows == 0) {
        free(n_windows);
        return nexp_error_set(err, NEXP_ERR_ARG, "node: no trajectory has %d observations for a window", o->window);
    }
    nexp_node_train_state *s = *state;
    int fresh = s == NULL;
    if (fresh) {
        s = calloc(1, sizeof *s);
        if (s == NULL || nexp_optim_create(&o->optim, (size_t)np, &s->optim, err) != NEXP_OK) {
            free(n_windows);
            free(s);
            return nexp_error_set(err, NEXP_ERR_NOMEM, "node: cannot create the optimiser");
        }
        nexp_rng_seed(&s->rng, o->seed);
        *state = s;
    } else if (s->optim == NULL || s->optim->n != (size_t)np) {
        free(n_windows);
        return nexp_error_set(err, NEXP_ERR_MISMATCH, "node: the training state does not fit the model (%d params)",
                              np);
    }

    train_ctx c = { 0 };
    c.m = model;
    c.data = data;
    c.n_threads = omp_get_max_threads();
    c.max_jobs = o->batch > 0 ? o->batch : data->n_groups;
    int max_b = o->batch > 0 ? o->batch : 1;
    size_t nbuf = o->batch > 0 ? (size_t)o->batch * (o->window + 1 + (size_t)(o->window + 1) * n) + 1
                               : (size_t)data->n_rows * (1 + n) + (size_t)data->n_groups * (2 + n) + 1;
    nbuf += (size_t)c.max_jobs * (o->window + 2);
    c.works = calloc((size_t)c.n_threads, sizeof *c.works);
    c.jobs = calloc((size_t)c.max_jobs, sizeof *c.jobs);
    c.grads = malloc((size_t)c.max_jobs * np * sizeof *c.grads);
    c.gsum = malloc((size_t)np * sizeof *c.gsum);
    c.buf = malloc(nbuf * sizeof *c.buf);
    if (c.works == NULL || c.jobs == NULL || c.grads == NULL || c.gsum == NULL || c.buf == NULL) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "node: out of memory");
        goto done;
    }
    for (int i = 0; i < c.n_threads; i++) {
        if ((st = nexp_node_work_create(model, max_b, &c.works[i], err)) != NEXP_OK) {
            goto done;
        }
    }
    int all_failed_run = 0;
    char last_failure[NEXP_ERROR_MSG_MAX] = "";
    while (s->iter < o->iters) {
        plan_jobs(&c, o, &s->rng, n_windows, total_windows);
        run_jobs(&c, o);
        double wsum = 0.0, lsum = 0.0;
        int failed = 0;
        const char *failure = NULL;
        memset(c.gsum, 0, (size_t)np * sizeof *c.gsum);
        for (int j = 0; j < c.n_jobs; j++) {
            const solve_job *job = &c.jobs[j];
            if (job->status != NEXP_OK) {
                failed++;
                failure = job->msg;
                continue;
            }
            wsum += job->B;
            lsum += job->B * job->loss;
            const double *g = c.grads + (size_t)j * np;
            for (int k = 0; k < np; k++) {
                c.gsum[k] += job->B * g[k];
            }
        }
        double gnorm = NAN, lr = nexp_optim_lr(&s->optim->cfg, s->optim->step);
        if (wsum > 0.0) {
            for (int k = 0; k < np; k++) {
                c.gsum[k] /= wsum;
            }
            nexp_error oe = NEXP_ERROR_INIT;
            if (nexp_optim_step_f64(s->optim, model->params, c.gsum, &gnorm, &oe) != NEXP_OK) {
                failed = c.n_jobs;
                failure = "non-finite gradient: update skipped";
            }
        }
        s->iter++;
        s->failed += failed;
        all_failed_run = failed == c.n_jobs ? all_failed_run + 1 : 0;
        if (failure != NULL) {
            snprintf(last_failure, sizeof last_failure, "%s", failure);
        }
        s->loss = wsum > 0.0 ? lsum / wsum : NAN;
        if (o->on_iter != NULL) {
            nexp_node_iter_info info = { s->iter, o->iters, s->loss, gnorm, lr, c.n_jobs, failed, failure };
            if (o->on_iter(&info, o->user) != 0) {
                st = nexp_error_set(err, NEXP_ERR_INTERRUPTED, "node: training stopped at iteration %ld", s->iter);
                break;
            }
        }
        if (all_failed_run >= NODE_MAX_FAILED_ITERS) {
            st = nexp_error_set(err, NEXP_ERR_SOLVER,
                                "node: every solve failed in %d consecutive iterations (last: %s); try smaller "
                                "initial network output (net_scale), a smaller learning rate or looser tolerances",
                                NODE_MAX_FAILED_ITERS, last_failure);
            break;
        }
        if (o->ckpt_path != NULL && o->ckpt_every > 0 && s->iter % o->ckpt_every == 0 && s->iter < o->iters &&
            (st = nexp_node_save(o->ckpt_path, model, s, data, err)) != NEXP_OK) {
            goto done;
        }
    }
    if (o->ckpt_path != NULL) {
        nexp_status st2 = nexp_node_save(o->ckpt_path, model, s, data, st == NEXP_OK ? err : NULL);
        if (st == NEXP_OK) {
            st = st2;
        }
    }
done:
    ctx_free(&c);
    free(n_windows);
    return st;
}

nexp_status nexp_node_evaluate(const nexp_node *model, const nexp_series *data, nexp_node_loss loss,
                               const nexp_ode_options *ode, double *mean_loss, int *failed, nexp_error *err)
{
    if (model == NULL || data == NULL || ode == NULL || data->n_states != model->n) {
        return nexp_error_set(err, NEXP_ERR_MISMATCH, "node: evaluate needs a model and data with %d states",
                              model ? model->n : 0);
    }
    const int n = model->n;
    long max_rows = 0;
    for (int g = 0; g < data->n_groups; g++) {
        long r = nexp_series_rows(data, g);
        max_rows = r > max_rows ? r : max_rows;
    }
    double *Y = malloc((size_t)max_rows * n * sizeof *Y);
    nexp_node_work *w = NULL;
    nexp_status st = nexp_node_work_create(model, 1, &w, err);
    if (Y == NULL || st != NEXP_OK) {
        free(Y);
        nexp_node_work_free(w);
        return st != NEXP_OK ? st : nexp_error_set(err, NEXP_ERR_NOMEM, "node: out of memory");
    }
    double total = 0.0;
    int ok = 0, bad = 0;
    for (int g = 0; g < data->n_groups; g++) {
        long r0 = data->group_start[g], len = nexp_series_rows(data, g);
        nexp_error e = NEXP_ERROR_INIT;
        if (nexp_node_predict(model, w, data->t[r0], data->y + (size_t)r0 * n, (int)len, data->t + r0, ode, Y, &e) !=
            NEXP_OK) {
            bad++;
            continue;
        }
        double acc = 0.0;
        for (long i = 0; i < len * n; i++) {
            double r = (Y[i] - data->y[(size_t)r0 * n + i]) / model->sigma[i % n];
            acc += loss == NEXP_NODE_LOSS_L1 ? fabs(r) : r * r;
        }
        total += acc / (double)(len * n);
        ok++;
    }
    free(Y);
    nexp_node_work_free(w);
    if (failed != NULL) {
        *failed = bad;
    }
    if (ok == 0) {
        return nexp_error_set(err, NEXP_ERR_SOLVER, "node: every trajectory failed to solve");
    }
    *mean_loss = total / ok;
    return NEXP_OK;
}

nexp_status nexp_node_normalise_from(nexp_node *model, const nexp_series *data, nexp_error *err)
{
    if (model == NULL || data == NULL || data->n_states != model->n || data->n_rows < 1) {
        return nexp_error_set(err, NEXP_ERR_MISMATCH, "node: normalisation needs data with the model's states");
    }
    const int n = model->n;
    double mu[64], sd[64];
    if (n > 64) {
        return nexp_error_set(err, NEXP_ERR_TOO_LARGE, "node: normalisation supports up to 64 states");
    }
    for (int k = 0; k < n; k++) {
        double s = 0.0, s2 = 0.0;
        for (long r = 0; r < data->n_rows; r++) {
            s += data->y[(size_t)r * n + k];
        }
        mu[k] = s / data->n_rows;
        for (long r = 0; r < data->n_rows; r++) {
            double d = data->y[(size_t)r * n + k] - mu[k];
            s2 += d * d;
        }
        sd[k] = sqrt(s2 / data->n_rows);
        if (!(sd[k] > 1e-8 * fmax(1.0, fabs(mu[k])))) {
            sd[k] = fmax(1.0, fabs(mu[k]));
        }
    }
    if (model->time_input) {
        double tm = 0.0, tv = 0.0;
        for (long r = 0; r < data->n_rows; r++) {
            tm += data->t[r];
        }
        tm /= data->n_rows;
        for (long r = 0; r < data->n_rows; r++) {
            tv += (data->t[r] - tm) * (data->t[r] - tm);
        }
        tv = sqrt(tv / data->n_rows);
        nexp_status st = nexp_node_set_time_normalisation(model, tm, tv > 0.0 ? tv : 1.0, err);
        if (st != NEXP_OK) {
            return st;
        }
    }
    return nexp_node_set_normalisation(model, mu, sd, err);
}
