/* nexp convert IN OUT: read a field in one format and write it in another, chosen by extension. */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "nexp_io.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: nexp convert IN OUT [OPTIONS]\n"
            "Convert a field file; both formats follow from the extensions\n"
            "(.flo .png .pgm .ppm .pfm .h5). The output is written atomically (a temporary file in\n"
            "the same folder, renamed into place). Flow (2 channels) goes to .flo, .h5; images to\n"
            "any format with their channel count (PGM 1, PPM 3, PFM 1 or 3, PNG 1-4).\n\n"
            "Options:\n"
            "  --dataset NAME     HDF5 dataset to read from / write to       [default: field]\n"
            "  --bit-depth 8|16   bit depth of PNG/PGM/PPM output  [default: the input's, else 8]\n"
            "  --from NAME        read IN as NAME (flo, png, pgm, ppm, pfm, h5, kitti)\n"
            "                     instead of guessing from the extension (kitti: KITTI flow PNG)\n"
            CLI_MAX_MEMORY_HELP
            "  -h, --help         this help\n\n"
            "Examples:\n"
            "  nexp convert flow.flo flow.h5\n"
            "  nexp convert --from kitti 000000_10.png flow.flo\n"
            "  nexp convert frame.png frame.ppm --bit-depth 16\n");
}

static int cmd_convert(int argc, char **argv)
{
    static const struct option opts[] = { { "dataset", required_argument, NULL, 'd' },
                                          { "bit-depth", required_argument, NULL, 'b' },
                                          { "from", required_argument, NULL, 'f' },
                                          { "max-memory", required_argument, NULL, CLI_OPT_MAX_MEMORY },
        { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    nexp_read_options ro = { NEXP_FORMAT_UNKNOWN, NULL };
    nexp_write_options wo = { NEXP_FORMAT_UNKNOWN, NULL, 0 };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            if (optarg[0] == '\0') {
                cli_usage_error("convert", "--dataset: empty name");
            }
            ro.dataset = optarg;
            wo.dataset = optarg;
            break;
        case 'b':
            wo.bit_depth = (int)cli_parse_long("convert", "--bit-depth", optarg, 8, 16);
            if (wo.bit_depth != 8 && wo.bit_depth != 16) {
                cli_usage_error("convert", "--bit-depth: %d is not 8 or 16", wo.bit_depth);
            }
            break;
        case 'f':
            ro.format = nexp_format_from_name(optarg);
            if (ro.format == NEXP_FORMAT_UNKNOWN) {
                cli_usage_error("convert", "--from: unknown format '%s'", optarg);
            }
            break;
        case CLI_OPT_MAX_MEMORY:
            cli_set_max_memory("convert", optarg);
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            cli_option_error("convert", c, argv[optind - 1]);
        }
    }
    if (argc - optind != 2) {
        cli_usage_error("convert", "expected IN and OUT, got %d arguments", argc - optind);
    }
    const char *in = argv[optind], *out = argv[optind + 1];
    if (nexp_format_from_path(out) == NEXP_FORMAT_UNKNOWN) {
        cli_usage_error("convert", "cannot tell the output format of '%s' (use .flo .png .pgm .ppm .pfm .h5)", out);
    }
    nexp_error err = NEXP_ERROR_INIT;
    nexp_field *f = NULL;
    if (nexp_field_read_ex(in, &ro, &f, &err) != NEXP_OK) {
        cli_die_err("convert", &err);
    }
    if (nexp_field_write_ex(out, f, &wo, &err) != NEXP_OK) {
        nexp_field_free(f);
        cli_die_err("convert", &err);
    }
    nexp_field_free(f);
    return CLI_EXIT_OK;
}

NEXP_CLI_COMMAND(convert, "convert", "convert a field file between .flo .png .pgm .ppm .pfm .h5", cmd_convert)
