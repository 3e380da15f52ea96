/* heat_h5 — the heat equation du/dt = Laplace(u) with reflecting boundaries, written as an HDF5
 * time series and checked against the exact DCT solution.
 *
 *   heat_h5 [OUT.h5] [FRAMES] [INTERVAL]      (defaults: heat.h5 20 25)
 *
 * A 256 x 256 plate, hot (100) inside a disc and a bar, cold (0) elsewhere, diffuses with FED
 * cycles; each frame (dataset "u" of shape (FRAMES + 1, 1, 256, 256), times in "u_time") is
 * appended as the run goes. Read it with h5py: h5py.File("heat.h5")["u"][-1, 0].
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "nexp.h"
#include "nexp_diffusion.h"
#include "nexp_h5.h"
#include "nexp_spectral.h"

static void die(const char *what, const nexp_error *err)
{
    fprintf(stderr, "heat_h5: %s: %s\n", what, err->msg);
    exit(1);
}

int main(int argc, char **argv)
{
    const char *out = argc > 1 ? argv[1] : "heat.h5";
    const int frames = argc > 2 ? atoi(argv[2]) : 20;
    const double interval = argc > 3 ? atof(argv[3]) : 25.0;
    const int n = 256;
    if (frames < 1 || !(interval > 0.0)) {
        fprintf(stderr, "usage: heat_h5 [OUT.h5] [FRAMES >= 1] [INTERVAL > 0]\n");
        return 2;
    }
    nexp_error err = NEXP_ERROR_INIT;
    nexp_field *u = NULL, *u0 = NULL, *exact = NULL;
    if (nexp_field_create(&u, n, n, 1, &err) != NEXP_OK) {
        die("field", &err);
    }
    for (int y = 0; y < n; y++) {
        for (int x = 0; x < n; x++) {
            const double r = hypot(x - 90.0, y - 100.0);
            const int bar = x > 150 && x < 230 && y > 170 && y < 190;
            nexp_field_row(u, 0, y)[x] = (r < 40.0 || bar) ? 100.0f : 0.0f;
        }
    }
    nexp_field_clone(&u0, u, NULL);
    nexp_field_create_like(&exact, u, NULL);

    nexp_diffusion_params prm = NEXP_DIFFUSION_PARAMS_INIT; /* homogeneous, FED */
    prm.time = interval;
    nexp_diffusion_plan *plan = NULL;
    if (nexp_diffusion_plan_create(&plan, n, n, 1, &prm, &err) != NEXP_OK) {
        die("plan", &err);
    }
    nexp_h5_attrs attrs = NEXP_H5_ATTRS_INIT;
    attrs.kind = "scalar";
    attrs.units = "temperature";
    attrs.metadata = "heat equation, reflecting boundaries, FED cycles (nexp examples/heat_h5.c)";
    nexp_h5_series *series = NULL;
    if (nexp_h5_series_create(&series, out, "u", n, n, 1, &attrs, &err) != NEXP_OK) {
        die(out, &err);
    }
    if (nexp_h5_series_append(series, u, 0.0, &err) != NEXP_OK) {
        die(out, &err);
    }
    for (int k = 1; k <= frames; k++) {
        if (nexp_diffusion_execute(plan, u, NULL, &err) != NEXP_OK ||
            nexp_h5_series_append(series, u, k * interval, &err) != NEXP_OK) {
            nexp_h5_series_abort(series);
            die("step", &err);
        }
    }
    if (nexp_h5_series_close(series, &err) != NEXP_OK) {
        die(out, &err);
    }
    /* the exact semi-discrete solution at the final time */
    nexp_dct_plan *dct = NULL;
    if (nexp_dct_plan_create(&dct, n, n, NEXP_DCT_DOUBLE, &err) != NEXP_OK ||
        nexp_dct_heat(dct, u0, exact, frames * interval, 0.0, &err) != NEXP_OK) {
        die("dct", &err);
    }
    double worst = 0.0;
    for (int y = 0; y < n; y++) {
        for (int x = 0; x < n; x++) {
            worst = fmax(worst, fabs((double)nexp_field_get(u, 0, x, y) - nexp_field_get(exact, 0, x, y)));
        }
    }
    nexp_stats s;
    nexp_field_stats(u, 0, &s, NULL);
    printf("wrote %s: %d frames to t = %g; final min %.3f max %.3f mean %.4f; "
           "largest deviation from the exact DCT solution %.3g\n",
           out, frames + 1, frames * interval, s.min, s.max, s.mean, worst);
    nexp_dct_plan_free(dct);
    nexp_diffusion_plan_free(plan);
    nexp_field_free(u);
    nexp_field_free(u0);
    nexp_field_free(exact);
    return 0;
}
