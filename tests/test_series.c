/* Time series files: the CSV reader's validation and real data, the CSV writer, PNG plots. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nexp_csv.h"
#include "nexp_field.h"
#include "nexp_io.h"
#include "nexp_plot.h"
#include "testlib.h"

static void lynx_hare_counts_read_as_one_trajectory(void)
{
    nexp_series *s = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_series_read_csv(nexp_test_data("series/hudson_bay_lynx_hare_1900_1920.csv"), "year",
                                               "hare,lynx", NULL, &s, &err),
                          NEXP_OK);
    CU_ASSERT_EQUAL(s->n_groups, 1);
    CU_ASSERT_EQUAL(s->n_rows, 21);
    CU_ASSERT_EQUAL(s->n_states, 2);
    CU_ASSERT_STRING_EQUAL(s->state_names[0], "hare");
    CU_ASSERT_DOUBLE_EQUAL(s->t[0], 1900.0, 0.0);
    CU_ASSERT_DOUBLE_EQUAL(s->t[20], 1920.0, 0.0);
    CU_ASSERT_DOUBLE_EQUAL(s->y[0], 30.0, 1e-12); /* hare 1900 */
    CU_ASSERT_DOUBLE_EQUAL(s->y[1], 4.0, 1e-12);  /* lynx 1900 */
    nexp_series_free(s);
}

static void indometh_splits_into_six_subjects_of_eleven_times(void)
{
    nexp_series *s = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(
        nexp_series_read_csv(nexp_test_data("series/indometh.csv"), "time", "conc", "Subject", &s, &err), NEXP_OK);
    CU_ASSERT_EQUAL(s->n_groups, 6);
    for (int g = 0; g < s->n_groups; g++) {
        CU_ASSERT_EQUAL(nexp_series_rows(s, g), 11);
        CU_ASSERT_DOUBLE_EQUAL(s->t[s->group_start[g]], 0.25, 1e-12);
    }
    CU_ASSERT_STRING_EQUAL(s->group_names[0], "1");
    CU_ASSERT_EQUAL(nexp_series_find_group(s, "6"), 5);
    CU_ASSERT_DOUBLE_EQUAL(s->y[0], 1.5, 1e-12);
    nexp_series_free(s);
}

/* Writes text to a scratch file and reads it, expecting failure code and a message fragment. */
static void expect_csv_error(const char *name, const char *text, const char *states, const char *group,
                             nexp_status code, const char *fragment)
{
    const char *path = nexp_test_tmp(name);
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, text, strlen(text)), 0);
    nexp_series *s = (nexp_series *)1;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL(nexp_series_read_csv(path, "t", states, group, &s, &err), code);
    CU_ASSERT_PTR_NULL(s);
    if (strstr(err.msg, fragment) == NULL) {
        printf("\n  %s: message '%s' lacks '%s'", name, err.msg, fragment);
    }
    CU_ASSERT(strstr(err.msg, fragment) != NULL);
}

static void bad_csv_files_give_clear_errors(void)
{
    expect_csv_error("unsorted.csv", "t,x\n0,1\n2,3\n1,4\n", "x", NULL, NEXP_ERR_FORMAT, ":4: times are not increasing");
    expect_csv_error("duplicate.csv", "t,x\n0,1\n1,3\n1,4\n", "x", NULL, NEXP_ERR_FORMAT, "duplicate time 1");
    expect_csv_error("single.csv", "t,x\n0,1\n", "x", NULL, NEXP_ERR_FORMAT, "single time point");
    expect_csv_error("single_group.csv", "g,t,x\na,0,1\na,1,2\nb,0,1\n", "x", "g", NEXP_ERR_FORMAT,
                     "g b has a single time point");
    expect_csv_error("nan.csv", "t,x\n0,1\n1,nan\n", "x", NULL, NEXP_ERR_NONFINITE, ":3: column 'x'");
    expect_csv_error("text.csv", "t,x\n0,1\n1,abc\n", "x", NULL, NEXP_ERR_FORMAT, "'abc' is not a number");
    expect_csv_error("empty_cell.csv", "t,x\n0,1\n1,\n", "x", NULL, NEXP_ERR_FORMAT, "is not a number");
    expect_csv_error("missing.csv", "t,x\n0,1\n1,2\n", "x,y", NULL, NEXP_ERR_FORMAT, "no column 'y' (columns: t, x)");
    expect_csv_error("missing_group.csv", "t,x\n0,1\n1,2\n", "x", "subject", NEXP_ERR_FORMAT, "no column 'subject'");
    expect_csv_error("ragged.csv", "t,x,y\n0,1,2\n1,2\n", NULL, NULL, NEXP_ERR_FORMAT, ":3: ragged row: 2 fields");
    expect_csv_error("empty.csv", "", "x", NULL, NEXP_ERR_EMPTY, "empty file");
    expect_csv_error("header_only.csv", "t,x\n", "x", NULL, NEXP_ERR_EMPTY, "no data rows");
    expect_csv_error("group_unsorted.csv", "g,t,x\na,0,1\nb,0,1\na,2,1\nb,1,1\na,1,1\n", "x", "g",
                     NEXP_ERR_FORMAT, "in g 'a'");
    nexp_error err = NEXP_ERROR_INIT;
    nexp_series *s = NULL;
    CU_ASSERT_EQUAL(nexp_series_read_csv(nexp_test_tmp("no_such_file.csv"), "t", "x", NULL, &s, &err), NEXP_ERR_IO);
}

static void interleaved_groups_and_quoted_fields_are_accepted(void)
{
    const char *text = "\"id\",\"t\",\"a\",\"b\"\n\"p\",0,1,10\n\"q\",0.5,2,20\n\n\"p\",1,3,30\n\"q\",1.5,4,40\n";
    const char *path = nexp_test_tmp("interleaved.csv");
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, text, strlen(text)), 0);
    nexp_series *s = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_series_read_csv(path, "t", NULL, "id", &s, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(s->n_groups, 2);
    CU_ASSERT_EQUAL(s->n_states, 2);
    CU_ASSERT_STRING_EQUAL(s->state_names[1], "b");
    CU_ASSERT_DOUBLE_EQUAL(s->t[1], 1.0, 0.0);
    CU_ASSERT_DOUBLE_EQUAL(s->y[3], 30.0, 0.0);
    CU_ASSERT_STRING_EQUAL(s->group_names[1], "q");
    CU_ASSERT_DOUBLE_EQUAL(s->t[s->group_start[1]], 0.5, 0.0);
    nexp_series_free(s);
}

static void csv_writer_round_trips_every_bit(void)
{
    const char *names[3] = { "t", "x", "y" };
    double data[4 * 3];
    for (int i = 0; i < 12; i++) {
        data[i] = (i % 3 == 0) ? 0.1 * i : sin(2.385 * i) * pow(10.0, i - 6);
    }
    const char *path = nexp_test_tmp("round.csv");
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_csv_write(path, names, 3, data, 4, &err), NEXP_OK);
    nexp_series *s = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_series_read_csv(path, "t", "x,y", NULL, &s, &err), NEXP_OK);
    for (int r = 0; r < 4; r++) {
        CU_ASSERT_EQUAL(s->t[r], data[r * 3]);
        CU_ASSERT_EQUAL(s->y[r * 2], data[r * 3 + 1]);
        CU_ASSERT_EQUAL(s->y[r * 2 + 1], data[r * 3 + 2]);
    }
    nexp_series_free(s);
    CU_ASSERT_NOT_EQUAL(nexp_csv_write(nexp_test_tmp("no_dir/x.csv"), names, 3, data, 4, &err), NEXP_OK);
}

static void trajectories_round_trip_through_hdf5(void)
{
    double t[5] = { 0.0, 0.5, 1.25, 2.0, 3.385 }, Y[5 * 3];
    for (int i = 0; i < 15; i++) {
        Y[i] = cos(0.7 * i) * 2.385;
    }
    const char *path = nexp_test_tmp("traj.h5");
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_trajectory_write(path, "t", "a,b,c", t, Y, 5, 3, "test", &err), NEXP_OK);
    nexp_series *s = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_series_read(path, "t", "c,a", NULL, &s, &err), NEXP_OK);
    CU_ASSERT_EQUAL(s->n_rows, 5);
    CU_ASSERT_EQUAL(s->n_states, 2);
    CU_ASSERT_STRING_EQUAL(s->state_names[0], "c");
    for (int r = 0; r < 5; r++) {
        CU_ASSERT_EQUAL(s->t[r], t[r]);
        CU_ASSERT_EQUAL(s->y[2 * r], Y[3 * r + 2]);
        CU_ASSERT_EQUAL(s->y[2 * r + 1], Y[3 * r]);
    }
    nexp_series_free(s);
    s = NULL;
    CU_ASSERT_EQUAL(nexp_series_read(path, "t", "d", NULL, &s, &err), NEXP_ERR_FORMAT);
    CU_ASSERT(strstr(err.msg, "no column 'd'") != NULL);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_series_read(path, "time", NULL, NULL, &s, &err), NEXP_ERR_FORMAT);
    CU_ASSERT_EQUAL(nexp_series_read(path, "t", NULL, "g", &s, NULL), NEXP_ERR_ARG);
    CU_ASSERT_EQUAL(nexp_trajectory_write(nexp_test_tmp("traj.txt"), "t", "a,b,c", t, Y, 5, 3, NULL, NULL),
                    NEXP_ERR_UNSUPPORTED);
    CU_ASSERT_EQUAL(nexp_trajectory_write(path, "t", "a,b", t, Y, 5, 3, NULL, NULL), NEXP_ERR_ARG);
}

static void plot_draws_a_png_with_data_in_the_palette_colours(void)
{
    double x[50], y[100];
    for (int i = 0; i < 50; i++) {
        x[i] = 1900 + 0.4 * i;
        y[2 * i] = 40 + 30 * sin(0.3 * i);
        y[2 * i + 1] = 20 + 10 * cos(0.3 * i);
    }
    nexp_plot_series s[3] = {
        { "hare", x, y, 50, 2, NEXP_PLOT_POINTS, 0 },
        { "lynx", x, y + 1, 50, 2, NEXP_PLOT_LINE, 1 },
        { NULL, x, y + 1, 50, 2, NEXP_PLOT_DASHED, 2 },
    };
    nexp_plot_spec spec = NEXP_PLOT_SPEC_INIT;
    spec.title = "Test";
    spec.xlabel = "year";
    spec.ylabel = "thousands";
    const char *path = nexp_test_tmp("plot.png");
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_plot_write_png(path, &spec, s, 3, &err), NEXP_OK);
    nexp_field *img = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_png_read(path, &img, &err), NEXP_OK);
    CU_ASSERT_EQUAL(img->width, 900);
    CU_ASSERT_EQUAL(img->height, 560);
    CU_ASSERT(img->channels >= 3);
    long blue = 0, red = 0;
    for (int yy = 0; yy < img->height; yy++) {
        const float *r = nexp_field_row(img, 0, yy), *g = nexp_field_row(img, 1, yy), *b = nexp_field_row(img, 2, yy);
        for (int xx = 0; xx < img->width; xx++) {
            blue += (r[xx] == 31 && g[xx] == 119 && b[xx] == 180);
            red += (r[xx] == 214 && g[xx] == 39 && b[xx] == 40);
        }
    }
    CU_ASSERT(blue > 200);
    CU_ASSERT(red > 200);
    nexp_field_free(img);
    CU_ASSERT_EQUAL(nexp_plot_write_png(path, &spec, s, 0, NULL), NEXP_ERR_ARG);
    nexp_plot_release_caches();
}

static CU_TestInfo tests[] = {
    { "lynx_hare_counts_read_as_one_trajectory", lynx_hare_counts_read_as_one_trajectory },
    { "indometh_splits_into_six_subjects_of_eleven_times", indometh_splits_into_six_subjects_of_eleven_times },
    { "bad_csv_files_give_clear_errors", bad_csv_files_give_clear_errors },
    { "interleaved_groups_and_quoted_fields_are_accepted", interleaved_groups_and_quoted_fields_are_accepted },
    { "csv_writer_round_trips_every_bit", csv_writer_round_trips_every_bit },
    { "trajectories_round_trip_through_hdf5", trajectories_round_trip_through_hdf5 },
    { "plot_draws_a_png_with_data_in_the_palette_colours", plot_draws_a_png_with_data_in_the_palette_colours },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return nexp_test_run("series", tests);
}
