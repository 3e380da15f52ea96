/* nexp scene --seed S --out-dir DIR: a synthetic image pair with exact flow and occlusions. */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "nexp_flowdata.h"
#include "nexp_io.h"
#include "nexp_scene.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: nexp scene --seed S --out-dir DIR [OPTIONS]\n"
            "Render a synthetic scene: textured layers (ellipses and polygons with colour gradients,\n"
            "1/f value noise and stripes), each moving with its own affine motion over a moving\n"
            "background. Writes into DIR (created if missing, files replaced atomically):\n"
            "  frame1.png      first frame, 8-bit RGB\n"
            "  frame2.png      second frame, rendered by backward warping of the layers\n"
            "  flow.flo        exact flow frame 1 -> frame 2 (Middlebury .flo)\n"
            "  occlusions.png  255 where a pixel of frame 1 is hidden or leaves the frame in frame 2\n"
            "The same seed and options give the same files, bit for bit.\n\n"
            "Options:\n"
            "  --seed S           random seed (required)\n"
            "  --out-dir DIR      output folder (required)\n"
            "  --width W          frame width in pixels                    [default: 256]\n"
            "  --height H         frame height in pixels                   [default: 192]\n"
            "  --layers N         foreground layers 0..%d               [default: random 3..8]\n"
            "  --max-motion T     largest translation per axis in pixels   [default: 8]\n"
            "  --deformation D    largest rotation/scale/shear entry <= 0.3 [default: 0.06]\n"
            "  --photos DIR       texture the background and about half of the layers with\n"
            "                     parts of the PNG/PPM photos in DIR (scaled 0.5-1.5, rotated),\n"
            "                     as FlyingChairs puts objects in front of photographs\n"
            "  --thin P           make a share P (0..1) of the layers thin bars, 1-4 px wide,\n"
            "                     moving up to twice as fast (legs, poles, cables) [default: 0]\n"
            CLI_MAX_MEMORY_HELP
            "  -h, --help         this help\n\n"
            "Example:\n"
            "  nexp scene --seed 7 --width 320 --height 240 --out-dir scene7\n"
            "  nexp flowviz scene7/flow.flo scene7/flow.png\n"
            "  nexp scene --seed 7 --photos /usr/lib/python3/dist-packages/skimage/data --out-dir p7\n"
            "  nexp scene --seed 7 --thin 0.5 --out-dir thin7\n",
            NEXP_SCENE_MAX_LAYERS);
}

static void write_or_die(const char *dir, const char *name, const nexp_field *f)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        cli_die("scene", "output path '%s/%s' is too long", dir, name);
    }
    nexp_error err = NEXP_ERROR_INIT;
    if (nexp_field_write(path, f, &err) != NEXP_OK) {
        cli_die_err("scene", &err);
    }
}

static int cmd_scene(int argc, char **argv)
{
    static const struct option opts[] = { { "seed", required_argument, NULL, 's' },
                                          { "out-dir", required_argument, NULL, 'o' },
                                          { "width", required_argument, NULL, 'W' },
                                          { "height", required_argument, NULL, 'H' },
                                          { "layers", required_argument, NULL, 'l' },
                                          { "max-motion", required_argument, NULL, 'm' },
                                          { "deformation", required_argument, NULL, 'd' },
                                          { "photos", required_argument, NULL, 'p' },
                                          { "thin", required_argument, NULL, 't' },
                                          { "max-memory", required_argument, NULL, CLI_OPT_MAX_MEMORY },
                                          { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    nexp_scene_options o = NEXP_SCENE_OPTIONS_INIT;
    long seed = -1;
    const char *dir = NULL, *photos = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            seed = cli_parse_long("scene", "--seed", optarg, 0, 2147483647L);
            break;
        case 'o':
            dir = optarg;
            break;
        case 'W':
            o.width = (int)cli_parse_long("scene", "--width", optarg, 2, 32768);
            break;
        case 'H':
            o.height = (int)cli_parse_long("scene", "--height", optarg, 2, 32768);
            break;
        case 'l':
            o.layers = (int)cli_parse_long("scene", "--layers", optarg, 0, NEXP_SCENE_MAX_LAYERS);
            break;
        case 'm':
            o.max_translation = cli_parse_double("scene", "--max-motion", optarg, 0.0, 1e4);
            break;
        case 'd':
            o.max_deformation = cli_parse_double("scene", "--deformation", optarg, 0.0, 0.3);
            break;
        case 'p':
            photos = optarg;
            break;
        case 't':
            o.thin = cli_parse_double("scene", "--thin", optarg, 0.0, 1.0);
            break;
        case CLI_OPT_MAX_MEMORY:
            cli_set_max_memory("scene", optarg);
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            cli_option_error("scene", c, argv[optind - 1]);
        }
    }
    if (optind != argc) {
        cli_usage_error("scene", "unexpected argument '%s'", argv[optind]);
    }
    if (seed < 0) {
        cli_usage_error("scene", "--seed is required");
    }
    if (dir == NULL) {
        cli_usage_error("scene", "--out-dir is required");
    }
    nexp_error err = NEXP_ERROR_INIT;
    nexp_flowdata *pd = NULL;
    if (photos != NULL) {
        char source[4096];
        snprintf(source, sizeof source, "photos:%s", photos);
        if (nexp_flowdata_open(&pd, source, &err) != NEXP_OK) {
            cli_die_err("scene", &err);
        }
        o.photos = nexp_flowdata_scene(pd)->photos;
        o.nphotos = nexp_flowdata_scene(pd)->nphotos;
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        cli_die("scene", "cannot create '%s': %s", dir, strerror(errno));
    }
    nexp_scene *s = NULL;
    if (nexp_scene_generate(&o, (uint64_t)seed, &s, &err) != NEXP_OK) {
        cli_die_err("scene", &err);
    }
    write_or_die(dir, "frame1.png", s->frame1);
    write_or_die(dir, "frame2.png", s->frame2);
    write_or_die(dir, "flow.flo", s->flow);
    for (int y = 0; y < s->occlusion->height; y++) {
        float *row = nexp_field_row(s->occlusion, 0, y);
        for (int x = 0; x < s->occlusion->width; x++) {
            row[x] *= 255.0f;
        }
    }
    s->occlusion->kind = NEXP_KIND_IMAGE;
    s->occlusion->bit_depth = 8;
    write_or_die(dir, "occlusions.png", s->occlusion);
    nexp_scene_free(s);
    nexp_flowdata_free(pd);
    return CLI_EXIT_OK;
}

NEXP_CLI_COMMAND(scene, "scene", "render a synthetic image pair with exact flow and occlusions", cmd_scene)
