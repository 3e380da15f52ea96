/* libFuzzer target: nexp_kitti_read — KITTI 16-bit flow PNG. */
#include "fuzz_common.h"
#include "nexp_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = nexp_fuzz_png_file(data, size, ".png");
    nexp_error err = NEXP_ERROR_INIT;
    nexp_field *f = NULL;
    nexp_status st = nexp_kitti_read(path, &f, &err);
    nexp_fuzz_check_field(st, f, &err);
    return 0;
}
