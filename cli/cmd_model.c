/* nexp model init|info: create a freshly initialised network checkpoint; describe a checkpoint. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nexp_checkpoint.h"
#include "nexp_h5.h"
#include "nexp_learned.h"
#include "nexp_learned_train.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: nexp model init (--mlp SPEC | --unet) [OPTIONS] --out MODEL.h5\n"
            "       nexp model info MODEL.h5 [--json]\n"
            "init writes a checkpoint holding a seeded, freshly initialised network (He normal before\n"
            "ReLU-like activations, Glorot uniform otherwise, zero biases) and its spec, ready for\n"
            "training commands; info prints what a checkpoint holds: model kind and spec, tensors\n"
            "with shapes, training step, optimiser, whether the RNG state is saved, metadata. It also\n"
            "describes the learned inpainting models of nexp train-inpaint (data/inpaint-model.h5).\n\n"
            "init options:\n"
            "  --mlp SPEC          an MLP in double precision, SPEC = input width, then width:activation\n"
            "                      per layer, e.g. \"2 50:tanh 2:identity\" (activations identity, relu,\n"
            "                      leaky_relu, tanh, sigmoid, softplus, gelu)\n"
            "  --unet              a float32 U-Net with the options below\n"
            "  --in C              U-Net input channels                         [default: 3]\n"
            "  --widths LIST       channels per level, its length - 1 is the depth [default: 16,32,64]\n"
            "  --out-channels K    channels of every head                       [default: 1]\n"
            "  --heads LIST        pyramid levels with a head (0 = full size)    [default: 0]\n"
            "  --act NAME          hidden activation                            [default: relu]\n"
            "  --pad zero|replicate  convolution padding                        [default: replicate]\n"
            "  --transposed-up     transposed convolutions instead of bilinear upsampling\n"
            "  --bcos B            B-cos convolutions with exponent B (interpretable variant)\n"
            "  --seed S            initialisation seed                          [default: 1]\n"
            "  --out MODEL.h5      output checkpoint (written atomically)\n"
            "info options:\n"
            "  --json              one JSON object: file, model, spec, n_params, tensors (name, shape),\n"
            "                      step, optimiser (null or kind, lr, step), rng, metadata\n"
            CLI_MAX_MEMORY_HELP
            "  -h, --help          this help\n\n"
            "Example:\n"
            "  nexp model init --unet --widths 12,24,48 --out-channels 4 --heads 0,1 --out net.h5\n"
            "  nexp model info net.h5\n");
}

static int model_init(int argc, char **argv)
{
    static const struct option opts[] = {
        { "mlp", required_argument, NULL, 'm' },    { "unet", no_argument, NULL, 'u' },
        { "in", required_argument, NULL, 'i' },     { "widths", required_argument, NULL, 'w' },
        { "out-channels", required_argument, NULL, 'k' }, { "heads", required_argument, NULL, 'H' },
        { "act", required_argument, NULL, 'a' },    { "pad", required_argument, NULL, 'p' },
        { "transposed-up", no_argument, NULL, 't' }, { "bcos", required_argument, NULL, 'b' },
        { "seed", required_argument, NULL, 's' },   { "out", required_argument, NULL, 'o' },
        { "max-memory", required_argument, NULL, CLI_OPT_MAX_MEMORY },
        { "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 }
    };
    const char *mlp_spec = NULL, *out = NULL;
    int unet = 0;
    long seed = 1;
    nexp_unet_config u = NEXP_UNET_CONFIG_INIT;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            mlp_spec = optarg;
            break;
        case 'u':
            unet = 1;
            break;
        case 'i':
            u.in_channels = (int)cli_parse_long("model", "--in", optarg, 1, 4096);
            break;
        case 'w': {
            long w[7];
            int n = cli_parse_long_list("model", "--widths", optarg, w, 7);
            if (n < 2) {
                cli_usage_error("model", "--widths needs 2..7 values (depth 1..6), got %d", n);
            }
            u.depth = n - 1;
            for (int l = 0; l < n; l++) {
                if (w[l] < 1 || w[l] > 4096) {
                    cli_usage_error("model", "--widths: %ld is not in 1..4096", w[l]);
                }
                u.widths[l] = (int)w[l];
            }
            break;
        }
        case 'k':
            u.out_channels = (int)cli_parse_long("model", "--out-channels", optarg, 1, 4096);
            break;
        case 'H': {
            long h[7];
            int n = cli_parse_long_list("model", "--heads", optarg, h, 7);
            u.head_levels = 0;
            for (int l = 0; l < n; l++) {
                if (h[l] < 0 || h[l] > 6) {
                    cli_usage_error("model", "--heads: level %ld is not in 0..6", h[l]);
                }
                u.head_levels |= 1u << h[l];
            }
            break;
        }
        case 'a': {
            int a = nexp_act_from_name(optarg);
            if (a < 0) {
                cli_usage_error("model", "--act: unknown activation '%s'", optarg);
            }
            u.act = (nexp_act)a;
            break;
        }
        case 'p':
            if (strcmp(optarg, "zero") != 0 && strcmp(optarg, "replicate") != 0) {
                cli_usage_error("model", "--pad: expected zero or replicate, got '%s'", optarg);
            }
            u.pad = strcmp(optarg, "zero") == 0 ? NEXP_PAD_ZERO : NEXP_PAD_REPLICATE;
            break;
        case 't':
            u.transposed_up = 1;
            break;
        case 'b':
            u.bcos_b = cli_parse_double("model", "--bcos", optarg, 1.0, 8.0);
            break;
        case 's':
            seed = cli_parse_long("model", "--seed", optarg, 0, 2147483647L);
            break;
        case 'o':
            out = optarg;
            break;
        case CLI_OPT_MAX_MEMORY:
            cli_set_max_memory("model", optarg);
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            cli_option_error("model", c, argv[optind - 1]);
        }
    }
    if (optind != argc) {
        cli_usage_error("model", "unexpected argument '%s'", argv[optind]);
    }
    if ((mlp_spec != NULL) == unet) {
        cli_usage_error("model", "init needs exactly one of --mlp SPEC and --unet");
    }
    if (out == NULL) {
        cli_usage_error("model", "init needs --out MODEL.h5");
    }
    nexp_error err = NEXP_ERROR_INIT;
    nexp_ckpt_state st = NEXP_CKPT_STATE_INIT;
    st.metadata = "nexp model init";
    if (mlp_spec != NULL) {
        nexp_mlp_spec spec;
        nexp_mlp *m = NULL;
        if (nexp_mlp_spec_parse(mlp_spec, &spec, &err) != NEXP_OK) {
            cli_usage_error("model", "--mlp: %s", err.msg);
        }
        if (nexp_mlp_create(&spec, (uint64_t)seed, &m, &err) != NEXP_OK ||
            nexp_checkpoint_save_mlp(out, m, NULL, &st, &err) != NEXP_OK) {
            nexp_mlp_free(m);
            cli_die_err("model", &err);
        }
        printf("%s: mlp \"%s\", %zu parameters\n", out, mlp_spec, m->n_params);
        nexp_mlp_free(m);
        return CLI_EXIT_OK;
    }
    nexp_net_spec *spec = malloc(sizeof *spec);
    nexp_net *net = NULL;
    if (spec == NULL) {
        cli_die("model", "out of memory");
    }
    if (nexp_unet_spec(&u, spec, &err) != NEXP_OK) {
        free(spec);
        cli_usage_error("model", "%s", err.msg);
    }
    if (nexp_net_create(spec, (uint64_t)seed, &net, &err) != NEXP_OK ||
        nexp_checkpoint_save_net(out, net, NULL, &st, &err) != NEXP_OK) {
        free(spec);
        nexp_net_free(net);
        cli_die_err("model", &err);
    }
    printf("%s: U-Net with %d nodes, %d head(s), %zu parameters\n", out, spec->n_nodes, net->n_heads,
           net->n_params);
    free(spec);
    nexp_net_free(net);
    return CLI_EXIT_OK;
}

#define LEARNED_KIND "learned-inpaint"

/* The model kind stored in a checkpoint ("mlp", "net" or LEARNED_KIND for the files of nexp
 * train-inpaint), malloc'd. */
static char *checkpoint_kind(const char *path, nexp_error *err)
{
    nexp_h5_file *h = NULL;
    char *kind = NULL;
    if (nexp_h5_open_read(&h, path, err) != NEXP_OK) {
        return NULL;
    }
    if (nexp_h5_attr_exists(h, "/", "model")) {
        nexp_h5_read_attr_string(h, "/", "model", &kind, err);
    } else if (nexp_h5_exists(h, "model") == NEXP_H5_GROUP && nexp_h5_attr_exists(h, "model", "type")) {
        kind = strdup(LEARNED_KIND);
    } else {
        nexp_error_set(err, NEXP_ERR_FORMAT, "%s: not an nexp checkpoint (no model attribute)", path);
    }
    nexp_h5_close(h);
    return kind;
}

static void print_info(const char *path, int json, const char *kind, const char *spec, size_t n_params,
                       const nexp_tensor_view *tensors, int n_tensors, const nexp_optim *opt,
                       const nexp_ckpt_info *info)
{
    if (json) {
        printf("{\"file\": ");
        cli_json_string(stdout, path);
        printf(", \"model\": \"%s\", \"spec\": ", kind);
        cli_json_string(stdout, spec);
        printf(", \"n_params\": %zu, \"tensors\": [", n_params);
        for (int t = 0; t < n_tensors; t++) {
            printf("%s{\"name\": \"%s\", \"shape\": [", t > 0 ? ", " : "", tensors[t].name);
            for (int d = 0; d < tensors[t].ndim; d++) {
                printf("%s%d", d > 0 ? ", " : "", tensors[t].shape[d]);
            }
            printf("]}");
        }
        printf("], \"step\": %ld, \"optimiser\": ", info->step);
        if (opt != NULL) {
            printf("{\"kind\": \"%s\", \"lr\": %.9g, \"step\": %ld}", nexp_optim_kind_name(opt->cfg.kind),
                   opt->cfg.lr, opt->step);
        } else {
            printf("null");
        }
        printf(", \"rng\": %s, \"metadata\": ", info->has_rng ? "true" : "false");
        cli_json_string(stdout, info->metadata);
        printf("}\n");
        return;
    }
    printf("%s: nexp checkpoint, %s model, %zu parameters in %d tensors, step %ld\n", path, kind, n_params,
           n_tensors, info->step);
    printf("spec:%s%s\n", strchr(spec, '\n') != NULL ? "\n" : " ", spec);
    for (int t = 0; t < n_tensors; t++) {
        printf("  %-20s (", tensors[t].name);
        for (int d = 0; d < tensors[t].ndim; d++) {
            printf("%s%d", d > 0 ? ", " : "", tensors[t].shape[d]);
        }
        printf(")\n");
    }
    if (opt != NULL) {
        printf("optimiser: %s, lr %g, schedule %s, step %ld\n", nexp_optim_kind_name(opt->cfg.kind), opt->cfg.lr,
               nexp_schedule_name(opt->cfg.schedule), opt->step);
    } else {
        printf("optimiser: none\n");
    }
    printf("rng state: %s\nmetadata: %s\n", info->has_rng ? "saved" : "not saved", info->metadata);
}

/* nexp model info for a learned inpainting model (nexp_learned_load checks it) and, in a checkpoint of
 * nexp train-inpaint, its training state (group "train": Adam with a cosine schedule). */
static int learned_info(const char *path, int json, nexp_error *err)
{
    nexp_learned *m = NULL;
    if (nexp_learned_load(&m, path, err) != NEXP_OK) {
        return CLI_EXIT_RUNTIME;
    }
    nexp_h5_file *h = NULL;
    int64_t iter = 0, ostep = 0;
    double lr = 0.0;
    int trained = nexp_h5_open_read(&h, path, NULL) == NEXP_OK && nexp_h5_exists(h, "train") == NEXP_H5_GROUP &&
                  nexp_h5_read_attr_int64(h, "train", "iter", &iter, NULL) == NEXP_OK &&
                  nexp_h5_read_attr_int64(h, "train", "optim_step", &ostep, NULL) == NEXP_OK &&
                  nexp_h5_read_attr_double(h, "train", "lr", &lr, NULL) == NEXP_OK;
    int64_t threads = 1;
    if (trained) {
        nexp_trainer_read_batch_threads(h, &threads, NULL);
    }
    nexp_h5_close(h);
    nexp_optim *opt = NULL;
    if (trained) {
        nexp_optim_config oc = NEXP_OPTIM_CONFIG_INIT;
        oc.kind = NEXP_OPTIM_ADAM;
        oc.lr = lr;
        oc.schedule = NEXP_SCHEDULE_COSINE;
        if (nexp_optim_create(&oc, 1, &opt, NULL) == NEXP_OK) {
            opt->step = (long)ostep;
        }
    }
    char spec[256];
    snprintf(spec, sizeof spec, "features %d, levels %d, steps %d, reads %s%s, %s padding", m->spec.features,
             m->spec.levels, m->spec.steps, m->spec.flow_input ? "image+flow" : "image",
             m->spec.cascade ? " and the coarser level's features" : "", m->spec.mirror ? "mirror" : "zero");
    char meta[5120];
    nexp_train_options o = NEXP_TRAIN_OPTIONS_INIT;
    char *data = NULL;
    if (trained && nexp_trainer_checkpoint_options(path, &o, &data, NULL) == NEXP_OK) {
        char thin[48] = "";
        if (o.thin > 0.0) {
            snprintf(thin, sizeof thin, " --thin %g", o.thin);
        }
        snprintf(meta, sizeof meta,
                 "learned flow inpainting model of nexp train-inpaint, trained with --data %s --crop %d --batch %d "
                 "--density %g:%g --photometric %s%s --lr %g --seed %llu --iters %ld, batches split over %lld "
                 "thread(s) (--resume --threads %lld continues it bit-identically)",
                 o.data, o.sample.crop, o.batch, o.sample.density_min, o.sample.density_max,
                 o.sample.photometric ? "on" : "off", thin, o.lr, (unsigned long long)o.seed, o.iters,
                 (long long)threads, (long long)threads);
    } else if (trained) {
        snprintf(meta, sizeof meta,
                 "learned flow inpainting model of nexp train-inpaint, batches split over %lld thread(s) "
                 "(--resume --threads %lld continues it bit-identically)",
                 (long long)threads, (long long)threads);
    } else {
        snprintf(meta, sizeof meta, "learned flow inpainting model of nexp train-inpaint");
    }
    free(data);
    nexp_ckpt_info info = { (long)iter, trained, { { 0 } }, meta };
    print_info(path, json, LEARNED_KIND, spec, m->n_params, m->tensors, m->n_tensors, opt, &info);
    nexp_optim_free(opt);
    nexp_learned_free(m);
    return CLI_EXIT_OK;
}

static int model_info(int argc, char **argv)
{
    static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
                                          { "max-memory", required_argument, NULL, CLI_OPT_MAX_MEMORY },
                                          { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    int json = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = 1;
            break;
        case CLI_OPT_MAX_MEMORY:
            cli_set_max_memory("model", optarg);
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            cli_usage_error("model", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 1) {
        cli_usage_error("model", "info expects one MODEL.h5, got %d arguments", argc - optind);
    }
    const char *path = argv[optind];
    nexp_error err = NEXP_ERROR_INIT;
    char *kind = checkpoint_kind(path, &err);
    if (kind == NULL) {
        cli_die_err("model", &err);
    }
    if (strcmp(kind, LEARNED_KIND) == 0) {
        free(kind);
        if (learned_info(path, json, &err) != CLI_EXIT_OK) {
            cli_die_err("model", &err);
        }
        return CLI_EXIT_OK;
    }
    nexp_optim *opt = NULL;
    nexp_ckpt_info info;
    int rc = CLI_EXIT_OK;
    if (strcmp(kind, "mlp") == 0) {
        nexp_mlp *m = NULL;
        if (nexp_checkpoint_load_mlp(path, &m, &opt, &info, &err) == NEXP_OK) {
            char spec[1024];
            nexp_mlp_spec_format(&m->spec, spec, sizeof spec);
            print_info(path, json, kind, spec, m->n_params, m->tensors, m->n_tensors, opt, &info);
            nexp_ckpt_info_clear(&info);
            nexp_mlp_free(m);
        } else {
            rc = CLI_EXIT_RUNTIME;
        }
    } else {
        nexp_net *n = NULL;
        if (nexp_checkpoint_load_net(path, &n, &opt, &info, &err) == NEXP_OK) {
            int len = nexp_net_spec_format(&n->spec, NULL, 0);
            char *spec = malloc((size_t)len + 1);
            if (spec != NULL) {
                nexp_net_spec_format(&n->spec, spec, (size_t)len + 1);
                spec[len > 0 ? len - 1 : 0] = '\0'; /* drop the final newline */
                print_info(path, json, kind, spec, n->n_params, n->tensors, n->n_tensors, opt, &info);
            }
            free(spec);
            nexp_ckpt_info_clear(&info);
            nexp_net_free(n);
        } else {
            rc = CLI_EXIT_RUNTIME;
        }
    }
    free(kind);
    nexp_optim_free(opt);
    if (rc != CLI_EXIT_OK) {
        cli_die_err("model", &err);
    }
    return rc;
}

static int cmd_model(int argc, char **argv)
{
    if (argc < 2) {
        cli_usage_error("model", "expected an action: init or info");
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "init") == 0) {
        return model_init(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "info") == 0) {
        return model_info(argc - 1, argv + 1);
    }
    cli_usage_error("model", "unknown action '%s' (expected init or info)", argv[1]);
}

NEXP_CLI_COMMAND(model, "model", "create or describe a network checkpoint (MLP, U-Net; info: learned inpainting too)",
                 cmd_model)
