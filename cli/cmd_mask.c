/* nexp mask --like GT.flo --density D --seed S OUT.png: a reproducible random mask of known pixels. */
#include <getopt.h>

#include "cli.h"
#include "nexp_io.h"
#include "nexp_mask.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: nexp mask --like FIELD --density D [--seed S] OUT.png\n"
            "Draw a random mask of known pixels for inpainting: every valid pixel of FIELD (unknown\n"
            "flow vectors are never chosen) is known with probability D, independently (Bernoulli),\n"
            "from a seeded generator, so the same FIELD, D and S always give the same mask.\n"
            "Output: 8-bit grey PNG, 255 = known, 0 = unknown, written atomically.\n\n"
            "Options:\n"
            "  --like FIELD   size and valid pixels from this field (.flo, .png, ...)   [required]\n"
            "  --density D    fraction of known pixels, 0..1                              [required]\n"
            "  --seed S       random seed (integer >= 0)                                  [default: 1]\n"
            "  -q, --quiet    do not print the number of known pixels\n"
            CLI_MAX_MEMORY_HELP
            "  -h, --help     this help\n\n"
            "Example:\n"
            "  nexp mask --like ../shared/data/flow/sintel-alley/flow_0002.flo --density 0.05 --seed 7 m.png\n");
}

static int cmd_mask(int argc, char **argv)
{
    static const struct option opts[] = { { "like", required_argument, NULL, 'l' },
                                          { "density", required_argument, NULL, 'd' },
                                          { "seed", required_argument, NULL, 's' },
                                          { "quiet", no_argument, NULL, 'q' },
                                          { "max-memory", required_argument, NULL, CLI_OPT_MAX_MEMORY },
        { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    const char *like = NULL;
    double density = -1.0;
    long seed = 1;
    int quiet = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hq", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            like = optarg;
            break;
        case 'd':
            density = cli_parse_double("mask", "--density", optarg, 0.0, 1.0);
            break;
        case 's':
            seed = cli_parse_long("mask", "--seed", optarg, 0, 2147483647L);
            break;
        case 'q':
            quiet = 1;
            break;
        case CLI_OPT_MAX_MEMORY:
            cli_set_max_memory("mask", optarg);
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            cli_option_error("mask", c, argv[optind - 1]);
        }
    }
    if (like == NULL) {
        cli_usage_error("mask", "--like FIELD is required");
    }
    if (density < 0.0) {
        cli_usage_error("mask", "--density D is required");
    }
    if (argc - optind != 1) {
        cli_usage_error("mask", "expected one output file OUT.png, got %d arguments", argc - optind);
    }
    const char *out = argv[optind];
    if (nexp_format_from_path(out) != NEXP_FORMAT_PNG) {
        cli_usage_error("mask", "the output '%s' must be a .png file", out);
    }
    nexp_error err = NEXP_ERROR_INIT;
    nexp_field *f = NULL, *mask = NULL, *img = NULL;
    if (nexp_field_read(like, &f, &err) != NEXP_OK) {
        cli_die_err("mask", &err);
    }
    nexp_status st = nexp_mask_bernoulli(f, density, (uint64_t)seed, &mask, &err);
    nexp_field_free(f);
    if (st == NEXP_OK) {
        st = nexp_mask_to_image(mask, &img, &err);
    }
    if (st == NEXP_OK) {
        st = nexp_png_write(out, img, 8, &err);
    }
    if (st == NEXP_OK && !quiet) {
        size_t n = nexp_mask_count(mask);
        fprintf(stderr, "nexp mask: %zu of %d x %d pixels known (%.2f %%)\n", n, mask->width, mask->height,
                100.0 * (double)n / ((double)mask->width * mask->height));
    }
    nexp_field_free(img);
    nexp_field_free(mask);
    if (st != NEXP_OK) {
        cli_die_err("mask", &err);
    }
    return CLI_EXIT_OK;
}

NEXP_CLI_COMMAND(mask, "mask", "draw a reproducible random mask of known pixels (PNG)", cmd_mask)
