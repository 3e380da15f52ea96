/* libFuzzer target: nexp_pnm_read — binary PGM (P5) and PPM (P6). */
#include "fuzz_common.h"
#include "nexp_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = nexp_fuzz_file(data, size, ".pnm");
    nexp_error err = NEXP_ERROR_INIT;
    nexp_field *f = NULL;
    nexp_status st = nexp_pnm_read(path, &f, &err);
    nexp_fuzz_check_field(st, f, &err);
    return 0;
}
