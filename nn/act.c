#include <string.h>

#include "nexp_layers.h"

static const char *const act_names[NEXP_ACT_COUNT_] = {
    [NEXP_ACT_IDENTITY] = "identity", [NEXP_ACT_RELU] = "relu",         [NEXP_ACT_LEAKY_RELU] = "leaky_relu",
    [NEXP_ACT_TANH] = "tanh",         [NEXP_ACT_SIGMOID] = "sigmoid",   [NEXP_ACT_SOFTPLUS] = "softplus",
    [NEXP_ACT_GELU] = "gelu",
};

const char *nexp_act_name(nexp_act act)
{
    if ((int)act < 0 || act >= NEXP_ACT_COUNT_) {
        return "unknown";
    }
    return act_names[act];
}

int nexp_act_from_name(const char *name)
{
    if (name == NULL) {
        return -1;
    }
    if (strcmp(name, "linear") == 0 || strcmp(name, "none") == 0) {
        return NEXP_ACT_IDENTITY;
    }
    for (int a = 0; a < NEXP_ACT_COUNT_; a++) {
        if (strcmp(name, act_names[a]) == 0) {
            return a;
        }
    }
    return -1;
}
