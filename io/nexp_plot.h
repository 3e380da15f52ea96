/* nexp_plot.h — line and scatter plots written as PNG with cairo (data versus fit, trajectories).
 *
 *   nexp_plot_series s[2] = {
 *       { "hare (data)", t, hare, 21, 1, NEXP_PLOT_POINTS, 0 },        // x, y with stride 1
 *       { "hare (fit)",  tf, fit, 200, 2, NEXP_PLOT_LINE, 0 },          // every 2nd value of fit
 *   };
 *   nexp_plot_spec p = NEXP_PLOT_SPEC_INIT;  p.title = "Lynx-hare"; p.xlabel = "year";
 *   nexp_plot_write_png("fit.png", &p, s, 2, &err);                    // atomic
 *
 * Axes span the data with a little margin and get "nice" ticks (1, 2, 5 x 10^k) with labels; a
 * legend lists every series with a label. Series with the same colour index share a colour (data
 * points and the fitted line of one state). Non-finite values are skipped (lines break there).
 */
#ifndef NEXP_PLOT_H
#define NEXP_PLOT_H

#include "nexp_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nexp_plot_style { NEXP_PLOT_LINE = 0, NEXP_PLOT_POINTS = 1, NEXP_PLOT_DASHED = 2 } nexp_plot_style;

typedef struct nexp_plot_series {
    const char *label;   /* legend text; NULL: not in the legend */
    const double *x;     /* n values, stride 1 */
    const double *y;     /* n values, read as y[i * stride] */
    long n;
    long stride;         /* >= 1 */
    nexp_plot_style style;
    int color;           /* index into a fixed qualitative palette (wraps around) */
} nexp_plot_series;

typedef struct nexp_plot_spec {
    const char *title;
    const char *xlabel;
    const char *ylabel;
    int width, height;   /* pixels */
} nexp_plot_spec;

#define NEXP_PLOT_SPEC_INIT { NULL, NULL, NULL, 900, 560 }

nexp_status nexp_plot_write_png(const char *path, const nexp_plot_spec *spec, const nexp_plot_series *series,
                                int n_series, nexp_error *err);

/* Releases the process-wide caches cairo and fontconfig keep after drawing text (font maps, the
 * font configuration: cairo_debug_reset_static_data and FcFini): call it once before exit in
 * programs checked for leaks, when no plot is being drawn in any thread. */
void nexp_plot_release_caches(void);

#ifdef __cplusplus
}
#endif
#endif
