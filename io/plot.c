/* Line and scatter plots drawn with cairo and written as PNG through an atomic file. */
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nexp_io.h"
#include "nexp_plot.h"

static const double palette[8][3] = {
    { 0.122, 0.467, 0.706 }, { 0.839, 0.153, 0.157 }, { 0.173, 0.627, 0.173 }, { 1.000, 0.498, 0.055 },
    { 0.580, 0.404, 0.741 }, { 0.549, 0.337, 0.294 }, { 0.890, 0.467, 0.761 }, { 0.090, 0.745, 0.812 },
};

/* A "nice" tick step (1, 2 or 5 times a power of ten) giving about target ticks over span. */
static double nice_step(double span, int target)
{
    double raw = span / target;
    double mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    double nice = f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0;
    return nice * mag;
}

static void data_range(const nexp_plot_series *s, int ns, int want_x, double *lo, double *hi)
{
    *lo = HUGE_VAL;
    *hi = -HUGE_VAL;
    for (int k = 0; k < ns; k++) {
        for (long i = 0; i < s[k].n; i++) {
            double v = want_x ? s[k].x[i] : s[k].y[i * s[k].stride];
            if (isfinite(v)) {
                *lo = fmin(*lo, v);
                *hi = fmax(*hi, v);
            }
        }
    }
    if (!(*lo <= *hi)) {
        *lo = 0.0;
        *hi = 1.0;
    }
    if (*hi - *lo <= 1e-12 * fmax(1.0, fabs(*hi))) {
        double d = fmax(0.5, 0.1 * fabs(*hi));
        *lo -= d;
        *hi += d;
    }
}

static cairo_status_t write_stream(void *closure, const unsigned char *data, unsigned int len)
{
    FILE *fp = closure;
    return fwrite(data, 1, len, fp) == len ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

static void tick_label(char *buf, size_t len, double v, double step)
{
    if (fabs(v) < 1e-9 * step) {
        v = 0.0;
    }
    if (fabs(v) >= 1e5 || (step < 1e-3 && v != 0.0)) {
        snprintf(buf, len, "%.3g", v);
    } else {
        int dec = step >= 1.0 ? 0 : (int)ceil(-log10(step) - 1e-9);
        snprintf(buf, len, "%.*f", dec, v);
    }
}

nexp_status nexp_plot_write_png(const char *path, const nexp_plot_spec *spec, const nexp_plot_series *series,
                                int n_series, nexp_error *err)
{
    if (path == NULL || spec == NULL || series == NULL || n_series < 1 || spec->width < 200 || spec->height < 150 ||
        spec->width > 8192 || spec->height > 8192) {
        return nexp_error_set(err, NEXP_ERR_ARG, "plot: need a path, 1+ series and a size of 200x150 to 8192x8192");
    }
    for (int k = 0; k < n_series; k++) {
        if (series[k].n < 0 || (series[k].n > 0 && (series[k].x == NULL || series[k].y == NULL)) ||
            series[k].stride < 1) {
            return nexp_error_set(err, NEXP_ERR_ARG, "plot: series %d has no data or a bad stride", k);
        }
    }
    const int W = spec->width, H = spec->height;
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_t *cr = cairo_create(surf);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
        cairo_destroy(cr);
        cairo_surface_destroy(surf);
        return nexp_error_set(err, NEXP_ERR_NOMEM, "plot: cairo cannot create a %dx%d image", W, H);
    }
    double x0, x1, y0, y1;
    data_range(series, n_series, 1, &x0, &x1);
    data_range(series, n_series, 0, &y0, &y1);
    double pad = 0.05 * (y1 - y0);
    y0 -= pad;
    y1 += pad;
    for (int k = 0; k < n_series; k++) {
        if (series[k].style == NEXP_PLOT_POINTS) { /* room for the markers at the ends */
            double px = 0.015 * (x1 - x0);
            x0 -= px;
            x1 += px;
            break;
        }
    }
    const double left = 80, right = 20, top = spec->title ? 44 : 20, bottom = 60;
    const double pw = W - left - right, ph = H - top - bottom;
#define PX(x) (left + ((x) - x0) / (x1 - x0) * pw)
#define PY(y) (top + ph - ((y) - y0) / (y1 - y0) * ph)

    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 12);

    /* grid, ticks and tick labels */
    char buf[64];
    cairo_text_extents_t ext;
    double xs = nice_step(x1 - x0, 8), ys = nice_step(y1 - y0, 6);
    cairo_set_line_width(cr, 1.0);
    for (double v = ceil(x0 / xs) * xs; v <= x1 + 1e-9 * xs; v += xs) {
        double px = floor(PX(v)) + 0.5;
        cairo_set_source_rgb(cr, 0.92, 0.92, 0.92);
        cairo_move_to(cr, px, top);
        cairo_line_to(cr, px, top + ph);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, px, top + ph);
        cairo_line_to(cr, px, top + ph + 5);
        cairo_stroke(cr);
        tick_label(buf, sizeof buf, v, xs);
        cairo_text_extents(cr, buf, &ext);
        cairo_move_to(cr, px - ext.width / 2 - ext.x_bearing, top + ph + 20);
        cairo_show_text(cr, buf);
    }
    for (double v = ceil(y0 / ys) * ys; v <= y1 + 1e-9 * ys; v += ys) {
        double py = floor(PY(v)) + 0.5;
        cairo_set_source_rgb(cr, 0.92, 0.92, 0.92);
        cairo_move_to(cr, left, py);
        cairo_line_to(cr, left + pw, py);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, left - 5, py);
        cairo_line_to(cr, left, py);
        cairo_stroke(cr);
        tick_label(buf, sizeof buf, v, ys);
        cairo_text_extents(cr, buf, &ext);
        cairo_move_to(cr, left - 9 - ext.width - ext.x_bearing, py - ext.y_bearing / 2 - ext.height / 2);
        cairo_show_text(cr, buf);
    }
    cairo_rectangle(cr, left + 0.5, top + 0.5, pw, ph);
    cairo_stroke(cr);

    /* axis labels and title */
    cairo_set_font_size(cr, 14);
    if (spec->xlabel != NULL) {
        cairo_text_extents(cr, spec->xlabel, &ext);
        cairo_move_to(cr, left + pw / 2 - ext.width / 2, H - 16);
        cairo_show_text(cr, spec->xlabel);
    }
    if (spec->ylabel != NULL) {
        cairo_text_extents(cr, spec->ylabel, &ext);
        cairo_save(cr);
        cairo_move_to(cr, 22, top + ph / 2 + ext.width / 2);
        cairo_rotate(cr, -M_PI / 2);
        cairo_show_text(cr, spec->ylabel);
        cairo_restore(cr);
    }
    if (spec->title != NULL) {
        cairo_set_font_size(cr, 16);
        cairo_text_extents(cr, spec->title, &ext);
        cairo_move_to(cr, left + pw / 2 - ext.width / 2, 28);
        cairo_show_text(cr, spec->title);
    }

    /* the series, clipped to the plot area */
    cairo_save(cr);
    cairo_rectangle(cr, left, top, pw, ph);
    cairo_clip(cr);
    for (int k = 0; k < n_series; k++) {
        const nexp_plot_series *s = &series[k];
        const double *c = palette[((s->color % 8) + 8) % 8];
        cairo_set_source_rgb(cr, c[0], c[1], c[2]);
        if (s->style == NEXP_PLOT_POINTS) {
            for (long i = 0; i < s->n; i++) {
                double y = s->y[i * s->stride];
                if (isfinite(s->x[i]) && isfinite(y)) {
                    cairo_new_sub_path(cr);
                    cairo_arc(cr, PX(s->x[i]), PY(y), 3.5, 0, 2 * M_PI);
                }
            }
            cairo_fill(cr);
            continue;
        }
        double dash[2] = { 7.0, 4.0 };
        cairo_set_dash(cr, dash, s->style == NEXP_PLOT_DASHED ? 2 : 0, 0);
        cairo_set_line_width(cr, 2.0);
        int pen = 0;
        for (long i = 0; i < s->n; i++) {
            double y = s->y[i * s->stride];
            if (!isfinite(s->x[i]) || !isfinite(y)) {
                pen = 0;
                continue;
            }
            if (pen) {
                cairo_line_to(cr, PX(s->x[i]), PY(y));
            } else {
                cairo_move_to(cr, PX(s->x[i]), PY(y));
                pen = 1;
            }
        }
        cairo_stroke(cr);
        cairo_set_dash(cr, dash, 0, 0);
    }
    cairo_restore(cr);

    /* legend, top right inside the plot area */
    cairo_set_font_size(cr, 12);
    int n_leg = 0;
    double lw = 0;
    for (int k = 0; k < n_series; k++) {
        if (series[k].label != NULL) {
            cairo_text_extents(cr, series[k].label, &ext);
            lw = fmax(lw, ext.x_advance);
            n_leg++;
        }
    }
    if (n_leg > 0) {
        double bx = left + pw - lw - 50, by = top + 8, bh = 18.0 * n_leg + 8;
        cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
        cairo_rectangle(cr, bx, by, lw + 42, bh);
        cairo_fill_preserve(cr);
        cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
        cairo_set_line_width(cr, 1.0);
        cairo_stroke(cr);
        int row = 0;
        for (int k = 0; k < n_series; k++) {
            const nexp_plot_series *s = &series[k];
            if (s->label == NULL) {
                continue;
            }
            const double *c = palette[((s->color % 8) + 8) % 8];
            double yy = by + 14 + 18.0 * row++;
            cairo_set_source_rgb(cr, c[0], c[1], c[2]);
            if (s->style == NEXP_PLOT_POINTS) {
                cairo_arc(cr, bx + 16, yy - 4, 3.5, 0, 2 * M_PI);
                cairo_fill(cr);
            } else {
                double dash[2] = { 7.0, 4.0 };
                cairo_set_dash(cr, dash, s->style == NEXP_PLOT_DASHED ? 2 : 0, 0);
                cairo_set_line_width(cr, 2.0);
                cairo_move_to(cr, bx + 6, yy - 4);
                cairo_line_to(cr, bx + 28, yy - 4);
                cairo_stroke(cr);
                cairo_set_dash(cr, dash, 0, 0);
            }
            cairo_set_source_rgb(cr, 0, 0, 0);
            cairo_move_to(cr, bx + 34, yy);
            cairo_show_text(cr, s->label);
        }
    }
#undef PX
#undef PY
    cairo_destroy(cr);
    cairo_surface_flush(surf);

    nexp_atomic_file af;
    nexp_status st = nexp_atomic_open(&af, path, err);
    if (st == NEXP_OK) {
        if (cairo_surface_write_to_png_stream(surf, write_stream, af.fp) != CAIRO_STATUS_SUCCESS) {
            nexp_atomic_abort(&af);
            st = nexp_error_set(err, NEXP_ERR_IO, "%s: cannot write the PNG", path);
        } else {
            st = nexp_atomic_commit(&af, err);
        }
    }
    cairo_surface_destroy(surf);
    return st;
}

void nexp_plot_release_caches(void)
{
    cairo_debug_reset_static_data();
    FcFini();
}
