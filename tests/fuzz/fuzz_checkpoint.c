/* libFuzzer target: nn checkpoints — nexp_checkpoint_load_mlp and nexp_checkpoint_load_net (HDF5
 * through io/nexp_h5, then the model specs' text parsers and the optimiser state). */
#include "fuzz_common.h"
#include "nexp_checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = nexp_fuzz_file(data, size, ".h5");
    nexp_error err = NEXP_ERROR_INIT;
    nexp_mlp *mlp = NULL;
    nexp_optim *opt = NULL;
    nexp_ckpt_info info;
    nexp_status st = nexp_checkpoint_load_mlp(path, &mlp, &opt, &info, &err);
    if (st == NEXP_OK) {
        nexp_ckpt_info_clear(&info);
    } else {
        nexp_fuzz_check_error(st, &err);
    }
    nexp_mlp_free(mlp);
    nexp_optim_free(opt);

    nexp_net *net = NULL;
    opt = NULL;
    err = (nexp_error)NEXP_ERROR_INIT;
    st = nexp_checkpoint_load_net(path, &net, &opt, &info, &err);
    if (st == NEXP_OK) {
        nexp_ckpt_info_clear(&info);
    } else {
        nexp_fuzz_check_error(st, &err);
    }
    nexp_net_free(net);
    nexp_optim_free(opt);

    nexp_fuzz_check_h5_closed();
    return 0;
}
