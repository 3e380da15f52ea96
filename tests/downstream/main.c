/* Downstream smoke test: create a field, fill it, read its statistics back. */
#include <nexp.h>
#include <stdio.h>

int main(void)
{
    nexp_error err = NEXP_ERROR_INIT;
    nexp_field *f = NULL;
    if (nexp_field_create(&f, 33, 17, 2, &err) != NEXP_OK) {
        fprintf(stderr, "downstream: %s\n", err.msg);
        return 1;
    }
    nexp_field_fill(f, 2.385f);
    nexp_stats s;
    nexp_field_stats(f, 1, &s, &err);
    printf("nexp %s: %dx%dx%d mean %.3f\n", nexp_version(), f->width, f->height, f->channels, s.mean);
    int ok = s.count == 33 * 17 && s.mean > 2.384 && s.mean < 2.386;
    nexp_field_free(f);
    return ok ? 0 : 1;
}
