/* nexp train-inpaint: train the learned-tensor inpainting model end to end on mean EPE. */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nexp_learned_train.h"

static void usage(FILE *out)
{
    nexp_train_options d = NEXP_TRAIN_OPTIONS_INIT;
    fprintf(out,
            "Usage: nexp train-inpaint --ckpt MODEL.h5 [OPTIONS]\n"
            "Train the neuroexplicit inpainting model (a CNN predicts per-pixel, per-level diffusion\n"
            "tensors; explicit delta-stencil steps coarse to fine fill in the flow) end to end on the\n"
            "mean endpoint error, with Adam (cosine schedule, gradient clipping at 1).\n"
            "Each step draws --batch samples: a crop of a synthetic scene (or of an image + .flo pair\n"
            "from DIR), random flips (negating u or v), a random mask whose density is drawn from\n"
            "--density. Progress shows loss, EPE, it/s and ETA; every --val-every steps the model and\n"
            "homogeneous inpainting are scored on %d held-out synthetic scenes.\n"
            "The checkpoint (written atomically every --save-every steps, at validation, at the end\n"
            "and on Ctrl-C) is also a model file for 'nexp inpaint --method learned --model'.\n"
            "--resume continues a checkpoint bit-identically (same thread count): the options that\n"
            "shape the samples (--data, --density, --batch, --crop, --lr, --seed, --photometric,\n"
            "--thin) and --iters come from the checkpoint unless given, and given ones must match\n"
            "(--iters may grow).\n\n"
            "Options:\n"
            "  --ckpt FILE        checkpoint / model file (HDF5)                       [required]\n"
            "  --resume           continue from --ckpt instead of starting anew, with its options\n"
            "                     unless given (see above)\n"
            "  --data SRC         'synthetic', 'synthetic-edges' (scenes with colour edges that\n"
            "                     are no motion boundaries: patches, decals, blur),\n"
            "                     'synthetic-fast' (40 %% of the scenes have 1-4 smaller objects\n"
            "                     moving up to twice as fast), 'photos:DIR' (FlyingChairs-style:\n"
            "                     the background and half of the objects show parts of the\n"
            "                     PNG/PPM photos in DIR, e.g. python3-skimage's\n"
            "                     /usr/lib/python3/dist-packages/skimage/data), 'mixed:DIR'\n"
            "                     (half of the scenes as photos:DIR, half as 'synthetic') or a folder\n"
            "                     of image + .flo pairs (Sintel clean/frame_N.png + flow_N.flo,\n"
            "                     FlyingChairs N_img1.ppm + N_flow.flo)         [default: synthetic]\n"
            "  --thin P           make a share P (0..1) of the objects of synthetic scenes thin\n"
            "                     bars, 1-4 px wide, moving up to twice as fast (chair legs,\n"
            "                     poles; see 'nexp scene --thin')                    [default: 0]\n"
            "  --init MODEL.h5    start from this model's weights instead of random ones\n"
            "                     (fine-tuning: fresh Adam, the schedule over --iters; the shape\n"
            "                     options below then come from MODEL, e.g. data/inpaint-model.h5)\n"
            "  --density LO:HI    mask density range                      [default: %g:%g]\n"
            "  --iters N          total training steps                           [default: %ld]\n"
            "  --batch B          samples per step                                  [default: %d]\n"
            "  --crop C           square crop side in pixels (DIR images smaller than C are\n"
            "                     taken whole)                                     [default: %d]\n"
            "  --lr R             peak learning rate                            [default: %g]\n"
            "  --seed S           initial weights and sample stream                 [default: %llu]\n"
            "  --val-every K      validate every K steps (0: never)               [default: 100]\n"
            "  --save-every K     checkpoint every K steps                         [default: 100]\n"
            "  --features F       hidden channels of the network (new models)      [default: %d]\n"
            "  --levels L         pyramid levels (new models)                       [default: %d]\n"
            "  --steps N          explicit steps per level (new models)            [default: %d]\n"
            "  --flow-input on|off  the network also reads each level's starting flow (the coarser\n"
            "                     result) and mask, so found motion edges steer the finer\n"
            "                     tensors (new models)                        [default: %s]\n"
            "  --cascade on|off   each level's network also reads the coarser level's features\n"
            "                     (upsampled): image context from the whole pyramid (new models)\n"
            "                                                                 [default: %s]\n"
            "  --padding zero|mirror  what the network's 3 x 3 convolutions read past the image\n"
            "                     border: zeros, or the border pixels repeated, as the explicit\n"
            "                     steps' reflecting boundary (new models)     [default: %s]\n"
            "  --photometric on|off  random contrast, brightness, gamma, colour gains, blur and\n"
            "                     noise on the training images (real footage is not a clean\n"
            "                     rendering); the flow is untouched          [default: %s]\n"
            "  --threads N        OpenMP threads; each step spreads its batch over them. A run's\n"
            "                     bits depend on N (the gradient is summed per thread), so\n"
            "                     --resume with the same N to continue bit-identically\n"
            "                                                            [default: all cores]\n"
            "  -q, --quiet        no progress\n"
            CLI_MAX_MEMORY_HELP
            "  -h, --help         this help\n\n"
            "Example (the shipped model data/inpaint-model.h5, 1 h 42 min on 2 cores; the photos\n"
            "come with python3-skimage; --threads 1 takes about 1.8 times as long, to other bits):\n"
            "  nexp train-inpaint --ckpt model.h5 --seed 1 --threads 2 --features 32 --steps 300 \\\n"
            "                     --photometric on --flow-input on --cascade on --thin 0.3 \\\n"
            "                     --iters 24000 --batch 8 \\\n"
            "                     --data mixed:/usr/lib/python3/dist-packages/skimage/data\n"
            "  nexp inpaint --method learned --model model.h5 --flow F.flo --mask M.png \\\n"
            "               --image REF.png --out dense.flo\n",
            d.val_count, d.sample.density_min, d.sample.density_max, d.iters, d.batch, d.sample.crop, d.lr,
            (unsigned long long)d.seed, d.spec.features, d.spec.levels, d.spec.steps,
            d.spec.flow_input ? "on" : "off", d.spec.cascade ? "on" : "off", d.spec.mirror ? "mirror" : "zero",
            d.sample.photometric ? "on" : "off");
}

static void parse_density(const char *s, double *lo, double *hi)
{
    char buf[64];
    if (strlen(s) >= sizeof buf) {
        cli_usage_error("train-inpaint", "--density: '%s' is too long", s);
    }
    strcpy(buf, s);
    char *colon = strchr(buf, ':');
    if (colon == NULL) {
        *lo = *hi = cli_parse_double("train-inpaint", "--density", buf, 1e-6, 1.0);
        return;
    }
    *colon = '\0';
    *lo = cli_parse_double("train-inpaint", "--density", buf, 1e-6, 1.0);
    *hi = cli_parse_double("train-inpaint", "--density", colon + 1, 1e-6, 1.0);
    if (*lo > *hi) {
        cli_usage_error("train-inpaint", "--density: %g:%g has LO > HI", *lo, *hi);
    }
}

static int parse_on_off(const char *opt, const char *s)
{
    if (strcmp(s, "on") != 0 && strcmp(s, "off") != 0) {
        cli_usage_error("train-inpaint", "%s: '%s' is not 'on' or 'off'", opt, s);
    }
    return strcmp(s, "on") == 0;
}

static void save_or_die(const nexp_trainer *t, const char *path)
{
    nexp_error err = NEXP_ERROR_INIT;
    if (nexp_trainer_save(t, path, &err) != NEXP_OK) {
        cli_die_err("train-inpaint", &err);
    }
}

static int cmd_train_inpaint(int argc, char **argv)
{
    enum { O_CKPT = 1000, O_RESUME, O_DATA, O_DENSITY, O_ITERS, O_BATCH, O_CROP, O_LR, O_SEED, O_VAL, O_SAVE,
           O_FEATURES, O_LEVELS, O_STEPS, O_THREADS, O_PHOTO, O_FLOWIN, O_CASCADE, O_PADDING, O_THIN, O_INIT };
    static const struct option opts[] = { { "ckpt", required_argument, NULL, O_CKPT },
                                          { "resume", no_argument, NULL, O_RESUME },
                                          { "data", required_argument, NULL, O_DATA },
                                          { "density", required_argument, NULL, O_DENSITY },
                                          { "iters", required_argument, NULL, O_ITERS },
                                          { "batch", required_argument, NULL, O_BATCH },
                                          { "crop", required_argument, NULL, O_CROP },
                                          { "lr", required_argument, NULL, O_LR },
                                          { "seed", required_argument, NULL, O_SEED },
                                          { "val-every", required_argument, NULL, O_VAL },
                                          { "save-every", required_argument, NULL, O_SAVE },
                                          { "features", required_argument, NULL, O_FEATURES },
                                          { "levels", required_argument, NULL, O_LEVELS },
                                          { "steps", required_argument, NULL, O_STEPS },
                                          { "threads", required_argument, NULL, O_THREADS },
                                          { "photometric", required_argument, NULL, O_PHOTO },
                                          { "flow-input", required_argument, NULL, O_FLOWIN },
                                          { "cascade", required_argument, NULL, O_CASCADE },
                                          { "padding", required_argument, NULL, O_PADDING },
                                          { "thin", required_argument, NULL, O_THIN },
                                          { "init", required_argument, NULL, O_INIT },
                                          { "quiet", no_argument, NULL, 'q' },
                                          { "max-memory", required_argument, NULL, CLI_OPT_MAX_MEMORY },
                                          { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    nexp_train_options o = NEXP_TRAIN_OPTIONS_INIT;
    const char *ckpt = NULL;
    int resume = 0, quiet = 0;
    const char *shape_flag = NULL; /* the last option that shapes a new model, for --init's check */
    /* options given on the command line; on --resume the others come from the checkpoint */
    int given_data = 0, given_density = 0, given_iters = 0, given_batch = 0, given_crop = 0, given_lr = 0,
        given_seed = 0, given_photo = 0, given_thin = 0;
    long val_every = 100, save_every = 100;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hq", opts, NULL)) != -1) {
        switch (c) {
        case O_CKPT:
            ckpt = optarg;
            break;
        case O_RESUME:
            resume = 1;
            break;
        case O_DATA:
            o.data = optarg;
            given_data = 1;
            break;
        case O_DENSITY:
            parse_density(optarg, &o.sample.density_min, &o.sample.density_max);
            given_density = 1;
            break;
        case O_ITERS:
            o.iters = cli_parse_long("train-inpaint", "--iters", optarg, 1, 100000000L);
            given_iters = 1;
            break;
        case O_BATCH:
            o.batch = (int)cli_parse_long("train-inpaint", "--batch", optarg, 1, 1024);
            given_batch = 1;
            break;
        case O_CROP:
            o.sample.crop = (int)cli_parse_long("train-inpaint", "--crop", optarg, 8, 4096);
            given_crop = 1;
            break;
        case O_LR:
            o.lr = cli_parse_double("train-inpaint", "--lr", optarg, 1e-9, 0.99);
            given_lr = 1;
            break;
        case O_SEED:
            o.seed = (uint64_t)cli_parse_long("train-inpaint", "--seed", optarg, 0, 2147483647L);
            given_seed = 1;
            break;
        case O_VAL:
            val_every = cli_parse_long("train-inpaint", "--val-every", optarg, 0, 100000000L);
            break;
        case O_SAVE:
            save_every = cli_parse_long("train-inpaint", "--save-every", optarg, 1, 100000000L);
            break;
        case O_FEATURES:
            shape_flag = "--features";
            o.spec.features = (int)cli_parse_long("train-inpaint", "--features", optarg, 1, 64);
            break;
        case O_LEVELS:
            shape_flag = "--levels";
            o.spec.levels = (int)cli_parse_long("train-inpaint", "--levels", optarg, 1, NEXP_LEARNED_MAX_LEVELS);
            break;
        case O_STEPS:
            shape_flag = "--steps";
            o.spec.steps = (int)cli_parse_long("train-inpaint", "--steps", optarg, 1, 10000);
            break;
        case O_THREADS:
            nexp_set_threads((int)cli_parse_long("train-inpaint", "--threads", optarg, 1, 1024));
            break;
        case O_PHOTO:
            o.sample.photometric = parse_on_off("--photometric", optarg);
            given_photo = 1;
            break;
        case O_FLOWIN:
            shape_flag = "--flow-input";
            o.spec.flow_input = parse_on_off("--flow-input", optarg);
            break;
        case O_CASCADE:
            shape_flag = "--cascade";
            o.spec.cascade = parse_on_off("--cascade", optarg);
            break;
        case O_PADDING:
            shape_flag = "--padding";
            if (strcmp(optarg, "zero") != 0 && strcmp(optarg, "mirror") != 0) {
                cli_usage_error("train-inpaint", "--padding: expected zero or mirror, got '%s'", optarg);
            }
            o.spec.mirror = strcmp(optarg, "mirror") == 0;
            break;
        case O_THIN:
            o.thin = cli_parse_double("train-inpaint", "--thin", optarg, 0.0, 1.0);
            given_thin = 1;
            break;
        case O_INIT:
            o.init = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case CLI_OPT_MAX_MEMORY:
            cli_set_max_memory("train-inpaint", optarg);
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        case ':':
            cli_usage_error("train-inpaint", "option '%s' needs a value", argv[optind - 1]);
        default:
            cli_usage_error("train-inpaint", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc) {
        cli_usage_error("train-inpaint", "unexpected argument '%s'", argv[optind]);
    }
    if (ckpt == NULL) {
        cli_usage_error("train-inpaint", "--ckpt MODEL.h5 is required");
    }
    if (o.init != NULL && resume) {
        cli_usage_error("train-inpaint", "--init starts a new run from a model; --resume continues --ckpt: not both");
    }
    if (o.init != NULL && shape_flag != NULL) {
        cli_usage_error("train-inpaint", "%s: the model's shape comes from --init %s", shape_flag, o.init);
    }
    cli_check_writable("train-inpaint", ckpt);
    if (val_every == 0) {
        o.val_count = 0;
    }
    nexp_error err = NEXP_ERROR_INIT;
    char *ck_data = NULL;
    if (resume) {
        nexp_train_options ck = o;
        if (nexp_trainer_checkpoint_options(ckpt, &ck, &ck_data, &err) != NEXP_OK) {
            cli_die_err("train-inpaint", &err);
        }
        o.data = given_data ? o.data : ck.data;
        o.iters = given_iters ? o.iters : ck.iters;
        o.batch = given_batch ? o.batch : ck.batch;
        o.lr = given_lr ? o.lr : ck.lr;
        o.seed = given_seed ? o.seed : ck.seed;
        o.thin = given_thin ? o.thin : ck.thin;
        o.sample.crop = given_crop ? o.sample.crop : ck.sample.crop;
        o.sample.photometric = given_photo ? o.sample.photometric : ck.sample.photometric;
        o.sample.flips = ck.sample.flips;
        if (!given_density) {
            o.sample.density_min = ck.sample.density_min;
            o.sample.density_max = ck.sample.density_max;
        }
    }
    nexp_trainer *t = NULL;
    nexp_status st = resume ? nexp_trainer_resume(&t, ckpt, &o, &err) : nexp_trainer_create(&t, &o, &err);
    free(ck_data); /* the trainer holds its own copy of the data name */
    o.data = t != NULL ? t->opt.data : NULL;
    if (st != NEXP_OK) {
        cli_die_err("train-inpaint", &err);
    }
    if (!quiet) {
        char shape[128];
        fprintf(stderr, "nexp train-inpaint: %s%s model (%zu parameters: %d features, %s), data %s%s, crop %d, "
                        "batch %d on %d thread(s), density %g:%g, photometric %s, from step %ld to %ld\n",
                resume ? "resuming a" : (o.init != NULL ? "fine-tuning " : "new"), o.init != NULL ? o.init : "",
                t->model->n_params, t->model->spec.features, cli_learned_shape(&t->model->spec, shape, sizeof shape),
                o.data,
                o.thin > 0.0 ? " with thin bars" : "", o.sample.crop,
                o.batch, nexp_trainer_batch_threads(t), o.sample.density_min, o.sample.density_max,
                o.sample.photometric ? "on" : "off", t->iter, o.iters);
    }
    if (t->iter >= o.iters) {
        fprintf(stderr, "nexp train-inpaint: %s is at step %ld of %ld already: nothing to do (a larger --iters "
                        "trains on)\n", ckpt, t->iter, o.iters);
        nexp_trainer_free(t);
        return CLI_EXIT_OK;
    }
    if (resume && t->ckpt_threads != nexp_trainer_batch_threads(t)) {
        fprintf(stderr, "nexp train-inpaint: warning: the checkpoint split its batches over %d thread(s), this run "
                        "over %d: training goes on, but not bit-identically to an uninterrupted run (--threads %d "
                        "would be)\n", t->ckpt_threads, nexp_trainer_batch_threads(t), t->ckpt_threads);
    }
    cli_catch_interrupts();
    nexp_progress *p = nexp_progress_create("train-inpaint", o.iters, cli_progress_mode(quiet), stderr);
    nexp_progress_set_start(p, t->iter);
    const long start = t->iter;
    double avg_loss = 0.0, avg_epe = 0.0;
    while (t->iter < o.iters && !cli_interrupted()) {
        double loss = 0.0, epe = 0.0;
        st = nexp_trainer_step(t, &loss, &epe, &err);
        if (st == NEXP_ERR_NONFINITE) {
            if (!quiet) {
                fprintf(stderr, "\nnexp train-inpaint: step %ld skipped: %s\n", t->iter, err.msg);
            }
            nexp_error_clear(&err);
        } else if (st != NEXP_OK) {
            nexp_progress_finish(p);
            nexp_trainer_free(t);
            cli_die_err("train-inpaint", &err);
        }
        long done = t->iter - start;
        double k = done < 20 ? 1.0 / (double)done : 0.05;
        avg_loss += k * (loss - avg_loss);
        avg_epe += k * (epe - avg_epe);
        nexp_progress_update(p, t->iter, "loss %.4f EPE %.3f", avg_loss, avg_epe);
        int validate = val_every > 0 && (t->iter % val_every == 0 || t->iter == o.iters);
        if (validate) {
            double em = 0.0, eh = 0.0;
            if (nexp_trainer_validate(t, &em, &eh, &err) != NEXP_OK) {
                nexp_progress_finish(p);
                nexp_trainer_free(t);
                cli_die_err("train-inpaint", &err);
            }
            if (!quiet) {
                fprintf(stderr, "\nnexp train-inpaint: step %ld: validation EPE %.4f (homogeneous %.4f, %+.1f %%)\n",
                        t->iter, em, eh, eh > 0.0 ? 100.0 * (em - eh) / eh : 0.0);
            }
        }
        if (validate || t->iter % save_every == 0 || t->iter == o.iters) {
            save_or_die(t, ckpt);
        }
    }
    nexp_progress_finish(p);
    int sig = cli_interrupted();
    if (sig != 0) {
        save_or_die(t, ckpt);
        fprintf(stderr, "nexp train-inpaint: interrupted (%s) at step %ld of %ld; checkpoint saved to %s (continue "
                "with --resume)\n", sig == SIGINT ? "SIGINT" : "SIGTERM", t->iter, o.iters, ckpt);
        nexp_trainer_free(t);
        return CLI_EXIT_SIGNAL_BASE + sig;
    }
    nexp_trainer_free(t);
    return CLI_EXIT_OK;
}

NEXP_CLI_COMMAND(train_inpaint, "train-inpaint", "train the learned-tensor flow inpainting model", cmd_train_inpaint)
