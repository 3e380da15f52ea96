/* Neural ODE checkpoint seeds for make_corpus (a file of its own: models/nexp_node.h and
 * nn/nexp_net.h both define nexp_node_spec). */
#include <stdio.h>
#include <stdlib.h>

#include "nexp_node_train.h"

void make_corpus_node_seeds(const char *node_path, const char *bare_path, const char *csv_path);

static void node_check(nexp_status st, const nexp_error *err, const char *what)
{
    if (st != NEXP_OK) {
        fprintf(stderr, "make_corpus: %s: %s\n", what, err->msg);
        exit(1);
    }
}

/* A Lotka-Volterra UDE with a 3-wide network, saved with its training state and data (node_path)
 * and alone (bare_path); csv_path: the series the data description comes from. */
void make_corpus_node_seeds(const char *node_path, const char *bare_path, const char *csv_path)
{
    nexp_error err = NEXP_ERROR_INIT;
    nexp_node_spec spec = NEXP_NODE_SPEC_INIT;
    spec.n = 2;
    spec.hidden = 3;
    spec.physics = "lotka-volterra";
    nexp_node *node = NULL;
    node_check(nexp_node_create(&spec, 9, &node, &err), &err, "node");
    nexp_series *series = NULL;
    node_check(nexp_series_read_csv(csv_path, "t", "x,y", "subject", &series, &err), &err, "node data");
    nexp_node_train_state state = { .iter = 4, .loss = 0.125 };
    nexp_rng_seed(&state.rng, 11);
    nexp_optim_config cfg = NEXP_OPTIM_CONFIG_INIT;
    node_check(nexp_optim_create(&cfg, (size_t)node->n_params, &state.optim, &err), &err, "optim");
    node_check(nexp_node_save(node_path, node, &state, series, &err), &err, "save node");
    node_check(nexp_node_save(bare_path, node, NULL, NULL, &err), &err, "save node");
    nexp_optim_free(state.optim);
    nexp_series_free(series);
    nexp_node_free(node);
}
