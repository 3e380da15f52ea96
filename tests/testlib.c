#include "testlib.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int nexp_test_run(const char *suite, CU_TestInfo *tests)
{
    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    CU_SuiteInfo suites[] = { { suite, NULL, NULL, NULL, NULL, tests }, CU_SUITE_INFO_NULL };
    if (CU_register_suites(suites) != CUE_SUCCESS) {
        CU_cleanup_registry();
        return 1;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    return (failed == 0 && run > 0) ? 0 : 1;
}

const char *nexp_test_data(const char *rel)
{
    static char buf[4096];
    const char *root = getenv("NEXP_SHARED_DATA");
    snprintf(buf, sizeof buf, "%s/%s", root ? root : "../shared/data", rel);
    return buf;
}

const char *nexp_test_tmp(const char *name)
{
    static char buf[4096];
    const char *root = getenv("NEXP_TEST_TMP");
    if (root == NULL) {
        root = "nexp_test_tmp";
    }
    if (mkdir(root, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "cannot create %s: %s\n", root, strerror(errno));
    }
    snprintf(buf, sizeof buf, "%s/%s", root, name);
    return buf;
}

int nexp_test_write_bytes(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    if (fp == NULL) {
        return -1;
    }
    size_t n = fwrite(data, 1, len, fp);
    return (fclose(fp) == 0 && n == len) ? 0 : -1;
}

unsigned char *nexp_test_read_bytes(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        return NULL;
    }
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf != NULL && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    if (buf != NULL) {
        *len = (size_t)n;
    }
    return buf;
}

int nexp_test_fields_identical(const nexp_field *a, const nexp_field *b)
{
    if (a->width != b->width || a->height != b->height || a->channels != b->channels) {
        return 0;
    }
    for (int c = 0; c < a->channels; c++) {
        for (int y = 0; y < a->height; y++) {
            if (memcmp(nexp_field_row(a, c, y), nexp_field_row(b, c, y), (size_t)a->width * sizeof(float)) != 0) {
                return 0;
            }
        }
    }
    return 1;
}

double nexp_test_max_abs_diff(const nexp_field *a, const nexp_field *b)
{
    double m = 0.0;
    for (int c = 0; c < a->channels; c++) {
        for (int y = 0; y < a->height; y++) {
            for (int x = 0; x < a->width; x++) {
                double d = fabs((double)nexp_field_get(a, c, x, y) - nexp_field_get(b, c, x, y));
                m = d > m ? d : m;
            }
        }
    }
    return m;
}
