/* CSV time series: reader with validation, atomic writer. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nexp_csv.h"
#include "nexp_core.h"
#include "nexp_h5.h"
#include "nexp_io.h"

#define CSV_MAX_COLS 1024

/* Splits line in place into fields (quotes removed, surrounding blanks trimmed); returns the count
 * or -1 if there are more than max. */
static int split_fields(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    size_t len = strlen(p);
    while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r')) {
        p[--len] = '\0';
    }
    for (;;) {
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (n == max) {
            return -1;
        }
        char *start = p, *w = p;
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == '\0') {
                    break;
                }
                if (*p == '"' && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *w++ = *p++;
                }
            }
            while (*p != ',' && *p != '\0') {
                p++;
            }
        } else {
            while (*p != ',' && *p != '\0') {
                *w++ = *p++;
            }
            while (w > start && (w[-1] == ' ' || w[-1] == '\t')) {
                w--;
            }
        }
        char sep = *p;
        *w = '\0';
        fields[n++] = start;
        if (sep == '\0') {
            break;
        }
        p++;
    }
    return n;
}

/* Blank lines and comment lines (first non-blank character '#') carry no data. */
static int is_blank(const char *s)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    if (*s == '#') {
        return 1;
    }
    for (; *s; s++) {
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n') {
            return 0;
        }
    }
    return 1;
}

void nexp_series_free(nexp_series *s)
{
    if (s == NULL) {
        return;
    }
    free(s->time_name);
    for (int i = 0; s->state_names != NULL && i < s->n_states; i++) {
        free(s->state_names[i]);
    }
    free(s->state_names);
    free(s->group_name);
    for (int g = 0; s->group_names != NULL && g < s->n_groups; g++) {
        free(s->group_names[g]);
    }
    free(s->group_names);
    free(s->group_start);
    free(s->t);
    free(s->y);
    free(s);
}

long nexp_series_rows(const nexp_series *s, int g)
{
    return s->group_start[g + 1] - s->group_start[g];
}

int nexp_series_find_group(const nexp_series *s, const char *name)
{
    for (int g = 0; g < s->n_groups; g++) {
        if (strcmp(s->group_names[g], name) == 0) {
            return g;
        }
    }
    return -1;
}

static int find_col(char **names, int n, const char *want)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i], want) == 0) {
            return i;
        }
    }
    return -1;
}

static nexp_status missing_column(nexp_error *err, const char *path, const char *want, char **names, int n)
{
    char list[256];
    size_t used = 0;
    list[0] = '\0';
    for (int i = 0; i < n && used + 4 < sizeof list; i++) {
        int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", names[i]);
        used += w > 0 ? (size_t)w : 0;
    }
    return nexp_error_set(err, NEXP_ERR_FORMAT, "%s: no column '%s' (columns: %s)", path, want, list);
}

/* Raw rows read from the file before grouping. */
typedef struct raw_rows {
    long n, cap;
    double *t, *y;
    int *group;
    long *line;
} raw_rows;

static nexp_status raw_push(raw_rows *r, int ns, const char *path, nexp_error *err)
{
    if (r->n < r->cap) {
        return NEXP_OK;
    }
    long cap = r->cap ? 2 * r->cap : 256;
    char what[NEXP_ERROR_MSG_MAX];
    snprintf(what, sizeof what, "%s: %ld rows of %d states", path, cap, ns);
    nexp_status st = nexp_memory_check((size_t)cap * ((size_t)ns * sizeof(double) + sizeof(double) + sizeof(int) +
                                                      sizeof(long)),
                                       what, err);
    if (st != NEXP_OK) {
        return st;
    }
    double *t = realloc(r->t, (size_t)cap * sizeof *t);
    if (t != NULL) {
        r->t = t;
    }
    double *y = realloc(r->y, (size_t)cap * (size_t)ns * sizeof *y);
    if (y != NULL) {
        r->y = y;
    }
    int *g = realloc(r->group, (size_t)cap * sizeof *g);
    if (g != NULL) {
        r->group = g;
    }
    long *l = realloc(r->line, (size_t)cap * sizeof *l);
    if (l != NULL) {
        r->line = l;
    }
    if (t == NULL || y == NULL || g == NULL || l == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "csv: out of memory");
    }
    r->cap = cap;
    return NEXP_OK;
}

static nexp_status parse_number(const char *path, long line, const char *col, const char *s, double *v,
                                nexp_error *err)
{
    char *end = NULL;
    errno = 0;
    *v = strtod(s, &end);
    if (s[0] == '\0' || *end != '\0') {
        return nexp_error_set(err, NEXP_ERR_FORMAT, "%s:%ld: column '%s': '%s' is not a number", path, line, col,
                              s);
    }
    if (!isfinite(*v)) {
        return nexp_error_set(err, NEXP_ERR_NONFINITE, "%s:%ld: column '%s': value '%s' is NaN or infinite", path,
                              line, col, s);
    }
    return NEXP_OK;
}

nexp_status nexp_series_read_csv(const char *path, const char *time_col, const char *state_cols,
                                 const char *group_col, nexp_series **out, nexp_error *err)
{
    FILE *fp = NULL;
    char *line = NULL, *header = NULL, *cols_copy = NULL;
    size_t cap = 0;
    nexp_status st = NEXP_OK;
    nexp_series *s = NULL;
    raw_rows raw = { 0 };
    char *hdr[CSV_MAX_COLS], *fld[CSV_MAX_COLS];
    int state_idx[CSV_MAX_COLS];
    char **gnames = NULL;
    int n_gn = 0, gcap = 0;
    long *gcount = NULL;

    if (out == NULL || path == NULL || time_col == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "csv: need a path, a time column and an output");
    }
    *out = NULL;
    fp = fopen(path, "rb");
    if (fp == NULL) {
        return nexp_error_set(err, NEXP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    long lineno = 0;
    ssize_t got;
    while ((got = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        if (!is_blank(line)) {
            break;
        }
    }
    if (got < 0) {
        st = nexp_error_set(err, NEXP_ERR_EMPTY, "%s: empty file (no header)", path);
        goto fail;
    }
    header = strdup(line);
    if (header == NULL) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "csv: out of memory");
        goto fail;
    }
    int ncol = split_fields(header, hdr, CSV_MAX_COLS);
    if (ncol < 0) {
        st = nexp_error_set(err, NEXP_ERR_TOO_LARGE, "%s: more than %d columns", path, CSV_MAX_COLS);
        goto fail;
    }
    int tcol = find_col(hdr, ncol, time_col);
    if (tcol < 0) {
        st = missing_column(err, path, time_col, hdr, ncol);
        goto fail;
    }
    int gcol = -1;
    if (group_col != NULL) {
        gcol = find_col(hdr, ncol, group_col);
        if (gcol < 0) {
            st = missing_column(err, path, group_col, hdr, ncol);
            goto fail;
        }
    }
    int ns = 0;
    if (state_cols != NULL) {
        cols_copy = strdup(state_cols);
        if (cols_copy == NULL) {
            st = nexp_error_set(err, NEXP_ERR_NOMEM, "csv: out of memory");
            goto fail;
        }
        char *names[CSV_MAX_COLS];
        int k = split_fields(cols_copy, names, CSV_MAX_COLS);
        for (int i = 0; i < k; i++) {
            int c = find_col(hdr, ncol, names[i]);
            if (c < 0) {
                st = missing_column(err, path, names[i], hdr, ncol);
                goto fail;
            }
            if (c == tcol || c == gcol) {
                st = nexp_error_set(err, NEXP_ERR_ARG, "%s: column '%s' is the time or group column", path,
                                    names[i]);
                goto fail;
            }
            state_idx[ns++] = c;
        }
    } else {
        for (int c = 0; c < ncol; c++) {
            if (c != tcol && c != gcol) {
                state_idx[ns++] = c;
            }
        }
    }
    if (ns == 0) {
        st = nexp_error_set(err, NEXP_ERR_ARG, "%s: no state columns", path);
        goto fail;
    }

    while ((got = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        if (is_blank(line)) {
            continue;
        }
        int nf = split_fields(line, fld, CSV_MAX_COLS);
        if (nf != ncol) {
            st = nexp_error_set(err, NEXP_ERR_FORMAT, "%s:%ld: ragged row: %d fields, the header has %d", path,
                                lineno, nf < 0 ? CSV_MAX_COLS : nf, ncol);
            goto fail;
        }
        if ((st = raw_push(&raw, ns, path, err)) != NEXP_OK) {
            goto fail;
        }
        if ((st = parse_number(path, lineno, hdr[tcol], fld[tcol], &raw.t[raw.n], err))) {
            goto fail;
        }
        for (int i = 0; i < ns; i++) {
            if ((st = parse_number(path, lineno, hdr[state_idx[i]], fld[state_idx[i]],
                                   &raw.y[(size_t)raw.n * ns + i], err))) {
                goto fail;
            }
        }
        int g = 0;
        if (gcol >= 0) {
            for (g = 0; g < n_gn && strcmp(gnames[g], fld[gcol]) != 0; g++) {
            }
            if (g == n_gn) {
                if (n_gn == gcap) {
                    int nc = gcap ? 2 * gcap : 8;
                    char **gn = realloc(gnames, (size_t)nc * sizeof *gn);
                    long *gc = realloc(gcount, (size_t)nc * sizeof *gc);
                    if (gn != NULL) {
                        gnames = gn;
                    }
                    if (gc != NULL) {
                        gcount = gc;
                    }
                    if (gn == NULL || gc == NULL) {
                        st = nexp_error_set(err, NEXP_ERR_NOMEM, "csv: out of memory");
                        goto fail;
                    }
                    gcap = nc;
                }
                gnames[n_gn] = strdup(fld[gcol]);
                gcount[n_gn] = 0;
                if (gnames[n_gn] == NULL) {
                    st = nexp_error_set(err, NEXP_ERR_NOMEM, "csv: out of memory");
                    goto fail;
                }
                n_gn++;
            }
        } else if (n_gn == 0) {
            gnames = malloc(sizeof *gnames);
            gcount = malloc(sizeof *gcount);
            if (gnames == NULL || gcount == NULL || (gnames[0] = strdup("all")) == NULL) {
                st = nexp_error_set(err, NEXP_ERR_NOMEM, "csv: out of memory");
                goto fail;
            }
            gcount[0] = 0;
            n_gn = 1;
        }
        raw.group[raw.n] = g;
        raw.line[raw.n] = lineno;
        gcount[g]++;
        raw.n++;
    }
    if (raw.n == 0) {
        st = nexp_error_set(err, NEXP_ERR_EMPTY, "%s: no data rows after the header", path);
        goto fail;
    }

    s = calloc(1, sizeof *s);
    if (s == NULL) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "csv: out of memory");
        goto fail;
    }
    s->n_states = ns;
    s->n_rows = raw.n;
    s->time_name = strdup(hdr[tcol]);
    s->group_name = gcol >= 0 ? strdup(hdr[gcol]) : NULL;
    s->state_names = calloc((size_t)ns, sizeof *s->state_names);
    s->group_start = calloc((size_t)n_gn + 1, sizeof *s->group_start);
    s->t = malloc((size_t)raw.n * sizeof *s->t);
    s->y = malloc((size_t)raw.n * ns * sizeof *s->y);
    if (s->time_name == NULL || (gcol >= 0 && s->group_name == NULL) || s->state_names == NULL ||
        s->group_start == NULL || s->t == NULL || s->y == NULL) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "csv: out of memory");
        goto fail;
    }
    for (int i = 0; i < ns; i++) {
        if ((s->state_names[i] = strdup(hdr[state_idx[i]])) == NULL) {
            st = nexp_error_set(err, NEXP_ERR_NOMEM, "csv: out of memory");
            goto fail;
        }
    }
    s->group_names = gnames;
    s->n_groups = n_gn;
    gnames = NULL;
    for (int g = 0; g < n_gn; g++) {
        s->group_start[g + 1] = s->group_start[g] + gcount[g];
    }
    /* stable scatter of the rows into their groups, checking times as they arrive */
    for (int g = 0; g < n_gn; g++) {
        gcount[g] = s->group_start[g];
    }
    for (long r = 0; r < raw.n; r++) {
        int g = raw.group[r];
        long dst = gcount[g]++;
        if (dst > s->group_start[g] && !(raw.t[r] > s->t[dst - 1])) {
            const char *what = raw.t[r] == s->t[dst - 1] ? "duplicate time" : "times are not increasing";
            if (gcol >= 0) {
                st = nexp_error_set(err, NEXP_ERR_FORMAT, "%s:%ld: %s %g in %s '%s' (after %g)", path, raw.line[r],
                                    what, raw.t[r], hdr[gcol], s->group_names[g], s->t[dst - 1]);
            } else {
                st = nexp_error_set(err, NEXP_ERR_FORMAT, "%s:%ld: %s %g (after %g); sort the rows by '%s'", path,
                                    raw.line[r], what, raw.t[r], s->t[dst - 1], hdr[tcol]);
            }
            goto fail;
        }
        s->t[dst] = raw.t[r];
        memcpy(s->y + (size_t)dst * ns, raw.y + (size_t)r * ns, (size_t)ns * sizeof(double));
    }
    for (int g = 0; g < n_gn; g++) {
        if (nexp_series_rows(s, g) < 2) {
            st = nexp_error_set(err, NEXP_ERR_FORMAT, "%s: %s%s%s has a single time point (need at least 2)", path,
                                gcol >= 0 ? hdr[gcol] : "the series", gcol >= 0 ? " " : "",
                                gcol >= 0 ? s->group_names[g] : "");
            goto fail;
        }
    }
    *out = s;
    s = NULL;
fail:
    if (gnames != NULL) {
        for (int g = 0; g < n_gn; g++) {
            free(gnames[g]);
        }
        free(gnames);
    }
    free(gcount);
    nexp_series_free(s);
    free(raw.t);
    free(raw.y);
    free(raw.group);
    free(raw.line);
    free(cols_copy);
    free(header);
    free(line);
    fclose(fp);
    return st;
}

nexp_status nexp_csv_write(const char *path, const char *const *names, int ncols, const double *data, long nrows,
                           nexp_error *err)
{
    if (path == NULL || names == NULL || ncols < 1 || nrows < 0 || (nrows > 0 && data == NULL)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "csv: need a path, column names and data");
    }
    nexp_atomic_file af;
    nexp_status st = nexp_atomic_open(&af, path, err);
    if (st != NEXP_OK) {
        return st;
    }
    for (int c = 0; c < ncols; c++) {
        fprintf(af.fp, "%s%s", c ? "," : "", names[c]);
    }
    fputc('\n', af.fp);
    for (long r = 0; r < nrows; r++) {
        for (int c = 0; c < ncols; c++) {
            fprintf(af.fp, "%s%.17g", c ? "," : "", data[(size_t)r * ncols + c]);
        }
        fputc('\n', af.fp);
    }
    if (ferror(af.fp)) {
        nexp_atomic_abort(&af);
        return nexp_error_set(err, NEXP_ERR_IO, "%s: write failed", path);
    }
    return nexp_atomic_commit(&af, err);
}

static int has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcasecmp(s + a - b, suf) == 0;
}

nexp_status nexp_trajectory_write(const char *path, const char *time_name, const char *state_names, const double *t,
                                  const double *Y, long nt, int n, const char *metadata, nexp_error *err)
{
    if (path == NULL || time_name == NULL || state_names == NULL || t == NULL || Y == NULL || nt < 1 || n < 1 ||
        n >= CSV_MAX_COLS) {
        return nexp_error_set(err, NEXP_ERR_ARG, "trajectory: need a path, names, times and states");
    }
    {
        char *copy = strdup(state_names);
        char *fields[CSV_MAX_COLS];
        int k = copy ? split_fields(copy, fields, CSV_MAX_COLS) : -2;
        free(copy);
        if (k != n) {
            return nexp_error_set(err, NEXP_ERR_ARG, "trajectory: %d state names for %d states", k, n);
        }
    }
    if (has_suffix(path, ".h5")) {
        nexp_h5_file *h = NULL;
        size_t dt[1] = { (size_t)nt }, dy[2] = { (size_t)nt, (size_t)n };
        nexp_status st = nexp_h5_create(&h, path, err);
        if (st == NEXP_OK && (st = nexp_h5_write_array(h, "time", NEXP_H5_DOUBLE, 1, dt, t, err)) == NEXP_OK &&
            (st = nexp_h5_write_array(h, "states", NEXP_H5_DOUBLE, 2, dy, Y, err)) == NEXP_OK &&
            (st = nexp_h5_write_attr_string(h, "/", "time_name", time_name, err)) == NEXP_OK &&
            (st = nexp_h5_write_attr_string(h, "/", "state_names", state_names, err)) == NEXP_OK &&
            (metadata == NULL || (st = nexp_h5_write_attr_string(h, "/", "metadata", metadata, err)) == NEXP_OK)) {
            st = nexp_h5_commit(h, err);
        }
        nexp_h5_close(h);
        return st;
    }
    if (!has_suffix(path, ".csv")) {
        return nexp_error_set(err, NEXP_ERR_UNSUPPORTED, "%s: unknown extension (expected .csv or .h5)", path);
    }
    char *copy = strdup(state_names);
    const char **names = malloc(((size_t)n + 1) * sizeof *names);
    double *table = malloc((size_t)nt * ((size_t)n + 1) * sizeof *table);
    nexp_status st = NEXP_OK;
    if (copy == NULL || names == NULL || table == NULL) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "trajectory: out of memory");
        goto done;
    }
    char *fields[CSV_MAX_COLS];
    int k = split_fields(copy, fields, CSV_MAX_COLS);
    if (k != n) {
        st = nexp_error_set(err, NEXP_ERR_ARG, "trajectory: %d state names for %d states", k, n);
        goto done;
    }
    names[0] = time_name;
    for (int i = 0; i < n; i++) {
        names[i + 1] = fields[i];
    }
    for (long r = 0; r < nt; r++) {
        table[(size_t)r * (n + 1)] = t[r];
        memcpy(table + (size_t)r * (n + 1) + 1, Y + (size_t)r * n, (size_t)n * sizeof *table);
    }
    st = nexp_csv_write(path, names, n + 1, table, nt, err);
done:
    free(copy);
    free(names);
    free(table);
    return st;
}

nexp_status nexp_series_read_h5(const char *path, const char *time_col, const char *state_cols, nexp_series **out,
                                nexp_error *err)
{
    if (path == NULL || out == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "series: need a path and an output");
    }
    *out = NULL;
    nexp_h5_file *h = NULL;
    nexp_series *s = NULL;
    char *tname = NULL, *snames = NULL, *want = NULL;
    double *T = NULL, *Yall = NULL;
    nexp_status st = nexp_h5_open_read(&h, path, err);
    if (st != NEXP_OK) {
        return st;
    }
    nexp_h5_array_meta mt, my;
    if ((st = nexp_h5_array_info(h, "time", &mt, err)) || (st = nexp_h5_array_info(h, "states", &my, err)) ||
        (st = nexp_h5_read_attr_string(h, "/", "time_name", &tname, err)) ||
        (st = nexp_h5_read_attr_string(h, "/", "state_names", &snames, err))) {
        goto fail;
    }
    if (mt.rank != 1 || my.rank != 2 || my.dims[0] != mt.dims[0] || my.dims[1] < 1 || my.dims[1] >= CSV_MAX_COLS) {
        st = nexp_error_set(err, NEXP_ERR_FORMAT, "%s: time (T) and states (T, n) do not fit together", path);
        goto fail;
    }
    if (time_col != NULL && strcmp(time_col, tname) != 0) {
        st = nexp_error_set(err, NEXP_ERR_FORMAT, "%s: no time '%s' (the file's time is '%s')", path, time_col, tname);
        goto fail;
    }
    long nt = (long)mt.dims[0];
    int nall = (int)my.dims[1];
    char *names[CSV_MAX_COLS], *picks[CSV_MAX_COLS];
    int idx[CSV_MAX_COLS];
    if (split_fields(snames, names, CSV_MAX_COLS) != nall) {
        st = nexp_error_set(err, NEXP_ERR_FORMAT, "%s: state_names does not name %d states", path, nall);
        goto fail;
    }
    int ns = nall;
    for (int i = 0; i < nall; i++) {
        idx[i] = i;
    }
    if (state_cols != NULL) {
        want = strdup(state_cols);
        if (want == NULL) {
            st = nexp_error_set(err, NEXP_ERR_NOMEM, "series: out of memory");
            goto fail;
        }
        ns = split_fields(want, picks, CSV_MAX_COLS);
        for (int i = 0; i < ns; i++) {
            idx[i] = find_col(names, nall, picks[i]);
            if (idx[i] < 0) {
                st = missing_column(err, path, picks[i], names, nall);
                goto fail;
            }
        }
    }
    char what[NEXP_ERROR_MSG_MAX];
    snprintf(what, sizeof what, "%s: %ld rows of %d states", path, nt, nall);
    size_t row_bytes = ((size_t)nall + (size_t)ns + 1) * sizeof(double);
    if (nt > 0 && (size_t)nt > SIZE_MAX / row_bytes) {
        st = nexp_error_set(err, NEXP_ERR_TOO_LARGE, "%s is too large", what);
        goto fail;
    }
    if ((st = nexp_memory_check((size_t)nt * row_bytes, what, err)) != NEXP_OK) {
        goto fail;
    }
    T = malloc((size_t)nt * sizeof *T);
    Yall = malloc((size_t)nt * nall * sizeof *Yall);
    s = calloc(1, sizeof *s);
    if (T == NULL || Yall == NULL || s == NULL) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "series: out of memory");
        goto fail;
    }
    if ((st = nexp_h5_read_array(h, "time", NEXP_H5_DOUBLE, 1, mt.dims, T, err)) ||
        (st = nexp_h5_read_array(h, "states", NEXP_H5_DOUBLE, 2, my.dims, Yall, err))) {
        goto fail;
    }
    s->n_states = ns;
    s->n_groups = 1;
    s->n_rows = nt;
    s->time_name = strdup(tname);
    s->state_names = calloc((size_t)ns, sizeof *s->state_names);
    s->group_names = calloc(1, sizeof *s->group_names);
    s->group_start = calloc(2, sizeof *s->group_start);
    s->y = malloc((size_t)nt * ns * sizeof *s->y);
    if (s->time_name == NULL || s->state_names == NULL || s->group_names == NULL || s->group_start == NULL ||
        s->y == NULL || (s->group_names[0] = strdup("all")) == NULL) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "series: out of memory");
        goto fail;
    }
    for (int i = 0; i < ns; i++) {
        if ((s->state_names[i] = strdup(names[idx[i]])) == NULL) {
            st = nexp_error_set(err, NEXP_ERR_NOMEM, "series: out of memory");
            goto fail;
        }
    }
    s->group_start[1] = nt;
    if (nt < 2) {
        st = nexp_error_set(err, NEXP_ERR_FORMAT, "%s: the series has a single time point (need at least 2)", path);
        goto fail;
    }
    for (long r = 0; r < nt; r++) {
        if (!isfinite(T[r])) {
            st = nexp_error_set(err, NEXP_ERR_NONFINITE, "%s: time %ld is NaN or infinite", path, r);
            goto fail;
        }
        if (r > 0 && !(T[r] > T[r - 1])) {
            st = nexp_error_set(err, NEXP_ERR_FORMAT, "%s: %s %g at row %ld (after %g)", path,
                                T[r] == T[r - 1] ? "duplicate time" : "times are not increasing:", T[r], r, T[r - 1]);
            goto fail;
        }
        for (int i = 0; i < ns; i++) {
            double v = Yall[(size_t)r * nall + idx[i]];
            if (!isfinite(v)) {
                st = nexp_error_set(err, NEXP_ERR_NONFINITE, "%s: state '%s' at row %ld is NaN or infinite", path,
                                    names[idx[i]], r);
                goto fail;
            }
            s->y[(size_t)r * ns + i] = v;
        }
    }
    s->t = T;
    T = NULL;
    *out = s;
    s = NULL;
fail:
    nexp_series_free(s);
    free(T);
    free(Yall);
    free(tname);
    free(snames);
    free(want);
    nexp_h5_close(h);
    return st;
}

nexp_status nexp_series_read(const char *path, const char *time_col, const char *state_cols, const char *group_col,
                             nexp_series **out, nexp_error *err)
{
    if (path != NULL && has_suffix(path, ".h5")) {
        if (group_col != NULL) {
            return nexp_error_set(err, NEXP_ERR_ARG, "%s: an HDF5 trajectory has no group column", path);
        }
        return nexp_series_read_h5(path, time_col, state_cols, out, err);
    }
    return nexp_series_read_csv(path, time_col, state_cols, group_col, out, err);
}
