/* nexp_learned_train.h — training the learned inpainting model end to end on mean EPE, with
 * crash-safe checkpoints that resume bit-identically.
 *
 *   nexp_train_options o = NEXP_TRAIN_OPTIONS_INIT;        // synthetic data, crop 64, batch 4, Adam 6e-3
 *   o.iters = 2000;
 *   nexp_trainer *t = NULL;
 *   nexp_trainer_create(&t, &o, &err);                      // or nexp_trainer_resume(&t, "m.h5", &o, &err)
 *   while (t->iter < o.iters) {
 *       nexp_trainer_step(t, &loss, &epe, &err);            // one batch, one Adam update
 *       if (t->iter % 100 == 0) nexp_trainer_save(t, "m.h5", &err);
 *   }
 *   nexp_trainer_free(t);
 *
 * A step draws B samples from the data source with the trainer's RNG (nexp_flowdata_draw: crop,
 * flips, mask density from the range), accumulates the gradient of the mean smoothed EPE over the
 * batch and applies one update of nn's Adam (cosine schedule over iters, gradient-norm clipping at
 * 1). The batch is split over the OpenMP threads (nexp_trainer_batch_threads); the gradient sum
 * is grouped by thread, so a run's bits depend on that count (one thread: plain sample-by-sample
 * accumulation) and on nothing else. Checkpoints are HDF5 files holding the model (as
 * nexp_learned_save, so a checkpoint is also a model file), the optimiser moments and step, the RNG
 * state, the iteration, that thread count and the options that shape the sample stream;
 * nexp_trainer_resume refuses a checkpoint whose options differ. For a given thread count, k steps +
 * save + resume + (N - k) steps give the same parameters bit for bit as N steps.
 *
 * A run created with opt.init starts from that model's weights instead of random ones (fine-tuning:
 * fresh Adam moments, the cosine schedule over opt.iters); opt.spec is then ignored. The checkpoint
 * does not depend on it afterwards: resuming needs only the checkpoint.
 *
 * Validation uses a held-out synthetic set: scenes from an RNG stream the training data never
 * draws from (seed stream 1 of the validation seed), rendered once at creation; with data
 * "synthetic-edges" the held-out scenes have edges too, otherwise they are plain scenes.
 */
#ifndef NEXP_LEARNED_TRAIN_H
#define NEXP_LEARNED_TRAIN_H

#include <stdint.h>

#include "nexp_flowdata.h"
#include "nexp_h5.h"
#include "nexp_learned.h"
#include "nexp_optim.h"
#include "nexp_rng.h"
#include "nexp_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nexp_train_options {
    const char *data;           /* "synthetic" or a folder (nexp_flowdata_open) */
    nexp_sample_options sample; /* crop, density range, flips */
    int batch;                  /* samples per step, >= 1 */
    long iters;                 /* total steps (sets the cosine schedule) */
    double lr;                  /* peak learning rate */
    uint64_t seed;              /* initial weights and the sample stream */
    nexp_learned_spec spec;     /* model shape (ignored on resume: the checkpoint's) */
    int val_count;              /* held-out synthetic samples, 0: no validation */
    int val_size;               /* their side length */
    uint64_t val_seed;          /* their seed */
    double thin;                /* synthetic data: share of thin-bar layers (nexp_scene_options.thin) */
    const char *init;           /* NULL, or a model file whose weights (and spec) a new run starts from */
} nexp_train_options;

#define NEXP_TRAIN_OPTIONS_INIT                                                                  \
    { "synthetic", { 64, 0.01, 0.10, 1, 0 }, 4, 2500, 6e-3, 1, NEXP_LEARNED_SPEC_INIT, 8, 128, 7777, 0.0, NULL }

typedef struct nexp_trainer {
    nexp_train_options opt; /* copy; opt.data points to data_name */
    char *data_name;        /* owned */
    nexp_learned *model;    /* owned */
    nexp_optim *optim;      /* owned */
    nexp_flowdata *data;    /* owned */
    nexp_rng rng;           /* the sample stream */
    long iter;              /* completed steps */
    int ckpt_threads;       /* resumed: the batch threads the checkpoint was trained with; else 0 */
    int n_val;
    nexp_flow_sample *val;  /* owned, n_val held-out samples */
} nexp_trainer;

nexp_status nexp_trainer_create(nexp_trainer **out, const nexp_train_options *opt, nexp_error *err);
/* Continue from a checkpoint; opt supplies iters (may grow) and must match the options that shape the
 * sample stream (data, batch, crop, flips, density, lr, seed, photometric, thin): the first that
 * differs is named in a NEXP_ERR_MISMATCH error. */
nexp_status nexp_trainer_resume(nexp_trainer **out, const char *path, const nexp_train_options *opt, nexp_error *err);
/* Those options and the planned iters, as a checkpoint records them, into *o (the rest of *o untouched):
 * so a resume can take them from the file. o->data then points to *data (malloc'd, the caller frees). */
nexp_status nexp_trainer_checkpoint_options(const char *path, nexp_train_options *o, char **data, nexp_error *err);
void nexp_trainer_free(nexp_trainer *t);
/* Threads a step splits its batch over now: min(omp_get_max_threads(), batch). */
int nexp_trainer_batch_threads(const nexp_trainer *t);
/* The threads an open checkpoint split its batches over (1 for checkpoints that predate the split). */
nexp_status nexp_trainer_read_batch_threads(nexp_h5_file *h, int64_t *threads, nexp_error *err);
/* One batch and one update; loss (smoothed) and epe are batch means (may be NULL). A batch whose
 * gradient is not finite is skipped (the step still counts) and reported as NEXP_ERR_NONFINITE. */
nexp_status nexp_trainer_step(nexp_trainer *t, double *loss, double *epe, nexp_error *err);
/* Mean EPE of the model and of homogeneous (Laplace) inpainting on the held-out samples. */
nexp_status nexp_trainer_validate(nexp_trainer *t, double *epe_model, double *epe_homogeneous, nexp_error *err);
/* Atomic checkpoint (model + training state). */
nexp_status nexp_trainer_save(const nexp_trainer *t, const char *path, nexp_error *err);

/* The model as group "model" of an open HDF5 file (used by checkpoints and model files). */
nexp_status nexp_learned_put(const nexp_learned *m, nexp_h5_file *h, nexp_error *err);
nexp_status nexp_learned_get(nexp_learned **out, nexp_h5_file *h, nexp_error *err);

#ifdef __cplusplus
}
#endif
#endif
