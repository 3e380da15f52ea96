/* nexp info FILE [--json]: format, size, per-channel statistics and, for flow, |flow| statistics. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nexp_io.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: nexp info FILE [OPTIONS]\n"
            "Print a field file's format, width, height, channels and per-channel min/max/mean/std\n"
            "(over valid, finite values). For 2-channel (flow) fields also the largest and mean\n"
            "|flow| over valid vectors and the number of unknown vectors.\n\n"
            "Options:\n"
            "  --json            print one JSON object instead of text: keys format, width, height,\n"
            "                    channels, kind, bit_depth, stats (per channel: min, max, mean, std,\n"
            "                    count) and, for flow, max_flow, mean_flow, unknown\n"
            "  --format NAME     read as NAME instead of guessing from the extension\n"
            "                    (flo, png, pgm, ppm, pfm, h5, kitti)   [default: by extension]\n"
            "  --dataset NAME    HDF5 dataset to read                    [default: field]\n"
            CLI_MAX_MEMORY_HELP
            "  -h, --help        this help\n\n"
            "Example:\n"
            "  nexp info ../shared/data/flow/sintel-alley/flow_0002.flo --json\n");
}

/* A JSON number, or null for NaN/infinity (JSON has no such numbers). */
static void json_number(double v)
{
    if (isfinite(v)) {
        printf("%.9g", v);
    } else {
        printf("null");
    }
}

static int cmd_info(int argc, char **argv)
{
    static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
                                          { "format", required_argument, NULL, 'f' },
                                          { "dataset", required_argument, NULL, 'd' },
                                          { "max-memory", required_argument, NULL, CLI_OPT_MAX_MEMORY },
        { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    int json = 0;
    nexp_read_options ro = { NEXP_FORMAT_UNKNOWN, NULL };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = 1;
            break;
        case 'f':
            ro.format = nexp_format_from_name(optarg);
            if (ro.format == NEXP_FORMAT_UNKNOWN) {
                cli_usage_error("info", "--format: unknown format '%s'", optarg);
            }
            break;
        case 'd':
            ro.dataset = optarg;
            break;
        case CLI_OPT_MAX_MEMORY:
            cli_set_max_memory("info", optarg);
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            cli_option_error("info", c, argv[optind - 1]);
        }
    }
    if (argc - optind != 1) {
        cli_usage_error("info", "expected one FILE, got %d arguments", argc - optind);
    }
    const char *path = argv[optind];
    nexp_format fmt = ro.format != NEXP_FORMAT_UNKNOWN ? ro.format : nexp_format_from_path(path);
    nexp_error err = NEXP_ERROR_INIT;
    nexp_field *f = NULL;
    if (nexp_field_read_ex(path, &ro, &f, &err) != NEXP_OK) {
        cli_die_err("info", &err);
    }
    nexp_stats *st = calloc((size_t)f->channels, sizeof *st);
    if (st == NULL) {
        nexp_field_free(f);
        cli_die("info", "out of memory");
    }
    for (int ch = 0; ch < f->channels; ch++) {
        nexp_field_stats(f, ch, &st[ch], NULL);
    }
    int is_flow = f->channels == 2 && f->kind != NEXP_KIND_IMAGE; /* not grey + alpha */
    nexp_flow_stats fs = { 0.0, 0.0, 0, 0 };
    if (is_flow) {
        nexp_flow_stats_compute(f, &fs, NULL);
    }
    if (json) {
        printf("{\"file\": ");
        cli_json_string(stdout, path);
        printf(", \"format\": \"%s\", \"width\": %d, \"height\": %d, \"channels\": %d, \"kind\": \"%s\", "
               "\"bit_depth\": %d",
               nexp_format_name(fmt), f->width, f->height, f->channels, nexp_field_kind_name(f->kind), f->bit_depth);
        if (is_flow) {
            printf(", \"max_flow\": ");
            json_number(fs.max_flow);
            printf(", \"mean_flow\": ");
            json_number(fs.mean_flow);
            printf(", \"unknown\": %zu", fs.unknown);
        }
        printf(", \"stats\": [");
        for (int ch = 0; ch < f->channels; ch++) {
            printf("%s{\"channel\": %d, \"min\": ", ch ? ", " : "", ch);
            json_number(st[ch].min);
            printf(", \"max\": ");
            json_number(st[ch].max);
            printf(", \"mean\": ");
            json_number(st[ch].mean);
            printf(", \"std\": ");
            json_number(st[ch].std);
            printf(", \"count\": %zu}", st[ch].count);
        }
        printf("]}\n");
    } else {
        printf("file:     %s\nformat:   %s\nsize:     %d x %d, %d channel%s\nkind:     %s", path,
               nexp_format_name(fmt), f->width, f->height, f->channels, f->channels == 1 ? "" : "s",
               nexp_field_kind_name(f->kind));
        if (f->bit_depth) {
            printf(" (%d bit)", f->bit_depth);
        }
        printf("\n");
        for (int ch = 0; ch < f->channels; ch++) {
            printf("channel %d: min %.6g  max %.6g  mean %.6g  std %.6g  (%zu values)\n", ch, st[ch].min, st[ch].max,
                   st[ch].mean, st[ch].std, st[ch].count);
        }
        if (is_flow) {
            printf("flow:     max |flow| %.4f  mean |flow| %.4f  unknown %zu of %zu vectors\n", fs.max_flow,
                   fs.mean_flow, fs.unknown, fs.unknown + fs.valid);
        }
    }
    free(st);
    nexp_field_free(f);
    return CLI_EXIT_OK;
}

NEXP_CLI_COMMAND(info, "info", "print format, size and statistics of a field file", cmd_info)
