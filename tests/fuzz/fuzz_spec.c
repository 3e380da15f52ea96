/* libFuzzer target: the model spec text parsers that checkpoints feed with file contents —
 * nexp_mlp_spec_parse and nexp_net_spec_parse; a parsed spec must format and parse back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "nexp_mlp.h"
#include "nexp_net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    nexp_error err = NEXP_ERROR_INIT;
    nexp_mlp_spec mspec;
    nexp_status st = nexp_mlp_spec_parse(text, &mspec, &err);
    if (st == NEXP_OK) {
        char buf[4096];
        nexp_mlp_spec back;
        int len = nexp_mlp_spec_format(&mspec, buf, sizeof buf);
        if (len < 0 || (size_t)len >= sizeof buf || nexp_mlp_spec_parse(buf, &back, &err) != NEXP_OK) {
            fprintf(stderr, "nexp fuzz: formatted mlp spec does not parse back: %s\n", err.msg);
            abort();
        }
    } else {
        nexp_fuzz_check_error(st, &err);
    }
    nexp_net_spec *nspec = malloc(sizeof *nspec);
    err = (nexp_error)NEXP_ERROR_INIT;
    st = nexp_net_spec_parse(text, nspec, &err);
    if (st == NEXP_OK) {
        int len = nexp_net_spec_format(nspec, NULL, 0);
        char *buf = malloc((size_t)len + 1);
        nexp_net_spec_format(nspec, buf, (size_t)len + 1);
        nexp_net_spec *back = malloc(sizeof *back);
        if (nexp_net_spec_parse(buf, back, &err) != NEXP_OK) {
            fprintf(stderr, "nexp fuzz: formatted net spec does not parse back: %s\n", err.msg);
            abort();
        }
        free(back);
        free(buf);
    } else {
        nexp_fuzz_check_error(st, &err);
    }
    free(nspec);
    free(text);
    return 0;
}
