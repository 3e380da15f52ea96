/* nexp_checkpoint.h — crash-safe HDF5 checkpoints of models, optimisers and training state.
 *
 *   nexp_ckpt_state st = NEXP_CKPT_STATE_INIT;
 *   st.step = it; st.rng = &rng; st.metadata = "nexp node fit --hidden 50 ...";
 *   nexp_checkpoint_save_mlp("model.h5", mlp, opt, &st, &err);     // temp file, fsync, rename
 *   ...
 *   nexp_mlp *m = NULL; nexp_optim *o = NULL; nexp_ckpt_info info;
 *   nexp_checkpoint_load_mlp("model.h5", &m, &o, &info, &err);      // the file alone rebuilds both
 *   rng = info.rng; it = info.step; nexp_ckpt_info_clear(&info);
 *
 * File layout (readable with h5py / h5dump):
 *   /            attributes nexp_format = "nexp-checkpoint", version = 1, model = "mlp" | "net",
 *                spec (the model's text spec), n_params, step, metadata (free text)
 *   /params/<tensor name>   one array per tensor, shape as in the model's tensor table
 *                (float64 for an MLP, float32 for a net)
 *   /optim       attributes kind, schedule and every hyper-parameter, step; arrays m1, m2 (float64)
 *   /rng/state   uint64 (4): the xoshiro256** state (core/nexp_rng.h)
 *   /user/...    anything the caller's extra callback writes (normalisation constants, ...)
 * Everything that influences later training steps is stored exactly (raw float bits, integer RNG
 * words), so save + load + continue is bit-identical to not stopping.
 *
 * Saving writes a temporary file beside path, fsyncs it and renames it into place (nexp_h5_create /
 * nexp_h5_commit): a crash leaves either the old checkpoint or the new one. Loading validates
 * everything and names what is wrong: not HDF5 or truncated, not an nexp checkpoint, a different
 * model kind, a different spec (both spec texts are quoted), a tensor of the wrong shape.
 */
#ifndef NEXP_CHECKPOINT_H
#define NEXP_CHECKPOINT_H

#include "nexp_h5.h"
#include "nexp_mlp.h"
#include "nexp_net.h"
#include "nexp_optim.h"
#include "nexp_rng.h"
#include "nexp_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes caller data into the open checkpoint (under "user/" by convention) before it is committed. */
typedef nexp_status (*nexp_ckpt_extra_fn)(nexp_h5_file *h, void *user, nexp_error *err);

typedef struct nexp_ckpt_state {
    long step;                /* training iterations done */
    const nexp_rng *rng;      /* NULL: no RNG state saved */
    const char *metadata;     /* NULL: empty */
    nexp_ckpt_extra_fn extra; /* NULL: nothing extra */
    void *extra_user;
} nexp_ckpt_state;

#define NEXP_CKPT_STATE_INIT { 0, NULL, NULL, NULL, NULL }

typedef struct nexp_ckpt_info {
    long step;
    int has_rng;
    nexp_rng rng;
    char *metadata; /* malloc'd, "" if none; released by nexp_ckpt_info_clear */
} nexp_ckpt_info;

void nexp_ckpt_info_clear(nexp_ckpt_info *info);

/* opt and state may be NULL (no optimiser / step 0, no RNG, no metadata). */
nexp_status nexp_checkpoint_save_mlp(const char *path, const nexp_mlp *mlp, const nexp_optim *opt,
                                     const nexp_ckpt_state *state, nexp_error *err);
nexp_status nexp_checkpoint_save_net(const char *path, const nexp_net *net, const nexp_optim *opt,
                                     const nexp_ckpt_state *state, nexp_error *err);

/* Rebuild from the file alone: a new model (and, if opt != NULL, a new optimiser; *opt stays NULL
 * when the file has none). info may be NULL. Seeds do not matter: every parameter is read back. */
nexp_status nexp_checkpoint_load_mlp(const char *path, nexp_mlp **mlp, nexp_optim **opt, nexp_ckpt_info *info,
                                     nexp_error *err);
nexp_status nexp_checkpoint_load_net(const char *path, nexp_net **net, nexp_optim **opt, nexp_ckpt_info *info,
                                     nexp_error *err);

/* Load into existing objects: the file's spec must equal the model's (NEXP_ERR_MISMATCH quoting
 * both otherwise); opt (may be NULL) must have the model's parameter count and gets the file's
 * configuration, step and moments. Nothing is modified unless the whole load succeeds. */
nexp_status nexp_checkpoint_restore_mlp(const char *path, nexp_mlp *mlp, nexp_optim *opt, nexp_ckpt_info *info,
                                        nexp_error *err);
nexp_status nexp_checkpoint_restore_net(const char *path, nexp_net *net, nexp_optim *opt, nexp_ckpt_info *info,
                                        nexp_error *err);

#ifdef __cplusplus
}
#endif
#endif
