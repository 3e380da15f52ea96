/* nexp inpaint: densify a sparse flow field (or any field) by diffusion inpainting.
 *
 * Methods live in one table (methods[] below): a new method adds a run function and a row. */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "nexp_inpaint.h"
#include "nexp_io.h"
#include "nexp_mask.h"

/* Everything the command line can set; a method reads what it needs. has_* tell what was given. */
typedef struct inpaint_args {
    double lambda, sigma, alpha, tol;
    int has_lambda, has_sigma, has_alpha;
    int levels, has_levels;
    int steps[NEXP_INPAINT_MAX_LEVELS], n_steps;
    int quiet;
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
}

static nexp_status run_library(nexp_inpaint_options *o, const inpaint_args *a, const nexp_field *flow,
                               const nexp_field *known, const nexp_field *image, nexp_field **out, char *summary,
                               size_t len, nexp_error *err)
{
    nexp_inpaint_report rep;
    nexp_status st = nexp_inpaint(flow, known, image, o, out, &rep, err);
    if (st != NEXP_OK) {
        return st;
    }
    if (o->method == NEXP_INPAINT_HOMOGENEOUS) {
        snprintf(summary, len, "%d multigrid levels, %d PCG iterations, relative residual %.2g, %.3f s",
                 rep.laplace.levels, rep.laplace.iterations, rep.laplace.rel_residual, rep.seconds);
    } else {
        snprintf(summary, len, "%d levels, %ld explicit steps, %.3f s", rep.levels, rep.steps, rep.seconds);
    }
    (void)a;
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

static const inpaint_method methods[] = {
    { "homogeneous", 0,
      "Laplace equation solved exactly (PCG + multigrid, --tol); smooth, blurs motion edges",
      run_homogeneous },
    { "homogeneous-explicit", 0,
      "the same model by explicit FED steps, coarse to fine (--levels, --steps)", run_homogeneous_explicit },
};
#define N_METHODS ((int)(sizeof methods / sizeof methods[0]))

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
    fprintf(out,
            "\nOptions:\n"
            "  --flow F        sparse or dense flow (.flo, .h5, ...)                  [required]\n"
            "  --out DENSE     output field, written atomically (.flo, .h5, .pfm)    [required]\n"
            "  --mask M        known pixels: PNG, nonzero = known             [default: from F]\n"
            "  --image REF     reference image (frame 1), for guided methods\n"
            "  --method NAME   one of the methods above                [default: homogeneous]\n"
            "  --levels K      coarse-to-fine pyramid levels (explicit methods)      [default: 6]\n"
            "  --steps n1,...  explicit steps per level, coarsest first; the last number\n"
            "                  repeats for the finer levels                        [default: 200]\n"
            "  --tol T         relative residual of the homogeneous solver       [default: 1e-6]\n"
            "  --viz PNG       also write the Middlebury colour coding of the result\n"
            "  --threads N     OpenMP threads                           [default: all cores]\n"
            "  -q, --quiet     no summary line on stderr\n"
            CLI_MAX_MEMORY_HELP
            "  -h, --help      this help\n\n"
            "Example:\n"
            "  D=../shared/data/flow/sintel-alley\n"
            "  nexp mask --like $D/flow_0002.flo --density 0.05 --seed 1 m.png\n"
            "  nexp inpaint --flow $D/flow_0002.flo --mask m.png --out dense.flo --viz dense.png\n"
            "  nexp eval dense.flo $D/flow_0002.flo --mask m.png\n");
}

static int cmd_inpaint(int argc, char **argv)
{
    enum { O_FLOW = 1000, O_OUT, O_MASK, O_IMAGE, O_METHOD, O_LAMBDA, O_SIGMA, O_ALPHA, O_LEVELS, O_STEPS, O_TOL,
           O_VIZ, O_THREADS };
    static const struct option opts[] = { { "flow", required_argument, NULL, O_FLOW },
                                          { "out", required_argument, NULL, O_OUT },
                                          { "mask", required_argument, NULL, O_MASK },
                                          { "image", required_argument, NULL, O_IMAGE },
                                          { "method", required_argument, NULL, O_METHOD },
                                          { "levels", required_argument, NULL, O_LEVELS },
                                          { "steps", required_argument, NULL, O_STEPS },
                                          { "tol", required_argument, NULL, O_TOL },
                                          { "viz", required_argument, NULL, O_VIZ },
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
