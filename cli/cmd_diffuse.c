/* nexp diffuse IN OUT: diffusion filtering (homogeneous, nonlinear, EED, CED; guided) to a stopping time. */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "nexp_diffusion.h"
#include "nexp_io.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: nexp diffuse IN OUT --time T [OPTIONS]\n"
            "Diffuse every channel of a field (image, flow, ...) with du/dt = div(D grad u) and\n"
            "reflecting boundaries up to the stopping time T, on the delta stencil of Weickert, Welk\n"
            "& Wickert (2013). All channels share one tensor D. IN and OUT: .png .pgm .ppm .pfm .flo .h5\n"
            "(OUT written atomically; PNG/PGM/PPM values are rounded and clamped).\n\n"
            "Options:\n"
            "  --model M        homogeneous | pm | charbonnier | exp | eed | ced   [default: homogeneous]\n"
            "                   pm, charbonnier, exp: isotropic, D = g(|grad u_sigma|^2) I\n"
            "                   eed: edge-enhancing (smooth along edges, exp diffusivity)\n"
            "                   ced: coherence-enhancing (smooth along flow-like structures)\n"
            "  --time T         stopping time (T = sigma^2 / 2 for a Gaussian of std sigma)  [required]\n"
            "  --lambda L       contrast parameter of the diffusivity (grey levels)     [default: 4]\n"
            "  --sigma S        Gaussian pre-smoothing of the image the tensor comes from [default: 1]\n"
            "  --rho R          integration scale of the structure tensor (ced, also eed)\n"
            "                                                        [default: 4 for ced, else 0]\n"
            "  --alpha A        stencil parameter in [0, 0.5]   [default: 0.4 for eed/ced, else 0]\n"
            "  --scheme S       explicit | fed | fsi | implicit                       [default: fed]\n"
            "                   explicit: steps of tau <= 1/(4(1 - alpha)); fed/fsi: fast cycles of\n"
            "                   such steps; implicit: CVODE BDF with matrix-free GMRES (long times)\n"
            "  --tau t          explicit step / largest FED-FSI step       [default: the bound]\n"
            "  --cycles N       FED/FSI/implicit cycles; nonlinear models update D once per cycle\n"
            "                                                                 [default: automatic]\n"
            "  --guide IMAGE    compute D once from IMAGE (same size, any channels) instead of from\n"
            "                   the evolving field, e.g. diffuse a flow field along the frame's edges\n"
            "  --threads N      OpenMP threads                            [default: all cores]\n"
            "  --quiet          no progress output\n"
            CLI_MAX_MEMORY_HELP
            "  -h, --help       this help\n\n"
            "Examples:\n"
            "  nexp diffuse frame.png smooth.png --time 8\n"
            "  nexp diffuse noisy.png clean.png --model eed --lambda 3 --sigma 2 --time 30\n"
            "  nexp diffuse fingerprint.pgm ced.pgm --model ced --rho 4 --lambda 5 --time 50\n"
            "  nexp diffuse flow.flo smooth.flo --model eed --guide frame.png --time 20\n"
            "  nexp diffuse frame.png far.png --time 5000 --scheme implicit\n");
}

typedef struct progress_ctx {
    nexp_progress *bar;
} progress_ctx;

static int on_progress(double t, double T, void *user)
{
    progress_ctx *ctx = user;
    nexp_progress_update(ctx->bar, (long)(1000.0 * t / T + 0.5), "t %.4g of %.4g", t, T);
    return 0;
}

static int cmd_diffuse(int argc, char **argv)
{
    static const struct option opts[] = {
        { "model", required_argument, NULL, 'm' },   { "time", required_argument, NULL, 'T' },
        { "lambda", required_argument, NULL, 'l' },  { "sigma", required_argument, NULL, 's' },
        { "rho", required_argument, NULL, 'r' },     { "alpha", required_argument, NULL, 'a' },
        { "scheme", required_argument, NULL, 'S' },  { "tau", required_argument, NULL, 't' },
        { "cycles", required_argument, NULL, 'c' },  { "guide", required_argument, NULL, 'g' },
        { "threads", required_argument, NULL, 'j' }, { "quiet", no_argument, NULL, 'q' },
        { "max-memory", required_argument, NULL, CLI_OPT_MAX_MEMORY },
        { "help", no_argument, NULL, 'h' },          { NULL, 0, NULL, 0 }
    };
    nexp_diffusion_params prm = NEXP_DIFFUSION_PARAMS_INIT;
    prm.lambda = 4.0;
    prm.sigma = 1.0;
    double rho = -1.0, alpha = -1.0;
    int have_time = 0, quiet = 0;
    const char *guide_path = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (nexp_diffusion_model_parse(optarg, &prm.model) != 0 || prm.model == NEXP_DIFF_GIVEN) {
                cli_usage_error("diffuse", "--model: unknown model '%s' (homogeneous, pm, charbonnier, exp, eed, ced)",
                                optarg);
            }
            break;
        case 'T':
            prm.time = cli_parse_double("diffuse", "--time", optarg, 1e-12, 1e12);
            have_time = 1;
            break;
        case 'l':
            prm.lambda = cli_parse_double("diffuse", "--lambda", optarg, 1e-12, 1e12);
            break;
        case 's':
            prm.sigma = cli_parse_double("diffuse", "--sigma", optarg, 0.0, 1e6);
            break;
        case 'r':
            rho = cli_parse_double("diffuse", "--rho", optarg, 0.0, 1e6);
            break;
        case 'a':
            alpha = cli_parse_double("diffuse", "--alpha", optarg, 0.0, 0.5);
            break;
        case 'S':
            if (nexp_diffusion_scheme_parse(optarg, &prm.scheme) != 0) {
                cli_usage_error("diffuse", "--scheme: unknown scheme '%s' (explicit, fed, fsi, implicit)", optarg);
            }
            break;
        case 't':
            prm.tau = cli_parse_double("diffuse", "--tau", optarg, 1e-12, 1e6);
            break;
        case 'c':
            prm.cycles = (int)cli_parse_long("diffuse", "--cycles", optarg, 1, 1000000);
            break;
        case 'g':
            guide_path = optarg;
            break;
        case 'j':
            nexp_set_threads((int)cli_parse_long("diffuse", "--threads", optarg, 1, 1024));
            break;
        case 'q':
            quiet = 1;
            break;
        case CLI_OPT_MAX_MEMORY:
            cli_set_max_memory("diffuse", optarg);
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            cli_option_error("diffuse", c, argv[optind - 1]);
        }
    }
    if (argc - optind != 2) {
        cli_usage_error("diffuse", "expected IN and OUT, got %d arguments", argc - optind);
    }
    if (!have_time) {
        cli_usage_error("diffuse", "--time T is required");
    }
    const int aniso = prm.model == NEXP_DIFF_EED || prm.model == NEXP_DIFF_CED;
    prm.rho = rho >= 0.0 ? rho : (prm.model == NEXP_DIFF_CED ? 4.0 : 0.0);
    prm.alpha = alpha >= 0.0 ? alpha : (aniso ? 0.4 : 0.0);
    if (guide_path != NULL && prm.model == NEXP_DIFF_HOMOGENEOUS) {
        cli_usage_error("diffuse", "--guide needs a model with a tensor (pm, charbonnier, exp, eed, ced)");
    }
    const char *in = argv[optind], *out = argv[optind + 1];
    if (nexp_format_from_path(out) == NEXP_FORMAT_UNKNOWN) {
        cli_usage_error("diffuse", "cannot tell the output format of '%s' (use .flo .png .pgm .ppm .pfm .h5)", out);
    }
    nexp_error err = NEXP_ERROR_INIT;
    nexp_field *f = NULL, *guide = NULL;
    nexp_diffusion_plan *plan = NULL;
    if (nexp_field_read(in, &f, &err) != NEXP_OK) {
        cli_die_err("diffuse", &err);
    }
    const size_t valid = nexp_field_count_valid(f);
    if (valid != (size_t)f->width * (size_t)f->height) {
        cli_die("diffuse", "%s: %zu of %zu vectors are unknown; fill them first (nexp inpaint)", in,
                (size_t)f->width * (size_t)f->height - valid, (size_t)f->width * (size_t)f->height);
    }
    if (nexp_diffusion_plan_create(&plan, f->width, f->height, f->channels, &prm, &err) != NEXP_OK) {
        cli_die_err("diffuse", &err);
    }
    if (guide_path != NULL) {
        if (nexp_field_read(guide_path, &guide, &err) != NEXP_OK) {
            cli_die_err("diffuse", &err);
        }
        if (guide->width != f->width || guide->height != f->height) {
            cli_die("diffuse", "guide %s is %d x %d but %s is %d x %d", guide_path, guide->width, guide->height, in,
                    f->width, f->height);
        }
        if (nexp_diffusion_plan_set_guide(plan, guide, &err) != NEXP_OK) {
            cli_die_err("diffuse", &err);
        }
        nexp_field_free(guide);
    }
    progress_ctx ctx = { nexp_progress_create("diffuse", 1000, cli_progress_mode(quiet), stderr) };
    nexp_diffusion_run run = NEXP_DIFFUSION_RUN_INIT;
    run.progress = on_progress;
    run.user = &ctx;
    nexp_status st = nexp_diffusion_execute(plan, f, &run, &err);
    nexp_progress_finish(ctx.bar);
    if (st != NEXP_OK) {
        cli_die_err("diffuse", &err);
    }
    if (!quiet) {
        fprintf(stderr, "diffuse: %s, %s scheme, T = %g: %ld steps in %ld cycles", nexp_diffusion_model_name(prm.model),
                nexp_diffusion_scheme_name(prm.scheme), prm.time, run.steps, run.cycles);
        if (prm.scheme == NEXP_SCHEME_IMPLICIT) {
            fprintf(stderr, ", %ld stencil applications", run.rhs_evals);
        }
        fputc('\n', stderr);
    }
    nexp_diffusion_plan_free(plan);
    if (nexp_field_write(out, f, &err) != NEXP_OK) {
        nexp_field_free(f);
        cli_die_err("diffuse", &err);
    }
    nexp_field_free(f);
    return CLI_EXIT_OK;
}

NEXP_CLI_COMMAND(diffuse, "diffuse",
                 "diffusion filtering: homogeneous, nonlinear, EED, CED, guided (explicit/FED/FSI/implicit)",
                 cmd_diffuse)
