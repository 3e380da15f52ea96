/* make_flow — render an analytic optical-flow field to a file (any format nexp writes; .flo, .h5).
 *
 * The scene: a background translating by (a, b) = (1.75, -0.6) px and, in front of it, a disc of
 * radius R centred at c = (cx, cy) rotating by the angle omega per frame (small-angle form):
 *
 *   background:  u(x, y) = a,                      v(x, y) = b
 *   disc:        u(x, y) = -omega (y - cy) + s_x,  v(x, y) = omega (x - cx) + s_y,   |(x, y) - c| < R
 *
 * where (s_x, s_y) = (-0.9, 1.1) is the disc's own drift. Pixels within 1 px of the disc's rim are
 * occlusion boundaries and are stored as unknown vectors (the validity mask; 1e10 in .flo).
 *
 *   make_flow OUT.flo [WIDTH HEIGHT]      (default 320 x 240)
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "nexp.h"
#include "nexp_io.h"

static int parse_size(const char *s, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (s[0] == '\0' || *end != '\0' || errno != 0 || v < 8 || v > 8192) {
        return -1;
    }
    *out = (int)v;
    return 0;
}

int main(int argc, char **argv)
{
    int w = 320, h = 240;
    if ((argc != 2 && argc != 4) || (argc == 4 && (parse_size(argv[2], &w) != 0 || parse_size(argv[3], &h) != 0))) {
        fprintf(stderr, "usage: make_flow OUT.flo [WIDTH HEIGHT]   (sizes 8..8192, default 320 240)\n");
        return 2;
    }
    const double a = 1.75, b = -0.6, sx = -0.9, sy = 1.1;
    const double cx = 0.55 * w, cy = 0.5 * h, radius = 0.32 * (w < h ? w : h);
    const double omega = 6.0 / radius; /* the rim moves 6 px per frame relative to the centre */
    nexp_error err = NEXP_ERROR_INIT;
    nexp_field *flow = NULL;
    if (nexp_field_create(&flow, w, h, 2, &err) != NEXP_OK || nexp_field_ensure_mask(flow, &err) != NEXP_OK) {
        fprintf(stderr, "make_flow: %s\n", err.msg);
        nexp_field_free(flow);
        return 1;
    }
    flow->kind = NEXP_KIND_FLOW;
    for (int y = 0; y < h; y++) {
        float *u = nexp_field_row(flow, 0, y), *v = nexp_field_row(flow, 1, y);
        uint8_t *m = flow->mask + (size_t)y * flow->stride;
        for (int x = 0; x < w; x++) {
            double r = hypot(x - cx, y - cy);
            if (fabs(r - radius) < 1.0) {
                m[x] = 0;
                u[x] = 0.0f;
                v[x] = 0.0f;
            } else if (r < radius) {
                u[x] = (float)(-omega * (y - cy) + sx);
                v[x] = (float)(omega * (x - cx) + sy);
            } else {
                u[x] = (float)a;
                v[x] = (float)b;
            }
        }
    }
    int rc = 0;
    if (nexp_field_write(argv[1], flow, &err) != NEXP_OK) {
        fprintf(stderr, "make_flow: %s\n", err.msg);
        rc = 1;
    } else {
        printf("make_flow: wrote %s (%d x %d, %zu unknown vectors on the disc's rim)\n", argv[1], w, h,
               (size_t)w * (size_t)h - nexp_field_count_valid(flow));
    }
    nexp_field_free(flow);
    return rc;
}
