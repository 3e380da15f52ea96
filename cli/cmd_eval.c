/* nexp eval EST.flo GT.flo: endpoint error, angular error and Fl of a flow estimate. */
#include <getopt.h>

#include "cli.h"
#include "nexp_flowmetrics.h"
#include "nexp_io.h"
#include "nexp_mask.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: nexp eval EST GT [--mask M.png] [--json]\n"
            "Compare a flow estimate with ground truth over the valid pixels of GT:\n"
            "  EPE  mean endpoint error |(u, v) - (u_gt, v_gt)| in pixels\n"
            "  AAE  average angular error between (u, v, 1) and (u_gt, v_gt, 1) in degrees\n"
            "       (Barron, Fleet, Beauchemin 1994)\n"
            "  Fl   share of pixels whose error exceeds both 3 px and 5 %% of |gt|\n"
            "With --mask the numbers are also split into the known pixels (nonzero in the mask)\n"
            "and the unknown ones that inpainting filled. An estimate that is unknown where GT is\n"
            "valid is an error.\n\n"
            "Options:\n"
            "  --mask M     known-pixel mask (PNG, nonzero = known)\n"
            "  --json       print one JSON object: {\"epe\", \"aae\", \"fl\", \"count\",\n"
            "               \"known\": {...}, \"unknown\": {...}} (fl as a fraction 0..1)\n"
            CLI_MAX_MEMORY_HELP
            "  -h, --help   this help\n\n"
            "Example:\n"
            "  nexp eval dense.flo ../shared/data/flow/sintel-alley/flow_0002.flo --mask m.png\n");
}

static void print_json_set(FILE *out, const nexp_flow_error_set *s)
{
    fprintf(out, "\"epe\": %.9g, \"aae\": %.9g, \"fl\": %.9g, \"count\": %zu", s->epe, s->aae, s->fl, s->count);
}

static int cmd_eval(int argc, char **argv)
{
    static const struct option opts[] = { { "mask", required_argument, NULL, 'm' },
                                          { "json", no_argument, NULL, 'j' },
                                          { "max-memory", required_argument, NULL, CLI_OPT_MAX_MEMORY },
        { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    const char *mask_path = NULL;
    int json = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            mask_path = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case CLI_OPT_MAX_MEMORY:
            cli_set_max_memory("eval", optarg);
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            cli_option_error("eval", c, argv[optind - 1]);
        }
    }
    if (argc - optind != 2) {
        cli_usage_error("eval", "expected EST and GT, got %d arguments", argc - optind);
    }
    nexp_error err = NEXP_ERROR_INIT;
    nexp_field *est = NULL, *gt = NULL, *mimg = NULL, *known = NULL;
    if (nexp_field_read(argv[optind], &est, &err) != NEXP_OK || nexp_field_read(argv[optind + 1], &gt, &err) != NEXP_OK) {
        cli_die_err("eval", &err);
    }
    if (mask_path != NULL) {
        if (nexp_field_read(mask_path, &mimg, &err) != NEXP_OK || nexp_mask_from_image(mimg, &known, &err) != NEXP_OK) {
            cli_die_err("eval", &err);
        }
    }
    nexp_flow_errors e;
    nexp_status st = nexp_flow_errors_compute(est, gt, known, &e, &err);
    nexp_field_free(est);
    nexp_field_free(gt);
    nexp_field_free(mimg);
    nexp_field_free(known);
    if (st != NEXP_OK) {
        cli_die_err("eval", &err);
    }
    if (json) {
        printf("{");
        print_json_set(stdout, &e.all);
        printf(", \"known\": {");
        print_json_set(stdout, &e.known);
        printf("}, \"unknown\": {");
        print_json_set(stdout, &e.unknown);
        printf("}}\n");
    } else {
        printf("EPE %.4f px  AAE %.3f deg  Fl %.2f %%  (%zu pixels)\n", e.all.epe, e.all.aae, 100.0 * e.all.fl,
               e.all.count);
        if (mask_path != NULL) {
            printf("  known    EPE %.4f px  AAE %.3f deg  Fl %.2f %%  (%zu pixels)\n", e.known.epe, e.known.aae,
                   100.0 * e.known.fl, e.known.count);
            printf("  unknown  EPE %.4f px  AAE %.3f deg  Fl %.2f %%  (%zu pixels)\n", e.unknown.epe,
                   e.unknown.aae, 100.0 * e.unknown.fl, e.unknown.count);
        }
    }
    return CLI_EXIT_OK;
}

NEXP_CLI_COMMAND(eval, "eval", "endpoint error, angular error and Fl of a flow estimate", cmd_eval)
