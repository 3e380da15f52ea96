#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexp_flowmetrics.h"
#include "nexp_inpaint.h"
#include "nexp_learned_train.h"

void nexp_trainer_free(nexp_trainer *t)
{
    if (t == NULL) {
        return;
    }
    for (int i = 0; i < t->n_val; i++) {
        nexp_flow_sample_clear(&t->val[i]);
    }
    free(t->val);
    nexp_learned_free(t->model);
    nexp_optim_free(t->optim);
    nexp_flowdata_free(t->data);
    free(t->data_name);
    free(t);
}

static nexp_optim_config optim_config(const nexp_train_options *o)
{
    nexp_optim_config c = NEXP_OPTIM_CONFIG_INIT;
    c.kind = NEXP_OPTIM_ADAM;
    c.lr = o->lr;
    c.clip_norm = 1.0;
    c.schedule = NEXP_SCHEDULE_COSINE;
    c.total_steps = o->iters;
    c.lr_min = 0.05 * o->lr;
    return c;
}

static nexp_status check_options(const nexp_train_options *o, nexp_error *err)
{
    if (o->batch < 1 || o->batch > 1024 || o->iters < 1 || !(o->lr > 0.0 && o->lr < 1.0) || o->val_count < 0 ||
        o->val_count > 1000 || o->val_size < 8 || o->sample.crop < 8) {
        return nexp_error_set(err, NEXP_ERR_ARG,
                              "training options: batch %d (1..1024), iters %ld (>= 1), lr %g (0..1), validation "
                              "%d samples (0..1000) of size %d (>= 8), crop %d (>= 8)",
                              o->batch, o->iters, o->lr, o->val_count, o->val_size, o->sample.crop);
    }
    if (!(o->sample.density_min > 0.0 && o->sample.density_min <= o->sample.density_max &&
          o->sample.density_max <= 1.0)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "mask density range %g:%g: need 0 < min <= max <= 1",
                              o->sample.density_min, o->sample.density_max);
    }
    return NEXP_OK;
}

/* Everything but the model, the optimiser state and the RNG. */
static nexp_status trainer_base(nexp_trainer **out, const nexp_train_options *opt, nexp_error *err)
{
    *out = NULL;
    nexp_status st = check_options(opt, err);
    if (st != NEXP_OK) {
        return st;
    }
    nexp_trainer *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory creating a trainer");
    }
    t->opt = *opt;
    t->data_name = strdup(opt->data != NULL ? opt->data : "synthetic");
    if (t->data_name == NULL) {
        free(t);
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory creating a trainer");
    }
    t->opt.data = t->data_name;
    if ((st = nexp_flowdata_open(&t->data, t->data_name, err)) != NEXP_OK ||
        (st = nexp_flowdata_set_thin(t->data, opt->thin, err)) != NEXP_OK) {
        goto fail;
    }
    t->opt.init = NULL; /* used once, by nexp_trainer_create */
    if (opt->val_count > 0) {
        t->val = calloc((size_t)opt->val_count, sizeof *t->val);
        if (t->val == NULL) {
            st = nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory for the validation set");
            goto fail;
        }
        nexp_flowdata *synth = NULL;
        nexp_scene_options vo = NEXP_SCENE_OPTIONS_INIT;
        vo.edges = strcmp(t->data_name, "synthetic-edges") == 0;
        if ((st = nexp_flowdata_open_synthetic(&synth, &vo, err)) != NEXP_OK) {
            goto fail;
        }
        nexp_rng vr;
        nexp_rng_seed_stream(&vr, opt->val_seed, 1);
        nexp_sample_options so = opt->sample;
        so.crop = opt->val_size;
        so.flips = 0;
        for (int i = 0; i < opt->val_count && st == NEXP_OK; i++) {
            st = nexp_flowdata_draw(synth, &so, &vr, &t->val[i], err);
            if (st == NEXP_OK) {
                t->n_val++;
            }
        }
        nexp_flowdata_free(synth);
        if (st != NEXP_OK) {
            goto fail;
        }
    }
    *out = t;
    return NEXP_OK;
fail:
    nexp_trainer_free(t);
    return st;
}

nexp_status nexp_trainer_create(nexp_trainer **out, const nexp_train_options *opt, nexp_error *err)
{
    nexp_trainer *t = NULL;
    nexp_status st = trainer_base(&t, opt, err);
    if (st != NEXP_OK) {
        *out = NULL;
        return st;
    }
    nexp_optim_config oc = optim_config(&t->opt);
    st = opt->init != NULL ? nexp_learned_load(&t->model, opt->init, err)
                           : nexp_learned_create(&t->model, &opt->spec, opt->seed, err);
    if (st == NEXP_OK) {
        t->opt.spec = t->model->spec;
    }
    if (st != NEXP_OK || (st = nexp_optim_create(&oc, t->model->n_params, &t->optim, err)) != NEXP_OK) {
        nexp_trainer_free(t);
        *out = NULL;
        return st;
    }
    nexp_rng_seed_stream(&t->rng, opt->seed, 0);
    *out = t;
    return NEXP_OK;
}

int nexp_trainer_batch_threads(const nexp_trainer *t)
{
    return omp_get_max_threads() < t->opt.batch ? omp_get_max_threads() : t->opt.batch;
}

/* The batch's samples, drawn in order from the trainer's stream, are split into T contiguous parts
 * (T = threads, at most B). Part 0 accumulates its gradient into the model's, part k > 0 into its
 * own buffer, added in part order afterwards: for a given thread count the sum is always formed the
 * same way, and on one thread it is the plain sample-by-sample accumulation. */
nexp_status nexp_trainer_step(nexp_trainer *t, double *loss, double *epe, nexp_error *err)
{
    const int B = t->opt.batch, T = nexp_trainer_batch_threads(t);
    const size_t np = t->model->n_params;
    nexp_flow_sample *s = calloc((size_t)B, sizeof *s);
    double *le = calloc(2 * (size_t)B, sizeof *le);
    nexp_error *errs = calloc((size_t)B, sizeof *errs);
    float *part_grads = T > 1 ? calloc((size_t)(T - 1) * np, sizeof *part_grads) : NULL;
    nexp_status st = NEXP_OK;
    if (s == NULL || le == NULL || errs == NULL || (T > 1 && part_grads == NULL)) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory for a training batch");
        goto done;
    }
    for (int b = 0; b < B; b++) {
        if ((st = nexp_flowdata_draw(t->data, &t->opt.sample, &t->rng, &s[b], err)) != NEXP_OK) {
            goto done;
        }
    }
    nexp_learned_zero_grads(t->model);
#pragma omp parallel num_threads(T) if (T > 1)
    for (int k = omp_get_thread_num(); k < T; k += omp_get_num_threads()) {
        nexp_learned part = *t->model;
        if (k > 0) {
            part.grads = part_grads + (size_t)(k - 1) * np;
        }
        for (int b = k * B / T; b < (k + 1) * B / T; b++) {
            errs[b].code = nexp_learned_loss_grad(&part, s[b].image, s[b].flow, s[b].mask, 1.0 / B, &le[2 * b],
                                                  &le[2 * b + 1], &errs[b]);
            if (errs[b].code != NEXP_OK) {
                break;
            }
        }
    }
    double sl = 0.0, se = 0.0;
    for (int b = 0; b < B; b++) {
        if (errs[b].code != NEXP_OK) {
            st = errs[b].code;
            if (err != NULL) {
                *err = errs[b];
            }
            goto done;
        }
        sl += le[2 * b];
        se += le[2 * b + 1];
    }
    for (int k = 1; k < T; k++) {
        const float *g = part_grads + (size_t)(k - 1) * np;
        for (size_t i = 0; i < np; i++) {
            t->model->grads[i] += g[i];
        }
    }
    if (loss != NULL) {
        *loss = sl / B;
    }
    if (epe != NULL) {
        *epe = se / B;
    }
    t->iter++;
    st = nexp_optim_step_f32(t->optim, t->model->params, t->model->grads, NULL, err);
done:
    for (int b = 0; s != NULL && b < B; b++) {
        nexp_flow_sample_clear(&s[b]);
    }
    free(s);
    free(le);
    free(errs);
    free(part_grads);
    return st;
}

nexp_status nexp_trainer_validate(nexp_trainer *t, double *epe_model, double *epe_homogeneous, nexp_error *err)
{
    double sm = 0.0, sh = 0.0;
    if (t->n_val == 0) {
        return nexp_error_set(err, NEXP_ERR_EMPTY, "the trainer has no validation samples");
    }
    nexp_inpaint_options ho = nexp_inpaint_defaults(NEXP_INPAINT_HOMOGENEOUS);
    for (int i = 0; i < t->n_val; i++) {
        const nexp_flow_sample *s = &t->val[i];
        nexp_field *est = NULL;
        nexp_flow_errors fe;
        nexp_status st = nexp_learned_inpaint(t->model, s->image, s->flow, s->mask, &est, err);
        if (st == NEXP_OK) {
            st = nexp_flow_errors_compute(est, s->flow, NULL, &fe, err);
        }
        nexp_field_free(est);
        est = NULL;
        if (st != NEXP_OK) {
            return st;
        }
        sm += fe.all.epe;
        if (epe_homogeneous != NULL) {
            st = nexp_inpaint(s->flow, s->mask, NULL, &ho, &est, NULL, err);
            if (st == NEXP_OK) {
                st = nexp_flow_errors_compute(est, s->flow, NULL, &fe, err);
            }
            nexp_field_free(est);
            if (st != NEXP_OK) {
                return st;
            }
            sh += fe.all.epe;
        }
    }
    if (epe_model != NULL) {
        *epe_model = sm / t->n_val;
    }
    if (epe_homogeneous != NULL) {
        *epe_homogeneous = sh / t->n_val;
    }
    return NEXP_OK;
}

nexp_status nexp_trainer_save(const nexp_trainer *t, const char *path, nexp_error *err)
{
    nexp_h5_file *h = NULL;
    nexp_status st = nexp_h5_create(&h, path, err);
    const nexp_train_options *o = &t->opt;
    size_t n = t->optim->n, four = NEXP_RNG_STATE_WORDS;
    if (st == NEXP_OK && (st = nexp_learned_put(t->model, h, err)) == NEXP_OK &&
        (st = nexp_h5_write_attr_string(h, "train", "data", o->data, err)) == NEXP_OK &&
        (st = nexp_h5_write_attr_int64(h, "train", "iter", t->iter, err)) == NEXP_OK &&
        (st = nexp_h5_write_attr_int64(h, "train", "iters", o->iters, err)) == NEXP_OK &&
        (st = nexp_h5_write_attr_int64(h, "train", "batch", o->batch, err)) == NEXP_OK &&
        (st = nexp_h5_write_attr_int64(h, "train", "crop", o->sample.crop, err)) == NEXP_OK &&
        (st = nexp_h5_write_attr_int64(h, "train", "flips", o->sample.flips, err)) == NEXP_OK &&
        (st = nexp_h5_write_attr_int64(h, "train", "photometric", o->sample.photometric, err)) == NEXP_OK &&
        (st = nexp_h5_write_attr_double(h, "train", "thin", o->thin, err)) == NEXP_OK &&
        (st = nexp_h5_write_attr_double(h, "train", "density_min", o->sample.density_min, err)) == NEXP_OK &&
        (st = nexp_h5_write_attr_double(h, "train", "density_max", o->sample.density_max, err)) == NEXP_OK &&
        (st = nexp_h5_write_attr_double(h, "train", "lr", o->lr, err)) == NEXP_OK &&
        (st = nexp_h5_write_attr_int64(h, "train", "seed", (int64_t)o->seed, err)) == NEXP_OK &&
        (st = nexp_h5_write_attr_int64(h, "train", "optim_step", t->optim->step, err)) == NEXP_OK &&
        (st = nexp_h5_write_attr_int64(h, "train", "batch_threads", nexp_trainer_batch_threads(t), err)) == NEXP_OK &&
        (st = nexp_h5_write_array(h, "train/rng", NEXP_H5_UINT64, 1, &four, t->rng.s, err)) == NEXP_OK &&
        (st = nexp_h5_write_array(h, "train/adam_m1", NEXP_H5_DOUBLE, 1, &n, t->optim->m1, err)) == NEXP_OK &&
        (st = nexp_h5_write_array(h, "train/adam_m2", NEXP_H5_DOUBLE, 1, &n, t->optim->m2, err)) == NEXP_OK) {
        st = nexp_h5_commit(h, err);
    }
    nexp_h5_close(h);
    return st;
}

nexp_status nexp_trainer_read_batch_threads(nexp_h5_file *h, int64_t *threads, nexp_error *err)
{
    /* checkpoints from before the batch was split over threads were trained on one */
    *threads = 1;
    return nexp_h5_attr_exists(h, "train", "batch_threads")
               ? nexp_h5_read_attr_int64(h, "train", "batch_threads", threads, err)
               : NEXP_OK;
}

/* The options a checkpoint's group "train" records into *o (the rest of *o untouched); *data is
 * malloc'd. Checkpoints from before --photometric and --thin lack those: they were trained without. */
static nexp_status read_train_options(nexp_h5_file *h, nexp_train_options *o, char **data, nexp_error *err)
{
    int64_t batch, iters, crop, flips, seed, photo = 0;
    double thin = 0.0, dmin, dmax, lr;
    nexp_status st;
    *data = NULL;
    if ((st = nexp_h5_read_attr_string(h, "train", "data", data, err)) != NEXP_OK ||
        (st = nexp_h5_read_attr_int64(h, "train", "batch", &batch, err)) != NEXP_OK ||
        (st = nexp_h5_read_attr_int64(h, "train", "iters", &iters, err)) != NEXP_OK ||
        (st = nexp_h5_read_attr_int64(h, "train", "crop", &crop, err)) != NEXP_OK ||
        (st = nexp_h5_read_attr_int64(h, "train", "flips", &flips, err)) != NEXP_OK ||
        (st = nexp_h5_read_attr_int64(h, "train", "seed", &seed, err)) != NEXP_OK ||
        (st = nexp_h5_read_attr_double(h, "train", "density_min", &dmin, err)) != NEXP_OK ||
        (st = nexp_h5_read_attr_double(h, "train", "density_max", &dmax, err)) != NEXP_OK ||
        (st = nexp_h5_read_attr_double(h, "train", "lr", &lr, err)) != NEXP_OK ||
        (nexp_h5_attr_exists(h, "train", "photometric") &&
         (st = nexp_h5_read_attr_int64(h, "train", "photometric", &photo, err)) != NEXP_OK) ||
        (nexp_h5_attr_exists(h, "train", "thin") &&
         (st = nexp_h5_read_attr_double(h, "train", "thin", &thin, err)) != NEXP_OK)) {
        free(*data);
        *data = NULL;
        return st;
    }
    o->data = *data;
    o->batch = (int)batch;
    o->iters = (long)iters;
    o->sample.crop = (int)crop;
    o->sample.flips = (int)flips;
    o->sample.density_min = dmin;
    o->sample.density_max = dmax;
    o->sample.photometric = (int)photo;
    o->lr = lr;
    o->seed = (uint64_t)seed;
    o->thin = thin;
    return NEXP_OK;
}

static nexp_status open_checkpoint(nexp_h5_file **h, const char *path, nexp_error *err)
{
    nexp_status st = nexp_h5_open_read(h, path, err);
    if (st == NEXP_OK && nexp_h5_exists(*h, "train") != NEXP_H5_GROUP) {
        nexp_h5_close(*h);
        *h = NULL;
        st = nexp_error_set(err, NEXP_ERR_MISMATCH, "%s is a model file without training state (no group 'train')",
                            path);
    }
    return st;
}

nexp_status nexp_trainer_checkpoint_options(const char *path, nexp_train_options *o, char **data, nexp_error *err)
{
    nexp_h5_file *h = NULL;
    *data = NULL;
    nexp_status st = open_checkpoint(&h, path, err);
    if (st != NEXP_OK) {
        return st; /* the message names the file */
    }
    if ((st = read_train_options(h, o, data, err)) != NEXP_OK) {
        nexp_error_prefix(err, path);
    }
    nexp_h5_close(h);
    return st;
}

static nexp_status mismatch(nexp_error *err, const char *flag, const char *was, const char *now)
{
    return nexp_error_set(err, NEXP_ERR_MISMATCH, "the checkpoint was trained with %s %s, not %s", flag, was, now);
}

/* The first option of opt that differs from the checkpoint's ck, as an error naming it. */
static nexp_status compare_options(const nexp_train_options *ck, const nexp_train_options *opt, nexp_error *err)
{
    const char *data = opt->data != NULL ? opt->data : "synthetic";
    const struct {
        const char *flag;
        double was, now;
    } num[] = { { "--batch", ck->batch, opt->batch },
                { "--crop", ck->sample.crop, opt->sample.crop },
                { "flips", ck->sample.flips, opt->sample.flips },
                { "--lr", ck->lr, opt->lr },
                { "--thin", ck->thin, opt->thin } };
    char was[64], now[64];
    if (strcmp(ck->data, data) != 0) {
        return mismatch(err, "--data", ck->data, data);
    }
    for (size_t k = 0; k < sizeof num / sizeof num[0]; k++) {
        if (num[k].was != num[k].now) {
            snprintf(was, sizeof was, "%.15g", num[k].was);
            snprintf(now, sizeof now, "%.15g", num[k].now);
            return mismatch(err, num[k].flag, was, now);
        }
    }
    if (ck->sample.density_min != opt->sample.density_min || ck->sample.density_max != opt->sample.density_max) {
        snprintf(was, sizeof was, "%.15g:%.15g", ck->sample.density_min, ck->sample.density_max);
        snprintf(now, sizeof now, "%.15g:%.15g", opt->sample.density_min, opt->sample.density_max);
        return mismatch(err, "--density", was, now);
    }
    if (ck->seed != opt->seed) {
        snprintf(was, sizeof was, "%llu", (unsigned long long)ck->seed);
        snprintf(now, sizeof now, "%llu", (unsigned long long)opt->seed);
        return mismatch(err, "--seed", was, now);
    }
    if (ck->sample.photometric != opt->sample.photometric) {
        return mismatch(err, "--photometric", ck->sample.photometric ? "on" : "off",
                        opt->sample.photometric ? "on" : "off");
    }
    return NEXP_OK;
}

nexp_status nexp_trainer_resume(nexp_trainer **out, const char *path, const nexp_train_options *opt, nexp_error *err)
{
    *out = NULL;
    nexp_h5_file *h = NULL;
    nexp_trainer *t = NULL;
    char *data = NULL;
    nexp_train_options ck = *opt;
    nexp_status st = open_checkpoint(&h, path, err);
    if (st != NEXP_OK) {
        return st;
    }
    if ((st = read_train_options(h, &ck, &data, err)) != NEXP_OK || (st = compare_options(&ck, opt, err)) != NEXP_OK) {
        goto done;
    }
    if ((st = trainer_base(&t, opt, err)) != NEXP_OK || (st = nexp_learned_get(&t->model, h, err)) != NEXP_OK) {
        goto done;
    }
    t->opt.spec = t->model->spec;
    nexp_optim_config oc = optim_config(&t->opt);
    int64_t iter, ostep;
    size_t n = t->model->n_params, four = NEXP_RNG_STATE_WORDS;
    if ((st = nexp_optim_create(&oc, n, &t->optim, err)) != NEXP_OK ||
        (st = nexp_h5_read_attr_int64(h, "train", "iter", &iter, err)) != NEXP_OK ||
        (st = nexp_h5_read_attr_int64(h, "train", "optim_step", &ostep, err)) != NEXP_OK ||
        (st = nexp_h5_read_array(h, "train/rng", NEXP_H5_UINT64, 1, &four, t->rng.s, err)) != NEXP_OK ||
        (st = nexp_h5_read_array(h, "train/adam_m1", NEXP_H5_DOUBLE, 1, &n, t->optim->m1, err)) != NEXP_OK ||
        (st = nexp_h5_read_array(h, "train/adam_m2", NEXP_H5_DOUBLE, 1, &n, t->optim->m2, err)) != NEXP_OK) {
        goto done;
    }
    if (iter < 0 || ostep < 0) {
        st = nexp_error_set(err, NEXP_ERR_FORMAT, "negative iteration count in the checkpoint");
        goto done;
    }
    t->iter = (long)iter;
    t->optim->step = (long)ostep;
    int64_t threads;
    if ((st = nexp_trainer_read_batch_threads(h, &threads, err)) != NEXP_OK) {
        goto done;
    }
    t->ckpt_threads = (int)threads;
done:
    free(data);
    nexp_h5_close(h);
    if (st != NEXP_OK) {
        nexp_error_prefix(err, path);
        nexp_trainer_free(t);
        return st;
    }
    *out = t;
    return NEXP_OK;
}
