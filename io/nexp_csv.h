/* nexp_csv.h — time series in CSV files: measurements in, simulations and predictions out.
 *
 *   nexp_series *s = NULL;
 *   nexp_series_read_csv("indometh.csv", "time", "conc", "Subject", &s, &err);  // 6 groups of 11 rows
 *   for (int g = 0; g < s->n_groups; g++)
 *       printf("%s: %ld rows from t = %g\n", s->group_names[g], nexp_series_rows(s, g), s->t[s->group_start[g]]);
 *   nexp_series_free(s);
 *   const char *names[3] = { "t", "x", "y" };
 *   nexp_csv_write("run.csv", names, 3, table, nrows, &err);                    // atomic
 *
 * Reading: the first line is a header of column names; fields are separated by commas and may be
 * double-quoted ("Subject"); blank lines and comment lines starting with '#' are skipped. The caller names the time column, the state
 * columns (comma-separated; NULL: every other column except the group column) and optionally a
 * group column whose values split the rows into trajectories (one per subject), kept in order of
 * first appearance. Errors name the file, the line and the column: a missing column, a ragged row,
 * a value that is not a number or is NaN/infinite, times that are not strictly increasing within a
 * trajectory (unsorted or duplicate), a trajectory with a single time point, an empty file.
 */
#ifndef NEXP_CSV_H
#define NEXP_CSV_H

#include "nexp_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Trajectories stored one after another; everything is owned by the series (nexp_series_free). */
typedef struct nexp_series {
    int n_states;
    int n_groups;
    long n_rows;
    char *time_name;
    char **state_names; /* n_states */
    char *group_name;   /* the group column, NULL if none */
    char **group_names; /* n_groups values of the group column ("all" without one) */
    long *group_start;  /* n_groups + 1: rows of group g are group_start[g] .. group_start[g + 1] - 1 */
    double *t;          /* n_rows, strictly increasing within each group */
    double *y;          /* (n_rows, n_states) row-major */
} nexp_series;

nexp_status nexp_series_read_csv(const char *path, const char *time_col, const char *state_cols,
                                 const char *group_col, nexp_series **out, nexp_error *err);
/* A trajectory file written by nexp_trajectory_write (.h5: datasets time and states, attribute
 * state_names) as a one-group series; state_cols (comma-separated, NULL: all) picks states by name,
 * time_col (may be NULL) must match the file's time name. Same validation as the CSV reader. */
nexp_status nexp_series_read_h5(const char *path, const char *time_col, const char *state_cols, nexp_series **out,
                                nexp_error *err);
/* By extension: .h5 with nexp_series_read_h5 (group_col must be NULL), anything else as CSV. */
nexp_status nexp_series_read(const char *path, const char *time_col, const char *state_cols, const char *group_col,
                             nexp_series **out, nexp_error *err);
void nexp_series_free(nexp_series *s);
/* Number of rows of group g. */
long nexp_series_rows(const nexp_series *s, int g);
/* Index of the group whose value is name, or -1. */
int nexp_series_find_group(const nexp_series *s, const char *name);

/* Writes a header of ncols names and nrows rows of data (nrows, ncols), row-major, with 17
 * significant digits, atomically (temporary file + rename). */
nexp_status nexp_csv_write(const char *path, const char *const *names, int ncols, const double *data, long nrows,
                           nexp_error *err);

/* One trajectory, t (nt) and Y (nt, n) row-major, by extension: ".csv" (columns time_name, then
 * the comma-separated state_names) or ".h5" (datasets "time" (nt) and "states" (nt, n), float64,
 * with string attributes state_names and metadata on the root). metadata may be NULL. Atomic. */
nexp_status nexp_trajectory_write(const char *path, const char *time_name, const char *state_names, const double *t,
                                  const double *Y, long nt, int n, const char *metadata, nexp_error *err);

#ifdef __cplusplus
}
#endif
#endif
