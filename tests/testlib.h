/* testlib.h — shared helpers for the CUnit suites (not installed).
 *
 *   static CU_TestInfo tests[] = { { "field_copy_round_trips", test_copy }, CU_TEST_INFO_NULL };
 *   int main(void) { return nexp_test_run("core", tests); }
 *
 * Suites read real data from NEXP_SHARED_DATA (../shared/data by default) and write scratch files
 * under NEXP_TEST_TMP (created on demand).
 */
#ifndef NEXP_TESTLIB_H
#define NEXP_TESTLIB_H

#include <CUnit/CUnit.h>
#include <stddef.h>

#include "nexp_field.h"

/* Runs one suite of the given tests verbosely; returns 0 only if every test passed. */
int nexp_test_run(const char *suite, CU_TestInfo *tests);
/* "<shared data>/<rel>" in a static buffer (valid until the next call). */
const char *nexp_test_data(const char *rel);
/* "<tmp dir>/<name>" in a static buffer (valid until the next call); the directory exists. */
const char *nexp_test_tmp(const char *name);
/* Writes len bytes to path; returns 0 on success. */
int nexp_test_write_bytes(const char *path, const void *data, size_t len);
/* Reads a whole file into a malloc'd buffer; *len gets its size; NULL on failure. */
unsigned char *nexp_test_read_bytes(const char *path, size_t *len);
/* 1 if a and b have the same size and channels and bit-identical values (compared as bytes, so -0 and
 * NaN patterns count; masks are not compared), else 0. */
int nexp_test_fields_identical(const nexp_field *a, const nexp_field *b);
/* Largest |a - b| over all channels and pixels (a and b of the same shape). */
double nexp_test_max_abs_diff(const nexp_field *a, const nexp_field *b);

#endif
