/* nexp flowviz IN OUT.png: the Middlebury colour coding of a flow field. */
#include <getopt.h>
#include <math.h>

#include "cli.h"
#include "nexp_io.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: nexp flowviz IN OUT.png [OPTIONS]\n"
            "Draw a flow field (2 channels: u, v) with the Middlebury colour wheel (Baker et al.,\n"
            "IJCV 2011): the hue gives the direction (right red, down yellow, left cyan-blue,\n"
            "up violet), the saturation the length; zero motion is white, unknown vectors black,\n"
            "vectors longer than the normalisation radius are darkened to 75 %%.\n"
            "Output: 8-bit RGB PNG, written atomically.\n\n"
            "Options:\n"
            "  --max-flow R   normalise by R pixels         [default: the largest valid |flow|]\n"
            "  --from NAME    read IN as NAME (flo, h5, kitti, pfm)     [default: by extension]\n"
            "  --dataset NAME HDF5 dataset to read                      [default: field]\n"
            CLI_MAX_MEMORY_HELP
            "  -h, --help     this help\n\n"
            "Examples:\n"
            "  nexp flowviz ../shared/data/flow/sintel-alley/flow_0002.flo flow.png\n"
            "  nexp flowviz flow.flo flow.png --max-flow 20   # same scale for several frames\n");
}

static int cmd_flowviz(int argc, char **argv)
{
    static const struct option opts[] = { { "max-flow", required_argument, NULL, 'm' },
                                          { "from", required_argument, NULL, 'f' },
                                          { "dataset", required_argument, NULL, 'd' },
                                          { "max-memory", required_argument, NULL, CLI_OPT_MAX_MEMORY },
        { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    nexp_read_options ro = { NEXP_FORMAT_UNKNOWN, NULL };
    double max_flow = 0.0;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            max_flow = cli_parse_double("flowviz", "--max-flow", optarg, 0.0, 1e9);
            if (max_flow <= 0.0) {
                cli_usage_error("flowviz", "--max-flow must be positive");
            }
            break;
        case 'f':
            ro.format = nexp_format_from_name(optarg);
            if (ro.format == NEXP_FORMAT_UNKNOWN) {
                cli_usage_error("flowviz", "--from: unknown format '%s'", optarg);
            }
            break;
        case 'd':
            ro.dataset = optarg;
            break;
        case CLI_OPT_MAX_MEMORY:
            cli_set_max_memory("flowviz", optarg);
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            cli_option_error("flowviz", c, argv[optind - 1]);
        }
    }
    if (argc - optind != 2) {
        cli_usage_error("flowviz", "expected IN and OUT.png, got %d arguments", argc - optind);
    }
    const char *in = argv[optind], *out = argv[optind + 1];
    if (nexp_format_from_path(out) != NEXP_FORMAT_PNG) {
        cli_usage_error("flowviz", "the output '%s' must be a .png file", out);
    }
    nexp_error err = NEXP_ERROR_INIT;
    nexp_field *flow = NULL, *rgb = NULL;
    if (nexp_field_read_ex(in, &ro, &flow, &err) != NEXP_OK) {
        cli_die_err("flowviz", &err);
    }
    if (flow->channels != 2) {
        int ch = flow->channels;
        nexp_field_free(flow);
        cli_die("flowviz", "%s: not a flow field (%d channels, need 2: u, v)", in, ch);
    }
    nexp_status st = nexp_flow_to_color(flow, max_flow, &rgb, &err);
    nexp_field_free(flow);
    if (st != NEXP_OK) {
        cli_die_err("flowviz", &err);
    }
    st = nexp_png_write(out, rgb, 8, &err);
    nexp_field_free(rgb);
    if (st != NEXP_OK) {
        cli_die_err("flowviz", &err);
    }
    return CLI_EXIT_OK;
}

NEXP_CLI_COMMAND(flowviz, "flowviz", "draw a flow field with the Middlebury colour wheel (PNG)", cmd_flowviz)
