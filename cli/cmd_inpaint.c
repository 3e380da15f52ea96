/* nexp inpaint: densify a sparse flow field (or any field) by diffusion inpainting.
 *
 * Methods live in one table (methods[] below): a new method adds a run function and a row. */
#include <getopt.h>
#include <math.h>
#include <string.h>

#include "cli.h"
#include "nexp_h5.h"
#include "nexp_inpaint.h"
#include "nexp_io.h"
#include "nexp_learned.h"
#include "nexp_mask.h"

/* Everything the command line can set; a method reads what it needs. has_* tell what was given. */
typedef struct inpaint_args {
    double lambda, sigma, alpha, tol;
    int has_lambda, has_sigma, has_alpha;
    int levels, has_levels;
    int cycle, has_cycle;
    nexp_diffusion_scheme scheme;
    int has_scheme;
    int steps[NEXP_INPAINT_MAX_LEVELS], n_steps;
    int quiet;
    const char *model_path;  /* learned: --model (NULL: the shipped model) */
    const char *export_path; /* learned: --export-tensor T.h5 (NULL: none) */
} inpaint_args;

typedef struct inpaint_method {
    const char *name;
    int needs_image; /* 1: --image is required */
    const char *help;
    nexp_status (*run)(const inpaint_args *a, const nexp_field *flow, const nexp_field *known,
                       const nexp_field *image, nexp_field **out, char *summary, size_t len, nexp_error *err);
} inpaint_method;

/* Apply --levels and --steps to library options. */
static void apply_pyramid_args(const inpaint_args *a, nexp_inpaint_options *o)
{
    if (a->has_levels) {
        o->levels = a->levels;
    }
    if (a->n_steps > 0) {
        o->n_steps = a->n_steps;
        memcpy(o->steps, a->steps, sizeof o->steps);
    }
    if (a->has_cycle) {
        o->fed_cycle = a->cycle;
    }
}

/* Apply --lambda, --sigma, --alpha, --scheme to EED options. */
static void apply_eed_args(const inpaint_args *a, nexp_inpaint_options *o)
{
    apply_pyramid_args(a, o);
    if (a->has_lambda) {
        o->lambda = a->lambda;
    }
    if (a->has_sigma) {
        o->sigma = a->sigma;
    }
    if (a->has_alpha) {
        o->alpha = a->alpha;
    }
    if (a->has_scheme) {
        o->scheme = a->scheme;
    }
}

static int report_level(int done, int total, void *user)
{
    nexp_progress_update((nexp_progress *)user, done, "level %d of %d", done, total);
    return 0;
}

static nexp_status run_library(nexp_inpaint_options *o, const inpaint_args *a, const nexp_field *flow,
                               const nexp_field *known, const nexp_field *image, nexp_field **out, char *summary,
                               size_t len, nexp_error *err)
{
    nexp_inpaint_report rep;
    nexp_progress *prog = NULL;
    if (o->method != NEXP_INPAINT_HOMOGENEOUS) {
        int maxl = nexp_pyramid_max_levels(flow->width, flow->height);
        prog = nexp_progress_create("inpaint", o->levels < maxl ? o->levels : maxl, cli_progress_mode(a->quiet),
                                    stderr);
        o->progress = report_level;
        o->progress_user = prog;
    }
    nexp_status st = nexp_inpaint(flow, known, image, o, out, &rep, err);
    if (prog != NULL && st == NEXP_OK) {
        nexp_progress_update(prog, rep.levels, "done");
    }
    nexp_progress_finish(prog);
    if (st != NEXP_OK) {
        return st;
    }
    if (o->method == NEXP_INPAINT_HOMOGENEOUS) {
        snprintf(summary, len, "%d multigrid levels, %d PCG iterations, relative residual %.2g, CPU %.3f s, %.3f s",
                 rep.laplace.levels, rep.laplace.iterations, rep.laplace.rel_residual, rep.cpu_seconds, rep.seconds);
    } else {
        snprintf(summary, len, "%d levels, %ld explicit steps, CPU %.3f s, %.3f s", rep.levels, rep.steps,
                 rep.cpu_seconds, rep.seconds);
    }
    return NEXP_OK;
}

static nexp_status run_homogeneous(const inpaint_args *a, const nexp_field *flow, const nexp_field *known,
                                   const nexp_field *image, nexp_field **out, char *summary, size_t len,
                                   nexp_error *err)
{
    nexp_inpaint_options o = nexp_inpaint_defaults(NEXP_INPAINT_HOMOGENEOUS);
    o.tol = a->tol;
    return run_library(&o, a, flow, known, image, out, summary, len, err);
}

static nexp_status run_homogeneous_explicit(const inpaint_args *a, const nexp_field *flow, const nexp_field *known,
                                            const nexp_field *image, nexp_field **out, char *summary, size_t len,
                                            nexp_error *err)
{
    nexp_inpaint_options o = nexp_inpaint_defaults(NEXP_INPAINT_HOMOGENEOUS_EXPLICIT);
    apply_pyramid_args(a, &o);
    return run_library(&o, a, flow, known, image, out, summary, len, err);
}

static nexp_status run_eed(const inpaint_args *a, const nexp_field *flow, const nexp_field *known,
                           const nexp_field *image, nexp_field **out, char *summary, size_t len, nexp_error *err)
{
    nexp_inpaint_options o = nexp_inpaint_defaults(NEXP_INPAINT_EED);
    apply_eed_args(a, &o);
    return run_library(&o, a, flow, known, image, out, summary, len, err);
}

static nexp_status run_eed_flow(const inpaint_args *a, const nexp_field *flow, const nexp_field *known,
                                const nexp_field *image, nexp_field **out, char *summary, size_t len,
                                nexp_error *err)
{
    (void)image;
    nexp_inpaint_options o = nexp_inpaint_defaults(NEXP_INPAINT_EED_FLOW);
    apply_eed_args(a, &o);
    return run_library(&o, a, flow, known, NULL, out, summary, len, err);
}

/* The shipped model: beside the sources (build tree) or in the installed data folder. */
static const char *default_model_path(void)
{
    static const char *candidates[] = { NEXP_DATA_DIR "/inpaint-model.h5", NEXP_INSTALLED_DATA_DIR "/inpaint-model.h5" };
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        FILE *fp = fopen(candidates[i], "rb");
        if (fp != NULL) {
            fclose(fp);
            return candidates[i];
        }
    }
    return candidates[0];
}

/* HSV (h in [0, 1), s, v in [0, 1]) to 8-bit RGB values. */
static void hsv_to_rgb(float h, float s, float v, float rgb[3])
{
    float hh = 6.0f * (h - floorf(h));
    int i = (int)hh;
    float f = hh - (float)i, p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    float r[6] = { v, q, p, p, t, v }, g[6] = { t, v, v, q, p, p }, b[6] = { p, p, t, v, v, q };
    i = i > 5 ? 5 : i;
    rgb[0] = 255.0f * r[i];
    rgb[1] = 255.0f * g[i];
    rgb[2] = 255.0f * b[i];
}

/* PNG of the tensors, one panel per level stacked top (finest) to bottom: hue = direction of the
 * first eigenvector (mod 180 degrees), saturation = anisotropy 1 - lambda2 / lambda1 (for
 * lambda1 >= lambda2), brightness = the larger eigenvalue. */
static nexp_status write_tensor_png(const char *path, const nexp_field *t, int levels, nexp_error *err)
{
    nexp_field *img = NULL;
    nexp_status st = nexp_field_create(&img, t->width, t->height * levels, 3, err);
    if (st != NEXP_OK) {
        return st;
    }
    img->kind = NEXP_KIND_IMAGE;
    img->bit_depth = 8;
    for (int l = 0; l < levels; l++) {
        for (int y = 0; y < t->height; y++) {
            for (int x = 0; x < t->width; x++) {
                float ex = nexp_field_get(t, 5 * l, x, y), ey = nexp_field_get(t, 5 * l + 1, x, y);
                float l1 = nexp_field_get(t, 5 * l + 2, x, y), l2 = nexp_field_get(t, 5 * l + 3, x, y);
                float hi = l1 > l2 ? l1 : l2, lo = l1 > l2 ? l2 : l1;
                float ang = atan2f(l1 >= l2 ? ey : ex, l1 >= l2 ? ex : -ey);
                float rgb[3];
                hsv_to_rgb(ang / (float)M_PI, hi > 0.0f ? 1.0f - lo / hi : 0.0f, hi, rgb);
                for (int c = 0; c < 3; c++) {
                    nexp_field_row(img, c, l * t->height + y)[x] = rgb[c];
                }
            }
        }
    }
    st = nexp_png_write(path, img, 8, err);
    nexp_field_free(img);
    return st;
}

static nexp_status run_learned(const inpaint_args *a, const nexp_field *flow, const nexp_field *known,
                               const nexp_field *image, nexp_field **out, char *summary, size_t len, nexp_error *err)
{
    const char *path = a->model_path != NULL ? a->model_path : default_model_path();
    nexp_learned *m = NULL;
    nexp_status st = nexp_learned_load(&m, path, err);
    if (st != NEXP_OK) {
        return st;
    }
    double t0 = nexp_time_now();
    st = nexp_learned_inpaint(m, image, flow, known, out, err);
    double secs = nexp_time_now() - t0;
    if (st == NEXP_OK && a->export_path != NULL) {
        nexp_field *t = NULL;
        int levels = 0;
        st = nexp_learned_tensors(m, image, flow, known, &t, &levels, err);
        if (st == NEXP_OK) {
            nexp_h5_attrs at = NEXP_H5_ATTRS_INIT;
            at.kind = "tensor";
            at.metadata = "learned diffusion tensors, 5 channels per pyramid level (finest first): e_x, e_y (unit "
                          "eigenvector of lambda1), lambda1, lambda2, alpha; coarse levels upsampled (nearest)";
            st = nexp_h5_write_field(a->export_path, "field", t, &at, err);
        }
        if (st == NEXP_OK) {
            char png[4096];
            size_t n = strlen(a->export_path);
            const char *dot = strrchr(a->export_path, '.');
            size_t stem = dot != NULL && strchr(dot, '/') == NULL ? (size_t)(dot - a->export_path) : n;
            snprintf(png, sizeof png, "%.*s.png", (int)stem, a->export_path);
            st = write_tensor_png(png, t, levels, err);
        }
        nexp_field_free(t);
    }
    if (st == NEXP_OK) {
        char shape[128];
        snprintf(summary, len, "model %s (%s), %.3f s", path, cli_learned_shape(&m->spec, shape, sizeof shape), secs);
    }
    nexp_learned_free(m);
    return st;
}

static const inpaint_method methods[] = {
    { "homogeneous", 0,
      "Laplace equation solved exactly (PCG + multigrid, --tol); smooth, blurs motion edges",
      run_homogeneous },
    { "homogeneous-explicit", 0,
      "the same model by explicit FED steps, coarse to fine (--levels, --steps)", run_homogeneous_explicit },
    { "eed", 1,
      "edge-enhancing diffusion steered by the reference image: motion edges\n"
      "                         follow image edges (--lambda, --sigma, --alpha, --scheme)",
      run_eed },
    { "eed-flow", 0, "classic EED, the tensor from the evolving flow itself", run_eed_flow },
    { "learned", 1,
      "neuroexplicit: a trained network predicts the diffusion tensor per pixel\n"
      "                         and level from the image and the coarser level's result,\n"
      "                         explicit steps diffuse (--model, --export-tensor)",
      run_learned },
};
#define N_METHODS ((int)(sizeof methods / sizeof methods[0]))

static void format_steps(const nexp_inpaint_options *o, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < o->n_steps && used < len; i++) {
        used += (size_t)snprintf(buf + used, len - used, i ? ",%d" : "%d", o->steps[i]);
    }
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: nexp inpaint --flow F --out DENSE.flo [--mask M.png] [--image REF.png]\n"
            "                    [--method NAME] [OPTIONS]\n"
            "Fill in a sparse flow field by diffusion: pixels where the mask is nonzero keep their\n"
            "vectors (values of F elsewhere are ignored, so a dense ground truth plus a mask is a\n"
            "valid input); the others follow the diffusion from them. Without --mask the unknown\n"
            "vectors of F (|value| > 1e9 or NaN, as in .flo files) are the holes.\n\n"
            "Methods (--method):\n");
    for (int i = 0; i < N_METHODS; i++) {
        fprintf(out, "  %-22s %s%s\n", methods[i].name, methods[i].help, methods[i].needs_image ? " [needs --image]" : "");
    }
    nexp_inpaint_options he = nexp_inpaint_defaults(NEXP_INPAINT_HOMOGENEOUS_EXPLICIT);
    nexp_inpaint_options ee = nexp_inpaint_defaults(NEXP_INPAINT_EED);
    char hsteps[128], esteps[128];
    format_steps(&he, hsteps, sizeof hsteps);
    format_steps(&ee, esteps, sizeof esteps);
    fprintf(out,
            "\nOptions:\n"
            "  --flow F        sparse or dense flow (.flo, .h5, ...)                  [required]\n"
            "  --out DENSE     output field, written atomically (.flo, .h5, .pfm)    [required]\n"
            "  --mask M        known pixels: PNG, nonzero = known             [default: from F]\n"
            "  --image REF     reference image (frame 1, PNG/PPM), for guided methods\n"
            "  --method NAME   one of the methods above                [default: homogeneous]\n"
            "  --tol T         relative residual of the homogeneous solver     [default: %g]\n"
            "Explicit methods run coarse to fine: the data are pooled 2 x 2 (mean of the known\n"
            "pixels) into a pyramid; each level starts from the bilinear upsampling of the coarser\n"
            "result and runs its steps with the known pixels fixed.\n"
            "  --levels K      pyramid levels                   [default: %d, EED %d]\n"
            "  --steps n1,...  steps per level, COARSEST FIRST; the last number repeats for the\n"
            "                  finer levels     [default: %s; EED %s]\n"
            "  --cycle L       steps per FED/FSI cycle (eed-flow: tensor update) [default: %d]\n"
            "  --scheme S      fed or fsi (EED)                                 [default: fed]\n"
            "  --lambda L      EED contrast: image gradients (grey values 0..255) above about L\n"
            "                  stop diffusion across them                       [default: %g]\n"
            "  --sigma S       Gaussian pre-smoothing of the tensor's image      [default: %g]\n"
            "  --alpha A       delta-stencil alpha in [0, 0.5]                   [default: %g]\n"
            "  --model M.h5    learned: model file from 'nexp train-inpaint'\n"
            "                  [default: the shipped data/inpaint-model.h5]\n"
            "  --export-tensor T.h5  learned: also write the predicted tensors (per level: e_x,\n"
            "                  e_y, lambda1, lambda2, alpha) and their rendering T.png\n"
            "  --viz PNG       also write the Middlebury colour coding of the result\n"
            "  --threads N     OpenMP threads                           [default: all cores]\n"
            "  -q, --quiet     no summary line on stderr\n"
            CLI_MAX_MEMORY_HELP
            "  -h, --help      this help\n\n"
            "Defaults were chosen on the Sintel alley_1 frame and the FlyingChairs crops at\n"
            "1-10 %% density (bench/inpaint_peers.py).\n\n"
            "Example:\n"
            "  D=../shared/data/flow/sintel-alley\n"
            "  nexp mask --like $D/flow_0002.flo --density 0.05 --seed 1 m.png\n"
            "  nexp inpaint --flow $D/flow_0002.flo --mask m.png --image $D/clean/frame_0002.png \\\n"
            "               --method eed --out dense.flo --viz dense.png\n"
            "  nexp eval dense.flo $D/flow_0002.flo --mask m.png\n",
            he.tol, he.levels, ee.levels, hsteps, esteps, ee.fed_cycle, ee.lambda, ee.sigma, ee.alpha);
}

static int cmd_inpaint(int argc, char **argv)
{
    enum { O_FLOW = 1000, O_OUT, O_MASK, O_IMAGE, O_METHOD, O_LAMBDA, O_SIGMA, O_ALPHA, O_LEVELS, O_STEPS, O_TOL,
           O_VIZ, O_THREADS, O_CYCLE, O_SCHEME, O_MODEL, O_EXPORT };
    static const struct option opts[] = { { "flow", required_argument, NULL, O_FLOW },
                                          { "out", required_argument, NULL, O_OUT },
                                          { "mask", required_argument, NULL, O_MASK },
                                          { "image", required_argument, NULL, O_IMAGE },
                                          { "method", required_argument, NULL, O_METHOD },
                                          { "levels", required_argument, NULL, O_LEVELS },
                                          { "lambda", required_argument, NULL, O_LAMBDA },
                                          { "sigma", required_argument, NULL, O_SIGMA },
                                          { "alpha", required_argument, NULL, O_ALPHA },
                                          { "cycle", required_argument, NULL, O_CYCLE },
                                          { "scheme", required_argument, NULL, O_SCHEME },
                                          { "steps", required_argument, NULL, O_STEPS },
                                          { "tol", required_argument, NULL, O_TOL },
                                          { "viz", required_argument, NULL, O_VIZ },
                                          { "model", required_argument, NULL, O_MODEL },
                                          { "export-tensor", required_argument, NULL, O_EXPORT },
                                          { "threads", required_argument, NULL, O_THREADS },
                                          { "quiet", no_argument, NULL, 'q' },
                                          { "max-memory", required_argument, NULL, CLI_OPT_MAX_MEMORY },
        { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    const char *flow_path = NULL, *out_path = NULL, *mask_path = NULL, *image_path = NULL, *viz_path = NULL;
    const char *method_name = "homogeneous";
    inpaint_args a;
    memset(&a, 0, sizeof a);
    a.tol = 1e-6;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hq", opts, NULL)) != -1) {
        switch (c) {
        case O_FLOW:
            flow_path = optarg;
            break;
        case O_OUT:
            out_path = optarg;
            break;
        case O_MASK:
            mask_path = optarg;
            break;
        case O_IMAGE:
            image_path = optarg;
            break;
        case O_METHOD:
            method_name = optarg;
            break;
        case O_LEVELS:
            a.levels = (int)cli_parse_long("inpaint", "--levels", optarg, 1, NEXP_INPAINT_MAX_LEVELS);
            a.has_levels = 1;
            break;
        case O_LAMBDA:
            a.lambda = cli_parse_double("inpaint", "--lambda", optarg, 1e-9, 1e9);
            a.has_lambda = 1;
            break;
        case O_SIGMA:
            a.sigma = cli_parse_double("inpaint", "--sigma", optarg, 0.0, 1e4);
            a.has_sigma = 1;
            break;
        case O_ALPHA:
            a.alpha = cli_parse_double("inpaint", "--alpha", optarg, 0.0, 0.5);
            a.has_alpha = 1;
            break;
        case O_CYCLE:
            a.cycle = (int)cli_parse_long("inpaint", "--cycle", optarg, 1, 100000);
            a.has_cycle = 1;
            break;
        case O_SCHEME:
            if (nexp_diffusion_scheme_parse(optarg, &a.scheme) != 0 ||
                (a.scheme != NEXP_SCHEME_FED && a.scheme != NEXP_SCHEME_FSI)) {
                cli_usage_error("inpaint", "--scheme: '%s' is not fed or fsi", optarg);
            }
            a.has_scheme = 1;
            break;
        case O_STEPS: {
            long s[NEXP_INPAINT_MAX_LEVELS];
            a.n_steps = cli_parse_long_list("inpaint", "--steps", optarg, s, NEXP_INPAINT_MAX_LEVELS);
            for (int i = 0; i < a.n_steps; i++) {
                if (s[i] < 0 || s[i] > 1000000) {
                    cli_usage_error("inpaint", "--steps: %ld is out of range [0, 1000000]", s[i]);
                }
                a.steps[i] = (int)s[i];
            }
            break;
        }
        case O_TOL:
            a.tol = cli_parse_double("inpaint", "--tol", optarg, 1e-12, 0.5);
            break;
        case O_VIZ:
            viz_path = optarg;
            break;
        case O_MODEL:
            a.model_path = optarg;
            break;
        case O_EXPORT:
            a.export_path = optarg;
            break;
        case O_THREADS:
            nexp_set_threads((int)cli_parse_long("inpaint", "--threads", optarg, 1, 1024));
            break;
        case 'q':
            a.quiet = 1;
            break;
        case CLI_OPT_MAX_MEMORY:
            cli_set_max_memory("inpaint", optarg);
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        case ':':
            cli_usage_error("inpaint", "option '%s' needs a value", argv[optind - 1]);
        default:
            cli_usage_error("inpaint", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc) {
        cli_usage_error("inpaint", "unexpected argument '%s'", argv[optind]);
    }
    if (flow_path == NULL || out_path == NULL) {
        cli_usage_error("inpaint", "--flow F and --out DENSE are required");
    }
    const inpaint_method *m = NULL;
    for (int i = 0; i < N_METHODS; i++) {
        if (strcmp(methods[i].name, method_name) == 0) {
            m = &methods[i];
        }
    }
    if (m == NULL) {
        cli_usage_error("inpaint", "--method: unknown method '%s'", method_name);
    }
    if (m->needs_image && image_path == NULL) {
        cli_usage_error("inpaint", "--method %s needs the reference image (--image REF.png)", m->name);
    }
    if ((a.model_path != NULL || a.export_path != NULL) && strcmp(m->name, "learned") != 0) {
        cli_usage_error("inpaint", "--model and --export-tensor apply to --method learned only");
    }
    if (a.export_path != NULL && nexp_format_from_path(a.export_path) != NEXP_FORMAT_H5) {
        cli_usage_error("inpaint", "--export-tensor: '%s' must be a .h5 file", a.export_path);
    }
    if (viz_path != NULL && nexp_format_from_path(viz_path) != NEXP_FORMAT_PNG) {
        cli_usage_error("inpaint", "--viz: '%s' must be a .png file", viz_path);
    }
    nexp_error err = NEXP_ERROR_INIT;
    nexp_field *flow = NULL, *mimg = NULL, *known = NULL, *image = NULL, *out = NULL, *rgb = NULL;
    if (nexp_field_read(flow_path, &flow, &err) != NEXP_OK) {
        cli_die_err("inpaint", &err);
    }
    nexp_status st;
    if (mask_path != NULL) {
        st = nexp_field_read(mask_path, &mimg, &err);
        if (st == NEXP_OK) {
            st = nexp_mask_from_image(mimg, &known, &err);
            if (st != NEXP_OK) {
                nexp_error_prefix(&err, mask_path);
            }
        }
    } else {
        st = nexp_inpaint_known_from_data(flow, &known, &err);
    }
    if (st == NEXP_OK && image_path != NULL) {
        st = nexp_field_read(image_path, &image, &err);
    }
    char summary[256] = { 0 };
    if (st == NEXP_OK) {
        st = m->run(&a, flow, known, image, &out, summary, sizeof summary, &err);
    }
    if (st == NEXP_OK) {
        st = nexp_field_write(out_path, out, &err);
    }
    if (st == NEXP_OK && viz_path != NULL) {
        st = nexp_flow_to_color(out, 0.0, &rgb, &err);
        if (st == NEXP_OK) {
            st = nexp_png_write(viz_path, rgb, 8, &err);
        }
    }
    if (st == NEXP_OK && !a.quiet) {
        fprintf(stderr, "nexp inpaint: %s, %zu of %d x %d pixels known; %s\n", m->name, nexp_mask_count(known),
                flow->width, flow->height, summary);
    }
    nexp_field_free(rgb);
    nexp_field_free(out);
    nexp_field_free(image);
    nexp_field_free(known);
    nexp_field_free(mimg);
    nexp_field_free(flow);
    if (st != NEXP_OK) {
        cli_die_err("inpaint", &err);
    }
    return CLI_EXIT_OK;
}

NEXP_CLI_COMMAND(inpaint, "inpaint", "densify a sparse flow field by diffusion inpainting", cmd_inpaint)
