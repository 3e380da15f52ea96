/* Core module: status codes, the field type, the RNG, the progress reporter. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nexp.h"
#include "testlib.h"

static void strerror_names_every_code(void)
{
    CU_ASSERT_STRING_EQUAL(nexp_strerror(NEXP_OK), "ok");
    CU_ASSERT_STRING_EQUAL(nexp_strerror(NEXP_ERR_UNSTABLE), "time step above the stability bound");
    CU_ASSERT_STRING_EQUAL(nexp_strerror((nexp_status)-999), "unknown status");
}

static void error_keeps_the_innermost_message_and_prefixes_it(void)
{
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL(nexp_error_set(&err, NEXP_ERR_FORMAT, "bad magic %d", 7), NEXP_ERR_FORMAT);
    nexp_error_set(&err, NEXP_ERR_IO, "outer");
    CU_ASSERT_STRING_EQUAL(err.msg, "bad magic 7");
    nexp_error_prefix(&err, "a.flo");
    CU_ASSERT_STRING_EQUAL(err.msg, "a.flo: bad magic 7");
    CU_ASSERT_EQUAL(err.code, NEXP_ERR_FORMAT);
    CU_ASSERT_EQUAL(nexp_error_set(NULL, NEXP_ERR_IO, "x"), NEXP_ERR_IO);
}

static void field_rows_are_aligned_and_padding_is_zero(void)
{
    nexp_field *f = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_field_create(&f, 37, 11, 3, NULL), NEXP_OK);
    CU_ASSERT(f->stride >= 37 && f->stride % (NEXP_FIELD_ALIGN / sizeof(float)) == 0);
    for (int c = 0; c < 3; c++) {
        for (int y = 0; y < 11; y++) {
            float *row = nexp_field_row(f, c, y);
            CU_ASSERT_EQUAL((uintptr_t)row % NEXP_FIELD_ALIGN, 0);
            for (size_t x = 0; x < f->stride; x++) {
                CU_ASSERT_EQUAL(row[x], 0.0f);
            }
        }
    }
    nexp_field_free(f);
}

static void field_create_refuses_bad_and_overflowing_sizes(void)
{
    nexp_field *f = (nexp_field *)1;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_NOT_EQUAL(nexp_field_create(&f, 0, 5, 1, &err), NEXP_OK);
    CU_ASSERT_PTR_NULL(f);
    CU_ASSERT(strstr(err.msg, "dimensions") != NULL);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_field_create(&f, 1 << 20, 1 << 20, 1, &err), NEXP_ERR_TOO_LARGE);
    CU_ASSERT_NOT_EQUAL(nexp_field_create(&f, 5, 5, -2, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_field_check_dims(2147483647LL, 2147483647LL, 1, NULL), NEXP_ERR_TOO_LARGE);
    size_t out;
    CU_ASSERT_EQUAL(nexp_size_mul3(SIZE_MAX / 2, 3, 1, &out), -1);
    CU_ASSERT_EQUAL(nexp_size_mul(1000, 1000, &out), 0);
    CU_ASSERT_EQUAL(out, 1000000);
}

static void field_clone_and_view_share_and_copy_as_documented(void)
{
    nexp_field *f = NULL, *g = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_field_create(&f, 9, 7, 3, NULL), NEXP_OK);
    for (int c = 0; c < 3; c++) {
        for (int y = 0; y < 7; y++) {
            for (int x = 0; x < 9; x++) {
                nexp_field_row(f, c, y)[x] = 2.385f * (float)c + 0.173f * (float)(x * y);
            }
        }
    }
    CU_ASSERT_EQUAL_FATAL(nexp_field_ensure_mask(f, NULL), NEXP_OK);
    f->mask[3 * f->stride + 4] = 0;
    CU_ASSERT_EQUAL_FATAL(nexp_field_clone(&g, f, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_field_get(g, 2, 8, 6), nexp_field_get(f, 2, 8, 6));
    CU_ASSERT_FALSE(nexp_field_valid(g, 4, 3));
    CU_ASSERT_EQUAL(nexp_field_count_valid(g), 62);
    nexp_field v = nexp_field_view(f, 1, 2);
    CU_ASSERT_EQUAL(v.channels, 2);
    CU_ASSERT_EQUAL(nexp_field_get(&v, 0, 5, 5), nexp_field_get(f, 1, 5, 5));
    nexp_field_row(&v, 1, 0)[0] = -1.5f;
    CU_ASSERT_EQUAL(nexp_field_get(f, 2, 0, 0), -1.5f);
    CU_ASSERT_NOT_EQUAL(nexp_field_get(g, 2, 0, 0), -1.5f);
    nexp_field *small = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_field_create(&small, 3, 3, 3, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_field_copy(small, f, NULL), NEXP_ERR_SIZE);
    nexp_field_free(small);
    nexp_field_free(g);
    nexp_field_free(f);
    nexp_field_free(NULL);
}

static void field_stats_skip_invalid_and_nonfinite_values(void)
{
    nexp_field *f = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_field_create(&f, 4, 2, 2, NULL), NEXP_OK);
    float vals[8] = { 1.5f, 2.5f, 3.5f, 4.5f, 5.5f, 6.5f, 7.5f, 100.0f };
    for (int i = 0; i < 8; i++) {
        nexp_field_row(f, 0, i / 4)[i % 4] = vals[i];
        nexp_field_row(f, 1, i / 4)[i % 4] = 0.0f;
    }
    nexp_field_row(f, 0, 0)[1] = NAN;
    nexp_field_ensure_mask(f, NULL);
    f->mask[f->stride + 3] = 0; /* hides 100 */
    nexp_stats s;
    CU_ASSERT_EQUAL(nexp_field_stats(f, 0, &s, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(s.count, 6);
    CU_ASSERT_DOUBLE_EQUAL(s.min, 1.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(s.max, 7.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(s.mean, (1.5 + 3.5 + 4.5 + 5.5 + 6.5 + 7.5) / 6.0, 1e-9);
    CU_ASSERT_EQUAL(nexp_field_stats(f, 2, &s, NULL), NEXP_ERR_ARG);
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL(nexp_field_check_finite(f, &err), NEXP_ERR_NONFINITE);
    CU_ASSERT(strstr(err.msg, "x = 1, y = 0") != NULL);
    nexp_flow_stats fs;
    nexp_field_row(f, 0, 0)[1] = 3.0f;
    nexp_field_row(f, 1, 0)[1] = 4.0f;
    CU_ASSERT_EQUAL(nexp_flow_stats_compute(f, &fs, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(fs.unknown, 1);
    CU_ASSERT_DOUBLE_EQUAL(fs.max_flow, 7.5, 1e-6);
    nexp_field_free(f);
}

static void rng_is_reproducible_and_uniform(void)
{
    nexp_rng a, b;
    nexp_rng_seed(&a, 2385);
    nexp_rng_seed(&b, 2385);
    for (int i = 0; i < 1000; i++) {
        CU_ASSERT_EQUAL(nexp_rng_u64(&a), nexp_rng_u64(&b));
    }
    nexp_rng_seed(&b, 2386);
    CU_ASSERT_NOT_EQUAL(nexp_rng_u64(&a), nexp_rng_u64(&b));
    /* Moments of 200k uniforms and normals within 5 standard errors. */
    const int n = 200000;
    double su = 0.0, sn = 0.0, sn2 = 0.0;
    int counts[10] = { 0 };
    for (int i = 0; i < n; i++) {
        double u = nexp_rng_uniform(&a);
        CU_ASSERT(u >= 0.0 && u < 1.0);
        su += u;
        double g = nexp_rng_normal(&a);
        sn += g;
        sn2 += g * g;
        counts[nexp_rng_below(&a, 10)]++;
    }
    CU_ASSERT(fabs(su / n - 0.5) < 5.0 * sqrt(1.0 / 12.0 / n));
    CU_ASSERT(fabs(sn / n) < 5.0 / sqrt((double)n));
    CU_ASSERT(fabs(sn2 / n - 1.0) < 5.0 * sqrt(2.0 / n));
    for (int k = 0; k < 10; k++) {
        CU_ASSERT(fabs(counts[k] - n / 10.0) < 5.0 * sqrt(n * 0.09));
    }
}

static void rng_state_copy_resumes_the_same_sequence(void)
{
    nexp_rng a, s1, s2;
    nexp_rng_seed(&a, 7);
    for (int i = 0; i < 17; i++) {
        nexp_rng_u64(&a);
    }
    nexp_rng b = a;
    CU_ASSERT_EQUAL(nexp_rng_normal(&a), nexp_rng_normal(&b));
    nexp_rng_seed_stream(&s1, 7, 0);
    nexp_rng_seed_stream(&s2, 7, 1);
    CU_ASSERT_NOT_EQUAL(nexp_rng_u64(&s1), nexp_rng_u64(&s2));
}

static void progress_prints_lines_when_not_a_terminal_and_nothing_when_quiet(void)
{
    const char *path = nexp_test_tmp("progress.txt");
    FILE *fp = fopen(path, "w+");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    nexp_progress *p = nexp_progress_create("work", 3, NEXP_PROGRESS_AUTO, fp);
    for (long i = 1; i <= 3; i++) {
        nexp_progress_update(p, i, "loss %.3f", 0.125 * (double)i);
    }
    nexp_progress_finish(p);
    nexp_progress *r = nexp_progress_create("resumed", 10, NEXP_PROGRESS_LINES, fp);
    nexp_progress_set_start(r, 7);
    nexp_progress_finish(r);
    nexp_progress *z = nexp_progress_create("finished", 4, NEXP_PROGRESS_LINES, fp);
    nexp_progress_set_start(z, 4);
    nexp_progress_finish(z);
    nexp_progress *q = nexp_progress_create("silent", 3, NEXP_PROGRESS_QUIET, fp);
    nexp_progress_update(q, 3, "x");
    nexp_progress_finish(q);
    fflush(fp);
    rewind(fp);
    char buf[1024] = { 0 };
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    CU_ASSERT(n > 0);
    CU_ASSERT(strstr(buf, "work: 3/3 (100%)") != NULL);
    CU_ASSERT(strstr(buf, "loss 0.375") != NULL);
    CU_ASSERT(strstr(buf, "resumed: 7/10 (70%) 0 it/s") != NULL); /* the 7 done before count, not in the rate */
    /* a run that stops early (Ctrl-C) ends with the time still to go (unknown here: no step ran), not
     * "00:00"; a finished one with 00:00 */
    CU_ASSERT(strstr(buf, "eta --:--") != NULL);
    CU_ASSERT(strstr(buf, "eta 00:00") != NULL);
    CU_ASSERT(strstr(buf, "finished: 4/4 (100%) 0 it/s elapsed 00:00 eta 00:00") != NULL);
    CU_ASSERT(strstr(buf, "silent") == NULL);
    CU_ASSERT(strchr(buf, '\r') == NULL);
}

static void threads_setting_round_trips(void)
{
    nexp_set_threads(1);
    CU_ASSERT_EQUAL(nexp_get_threads(), 1);
    nexp_set_threads(2);
    CU_ASSERT_EQUAL(nexp_get_threads(), 2);
    nexp_set_threads(0);
    CU_ASSERT(nexp_get_threads() >= 1);
    CU_ASSERT(strlen(nexp_version()) > 0);
    const char *cpu = nexp_cpu_path();
    CU_ASSERT(strncmp(cpu, "x86-64", 6) == 0 || strncmp(cpu, "one version", 11) == 0);
}

static void field_kind_names_are_distinct_and_out_of_range_is_unknown(void)
{
    const char *expect[] = { "scalar", "image", "flow", "mask", "tensor" };
    for (int k = NEXP_KIND_SCALAR; k <= NEXP_KIND_TENSOR; k++) {
        CU_ASSERT_STRING_EQUAL(nexp_field_kind_name((nexp_field_kind)k), expect[k]);
    }
    CU_ASSERT_STRING_EQUAL(nexp_field_kind_name((nexp_field_kind)(NEXP_KIND_TENSOR + 1)), "unknown");
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "strerror_names_every_code", strerror_names_every_code },
        { "error_keeps_the_innermost_message_and_prefixes_it", error_keeps_the_innermost_message_and_prefixes_it },
        { "field_rows_are_aligned_and_padding_is_zero", field_rows_are_aligned_and_padding_is_zero },
        { "field_create_refuses_bad_and_overflowing_sizes", field_create_refuses_bad_and_overflowing_sizes },
        { "field_clone_and_view_share_and_copy_as_documented", field_clone_and_view_share_and_copy_as_documented },
        { "field_stats_skip_invalid_and_nonfinite_values", field_stats_skip_invalid_and_nonfinite_values },
        { "rng_is_reproducible_and_uniform", rng_is_reproducible_and_uniform },
        { "rng_state_copy_resumes_the_same_sequence", rng_state_copy_resumes_the_same_sequence },
        { "progress_prints_lines_when_not_a_terminal_and_nothing_when_quiet",
          progress_prints_lines_when_not_a_terminal_and_nothing_when_quiet },
        { "threads_setting_round_trips", threads_setting_round_trips },
        { "field_kind_names_are_distinct_and_out_of_range_is_unknown",
          field_kind_names_are_distinct_and_out_of_range_is_unknown },
        CU_TEST_INFO_NULL,
    };
    return nexp_test_run("core", tests);
}
