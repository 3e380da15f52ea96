/* libFuzzer target: neural ODE checkpoints — nexp_node_load (model, training state and data
 * description). A target of its own: models/nexp_node.h and nn/nexp_net.h both define
 * nexp_node_spec, so it cannot share a file with the nn checkpoint target. */
#include "fuzz_common.h"
#include "nexp_node_train.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = nexp_fuzz_file(data, size, ".h5");
    nexp_error err = NEXP_ERROR_INIT;
    nexp_node *node = NULL;
    nexp_node_train_state *state = NULL;
    nexp_node_ckpt_info info;
    nexp_status st = nexp_node_load(path, NULL, &node, &state, &info, &err);
    if (st != NEXP_OK) {
        nexp_fuzz_check_error(st, &err);
    }
    nexp_node_free(node);
    nexp_node_train_state_free(state);
    nexp_fuzz_check_h5_closed();
    return 0;
}
