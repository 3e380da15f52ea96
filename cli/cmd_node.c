/* nexp node fit | predict: neural ODEs and hybrid (physics + network) models fitted to CSV data. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nexp_csv.h"
#include "nexp_node_train.h"
#include "nexp_plot.h"

#define CMD "node"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: nexp node fit --data D.csv --time COL --states A,B --ckpt MODEL.h5 [OPTIONS]\n"
            "       nexp node predict --ckpt MODEL.h5 --out P.csv|P.h5 [OPTIONS]\n"
            "Fit dy/dt = g(t, y; p) + sigma * f_theta(phi((y - mu) / sigma)) to measured trajectories:\n"
            "f_theta is an MLP, g optional known physics with trainable parameters p, mu and sigma the\n"
            "data's mean and spread (normalisation), phi the identity or y^3. Gradients come from the\n"
            "CVODES adjoint (checkpointed), backpropagation through DOPRI5/RK4, or forward sensitivities.\n\n"
            "fit options:\n"
            "  --data FILE        CSV with a header row, or a .h5 trajectory from 'nexp simulate'\n"
            "  --time COL         time column\n"
            "  --states A,B,...   state columns (the model's states)\n"
            "  --group COL        column that splits the rows into trajectories (e.g. subject)\n"
            "  --physics NAME     none | lotka-volterra | pendulum | pk | linear | spiral  [default: none]\n"
            "  --hidden N         hidden width; 0 for physics only                [default: 50]\n"
            "  --layers N         hidden layers                                   [default: 1]\n"
            "  --activation A     tanh | relu | softplus | gelu | sigmoid | ...   [default: tanh]\n"
            "  --input MAP        identity | cube (the network sees y^3)          [default: identity]\n"
            "  --no-normalise     mu = 0, sigma = 1 (the network sees raw states)\n"
            "  --time-input       the network also sees the (normalised) time: f_theta(t, y)\n"
            "  --net-scale S      scale of the initial output layer; 0 starts exactly at the physics\n"
            "                                                       [default: 1, with physics 0]\n"
            "  --gradient G       adjoint | backprop | backprop-rk4 | forward     [default: adjoint]\n"
            "  --loss L           mse | l1                                        [default: mse]\n"
            "  --optimizer O      adam | rmsprop | sgd | adamw                    [default: adam]\n"
            "  --lr R             learning rate                                   [default: 1e-3]\n"
            "  --schedule S       constant | cosine | step                        [default: constant]\n"
            "  --clip C           clip the gradient norm to C (0: off)            [default: 0]\n"
            "  --iters N          iterations (with --resume: the new total)       [default: 1000]\n"
            "  --batch B          windows per iteration; 0: whole trajectories    [default: 0]\n"
            "  --window W         observations per window                         [default: 10]\n"
            "  --seed S           network initialisation and window sampling      [default: 42]\n"
            "  --method M         adams | bdf: CVODE method for adjoint/forward   [default: adams]\n"
            "  --rtol R, --atol A solver tolerances                       [default: 1e-6, 1e-8]\n"
            "  --ckpt FILE        checkpoint (HDF5), written every --ckpt-every iterations and at the end\n"
            "  --ckpt-every K                                                     [default: 100]\n"
            "  --resume           continue from --ckpt (model and optimiser from the file); a resumed\n"
            "                     run ends bit-identically to an uninterrupted one\n"
            "  --plot FILE.png    data (points) versus the fitted model (lines)\n"
            "  --threads N        OpenMP threads across trajectories              [default: all]\n"
            "  --quiet            no progress\n"
            CLI_MAX_MEMORY_HELP
            "Ctrl-C (SIGINT) or SIGTERM stops after the current iteration, saves --ckpt and exits with\n"
            "130 (SIGTERM: 143); a second Ctrl-C stops at once. Checkpoints are replaced atomically, so a\n"
            "killed run leaves the last complete one (and possibly a stale .NAME.tmp.* file to delete).\n\n"
            "predict options:\n"
            "  --ckpt FILE        a checkpoint written by 'nexp node fit'\n"
            "  --out FILE         .csv or .h5 trajectory\n"
            "  --t0 T, --t1 T     time span                 [default: the training data's first trajectory]\n"
            "  --n N              output times                                    [default: 200]\n"
            "  --y0 Y,...         initial state             [default: the training data's first row]\n"
            "  --plot FILE.png    draw the prediction\n"
            "  --method, --rtol, --atol as above (also dopri5)\n\n"
            "Examples:\n"
            "  nexp node fit --data examples/data/lynx_hare.csv --time year --states hare,lynx \\\n"
            "      --physics lotka-volterra --hidden 16 --iters 2000 --lr 0.005 --ckpt lh.h5 --plot lh.png\n"
            "  nexp node fit --data ../shared/data/series/indometh.csv --time time --states conc \\\n"
            "      --group Subject --physics pk --hidden 8 --iters 500 --ckpt pk.h5 --plot pk.png\n"
            "  nexp node predict --ckpt lh.h5 --t0 1900 --t1 1930 --out forecast.csv\n");
}

typedef struct fit_progress {
    nexp_progress *bar;
    int quiet;
    int reported;
} fit_progress;

static int on_iter(const nexp_node_iter_info *info, void *user)
{
    fit_progress *fp = user;
    if (info->failed > 0 && !fp->quiet && fp->reported < 10) {
        fprintf(stderr, "\nnexp node: iteration %ld: %d of %d solves failed and were skipped: %s\n", info->iter,
                info->failed, info->solves, info->failure ? info->failure : "?");
        fp->reported++;
    }
    nexp_progress_update(fp->bar, info->iter, "loss %.5g lr %.3g", info->loss, info->lr);
    return cli_interrupted();
}

static int parse_enum(const char *opt, const char *val, const char *const *names, int count)
{
    for (int i = 0; i < count; i++) {
        if (strcmp(val, names[i]) == 0) {
            return i;
        }
    }
    cli_usage_error(CMD, "%s: unknown value '%s'", opt, val);
}

/* data points and the model's trajectories on a fine grid, one colour per state (or per group). */
static void plot_fit(const char *path, const nexp_node *m, const nexp_series *d, const nexp_ode_options *ode)
{
    enum { FINE = 300, MAXS = 48 };
    nexp_plot_series s[2 * MAXS];
    static double tf[MAXS][FINE];
    double *yf[MAXS] = { 0 };
    char labels[MAXS][96];
    int ns = 0;
    nexp_node_work *w = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    if (nexp_node_work_create(m, 1, &w, &err) != NEXP_OK) {
        cli_die_err(CMD, &err);
    }
    const int n = d->n_states;
    int groups = d->n_groups < 8 ? d->n_groups : 8;
    for (int g = 0; g < groups; g++) {
        long r0 = d->group_start[g], len = nexp_series_rows(d, g);
        double a = d->t[r0], b = d->t[r0 + len - 1];
        for (int i = 0; i < FINE; i++) {
            tf[g][i] = a + (b - a) * i / (FINE - 1);
        }
        yf[g] = malloc((size_t)FINE * n * sizeof(double));
        if (yf[g] == NULL ||
            nexp_node_predict(m, w, a, d->y + (size_t)r0 * n, FINE, tf[g], ode, yf[g], &err) != NEXP_OK) {
            fprintf(stderr, "nexp node: plot: %s: %s\n", d->group_names[g], err.msg);
            free(yf[g]);
            yf[g] = NULL;
            nexp_error_clear(&err);
        }
        for (int k = 0; k < n && ns + 2 <= 2 * MAXS && g * n + k < MAXS; k++) {
            int color = d->n_groups > 1 ? g : k;
            if (d->n_groups > 1) {
                snprintf(labels[g * n + k], sizeof labels[0], "%s (%s %s)", d->state_names[k],
                         d->group_name ? d->group_name : "group", d->group_names[g]);
            } else {
                snprintf(labels[g * n + k], sizeof labels[0], "%s", d->state_names[k]);
            }
            s[ns++] = (nexp_plot_series){ labels[g * n + k], d->t + r0, d->y + (size_t)r0 * n + k, len, n,
                                          NEXP_PLOT_POINTS, color };
            if (yf[g] != NULL) {
                s[ns++] = (nexp_plot_series){ NULL, tf[g], yf[g] + k, FINE, n, NEXP_PLOT_LINE, color };
            }
        }
    }
    nexp_plot_spec ps = NEXP_PLOT_SPEC_INIT;
    char title[160];
    snprintf(title, sizeof title, "data (points) and fitted model (lines): physics %s%s", m->physics_name,
             m->mlp ? " + network" : "");
    ps.title = title;
    ps.xlabel = d->time_name;
    ps.ylabel = n == 1 ? d->state_names[0] : "state";
    nexp_status st = nexp_plot_write_png(path, &ps, s, ns, &err);
    nexp_plot_release_caches();
    for (int g = 0; g < groups; g++) {
        free(yf[g]);
    }
    nexp_node_work_free(w);
    if (st != NEXP_OK) {
        cli_die_err(CMD, &err);
    }
}

static const char *const loss_names[] = { "mse", "l1" };
static const char *const input_names[] = { "identity", "cube" };

static int cmd_fit(int argc, char **argv)
{
    static const struct option opts[] = {
        { "data", required_argument, NULL, 'D' },      { "time", required_argument, NULL, 'T' },
        { "states", required_argument, NULL, 'S' },    { "group", required_argument, NULL, 'G' },
        { "physics", required_argument, NULL, 'p' },   { "hidden", required_argument, NULL, 'H' },
        { "layers", required_argument, NULL, 'L' },    { "activation", required_argument, NULL, 'a' },
        { "input", required_argument, NULL, 'i' },     { "no-normalise", no_argument, NULL, 'N' },
        { "net-scale", required_argument, NULL, 'z' }, { "gradient", required_argument, NULL, 'g' },
        { "loss", required_argument, NULL, 'l' },      { "optimizer", required_argument, NULL, 'O' },
        { "lr", required_argument, NULL, 'r' },        { "schedule", required_argument, NULL, 's' },
        { "clip", required_argument, NULL, 'c' },      { "iters", required_argument, NULL, 'I' },
        { "batch", required_argument, NULL, 'b' },     { "window", required_argument, NULL, 'w' },
        { "seed", required_argument, NULL, 'e' },      { "method", required_argument, NULL, 'm' },
        { "rtol", required_argument, NULL, 'R' },      { "atol", required_argument, NULL, 'A' },
        { "ckpt", required_argument, NULL, 'k' },      { "ckpt-every", required_argument, NULL, 'K' },
        { "resume", no_argument, NULL, 'u' },          { "plot", required_argument, NULL, 'P' },
        { "threads", required_argument, NULL, 'j' },   { "quiet", no_argument, NULL, 'q' },
        { "time-input", no_argument, NULL, 'Y' },      { "max-memory", required_argument, NULL, CLI_OPT_MAX_MEMORY },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *data_path = NULL, *time_col = NULL, *states = NULL, *group = NULL, *physics = NULL;
    const char *ckpt = NULL, *plot = NULL;
    int resume = 0, quiet = 0, normalise = 1;
    double net_scale = NAN;
    nexp_node_spec spec = NEXP_NODE_SPEC_INIT;
    nexp_node_train_options o = NEXP_NODE_TRAIN_OPTIONS_INIT;
    o.ckpt_every = 100;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'D':
            data_path = optarg;
            break;
        case 'T':
            time_col = optarg;
            break;
        case 'S':
            states = optarg;
            break;
        case 'G':
            group = optarg;
            break;
        case 'p':
            physics = optarg;
            break;
        case 'H':
            spec.hidden = (int)cli_parse_long(CMD, "--hidden", optarg, 0, 4096);
            break;
        case 'L':
            spec.layers = (int)cli_parse_long(CMD, "--layers", optarg, 1, NEXP_MLP_MAX_LAYERS - 1);
            break;
        case 'a': {
            int a = nexp_act_from_name(optarg);
            if (a < 0) {
                cli_usage_error(CMD, "--activation: unknown activation '%s'", optarg);
            }
            spec.act = (nexp_act)a;
            break;
        }
        case 'i':
            spec.input = (nexp_node_input)parse_enum("--input", optarg, input_names, 2);
            break;
        case 'N':
            normalise = 0;
            break;
        case 'Y':
            spec.time_input = 1;
            break;
        case 'z':
            net_scale = cli_parse_double(CMD, "--net-scale", optarg, 0.0, 1e3);
            break;
        case 'g': {
            nexp_error e = NEXP_ERROR_INIT;
            if (nexp_ode_grad_method_parse(optarg, &o.grad.method, &e) != NEXP_OK) {
                cli_usage_error(CMD, "--gradient: %s", e.msg);
            }
            break;
        }
        case 'l':
            o.loss = (nexp_node_loss)parse_enum("--loss", optarg, loss_names, 2);
            break;
        case 'O': {
            int k = nexp_optim_kind_from_name(optarg);
            if (k < 0) {
                cli_usage_error(CMD, "--optimizer: unknown optimiser '%s'", optarg);
            }
            o.optim.kind = (nexp_optim_kind)k;
            break;
        }
        case 'r':
            o.optim.lr = cli_parse_double(CMD, "--lr", optarg, 1e-12, 1e3);
            break;
        case 's': {
            int k = nexp_schedule_from_name(optarg);
            if (k < 0) {
                cli_usage_error(CMD, "--schedule: unknown schedule '%s'", optarg);
            }
            o.optim.schedule = (nexp_schedule)k;
            break;
        }
        case 'c':
            o.optim.clip_norm = cli_parse_double(CMD, "--clip", optarg, 0.0, 1e12);
            break;
        case 'I':
            o.iters = cli_parse_long(CMD, "--iters", optarg, 0, 100000000L);
            break;
        case 'b':
            o.batch = (int)cli_parse_long(CMD, "--batch", optarg, 0, 4096);
            break;
        case 'w':
            o.window = (int)cli_parse_long(CMD, "--window", optarg, 2, 1000000);
            break;
        case 'e':
            o.seed = (uint64_t)cli_parse_long(CMD, "--seed", optarg, 0, 2147483647L);
            break;
        case 'm':
            if (strcmp(optarg, "adams") == 0) {
                o.grad.ode.method = NEXP_ODE_ADAMS;
                o.grad.ode.linsol = NEXP_ODE_LS_FIXED_POINT;
            } else if (strcmp(optarg, "bdf") == 0) {
                o.grad.ode.method = NEXP_ODE_BDF;
                o.grad.ode.linsol = NEXP_ODE_LS_SPGMR;
            } else {
                cli_usage_error(CMD, "--method: '%s' is not adams or bdf", optarg);
            }
            break;
        case 'R':
            o.grad.ode.rtol = cli_parse_double(CMD, "--rtol", optarg, 1e-14, 1.0);
            break;
        case 'A':
            o.grad.ode.atol = cli_parse_double(CMD, "--atol", optarg, 1e-300, 1e6);
            break;
        case 'k':
            ckpt = optarg;
            break;
        case 'K':
            o.ckpt_every = cli_parse_long(CMD, "--ckpt-every", optarg, 1, 100000000L);
            break;
        case 'u':
            resume = 1;
            break;
        case 'P':
            plot = optarg;
            break;
        case 'j':
            nexp_set_threads((int)cli_parse_long(CMD, "--threads", optarg, 1, 1024));
            break;
        case 'q':
            quiet = 1;
            break;
        case CLI_OPT_MAX_MEMORY:
            cli_set_max_memory(CMD, optarg);
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            cli_option_error(CMD, c, argv[optind - 1]);
        }
    }
    if (optind != argc) {
        cli_usage_error(CMD, "fit: unexpected argument '%s'", argv[optind]);
    }
    if (data_path == NULL || time_col == NULL || states == NULL || ckpt == NULL) {
        cli_usage_error(CMD, "fit needs --data, --time, --states and --ckpt");
    }
    cli_check_writable(CMD, ckpt);
    if (plot != NULL) {
        cli_check_writable(CMD, plot);
    }
    cli_catch_interrupts();
    nexp_error err = NEXP_ERROR_INIT;
    nexp_node_physics phys_check;
    if (physics != NULL && strcmp(physics, "none") != 0 && nexp_node_physics_builtin(physics, &phys_check, &err)) {
        cli_usage_error(CMD, "--physics: %s", err.msg);
    }
    nexp_series *data = NULL;
    if (nexp_series_read(data_path, time_col, states, group, &data, &err) != NEXP_OK) {
        cli_die_err(CMD, &err);
    }
    nexp_node *m = NULL;
    nexp_node_train_state *st = NULL;
    if (resume) {
        if (nexp_node_load(ckpt, NULL, &m, &st, NULL, &err) != NEXP_OK) {
            cli_die_err(CMD, &err);
        }
        if (m->n != data->n_states) {
            cli_die(CMD, "%s: the checkpoint's model has %d states, --states names %d", ckpt, m->n, data->n_states);
        }
        if (st == NULL) {
            cli_die(CMD, "%s: no training state to resume from", ckpt);
        }
    } else {
        spec.n = data->n_states;
        spec.physics = physics;
        spec.net_scale = isnan(net_scale) ? ((physics && strcmp(physics, "none") != 0) ? 0.0 : 1.0) : net_scale;
        if (nexp_node_create(&spec, o.seed, &m, &err) != NEXP_OK) {
            cli_die_err(CMD, &err);
        }
        if (normalise && nexp_node_normalise_from(m, data, &err) != NEXP_OK) {
            cli_die_err(CMD, &err);
        }
        o.optim.total_steps = o.iters;
    }
    if (o.batch > 0) {
        int ok = 0;
        for (int g = 0; g < data->n_groups; g++) {
            ok |= nexp_series_rows(data, g) >= o.window;
        }
        if (!ok) {
            cli_usage_error(CMD, "--window %d: no trajectory has that many observations", o.window);
        }
    }
    fit_progress fp = { NULL, quiet, 0 };
    long done0 = st ? st->iter : 0;
    if (o.iters > done0) {
        fp.bar = nexp_progress_create("node fit", o.iters, cli_progress_mode(quiet), stderr);
        nexp_progress_set_start(fp.bar, done0);
    }
    o.on_iter = on_iter;
    o.user = &fp;
    o.ckpt_path = ckpt;
    double start = nexp_time_now();
    nexp_status rc = nexp_node_train(m, data, &o, &st, &err);
    nexp_progress_finish(fp.bar);
    if (rc == NEXP_ERR_INTERRUPTED && cli_interrupted()) {
        int sig = cli_interrupted();
        fprintf(stderr, "nexp node: interrupted (%s) at iteration %ld of %ld; checkpoint saved to %s (continue with "
                "--resume)\n", sig == SIGINT ? "SIGINT" : "SIGTERM", st->iter, o.iters, ckpt);
        nexp_node_train_state_free(st);
        nexp_node_free(m);
        nexp_series_free(data);
        return CLI_EXIT_SIGNAL_BASE + sig;
    }
    if (rc != NEXP_OK) {
        cli_die_err(CMD, &err);
    }
    double secs = nexp_time_now() - start, test = NAN;
    int failed = 0;
    nexp_ode_options eval = o.grad.ode;
    if (nexp_node_evaluate(m, data, o.loss, &eval, &test, &failed, &err) != NEXP_OK) {
        cli_die_err(CMD, &err);
    }
    if (!quiet) {
        fprintf(stderr,
                "nexp node: %ld iterations (%.3g s, %.3g s/iteration), last batch loss %.6g, %s of the whole "
                "trajectories %.6g%s; %ld failed solves skipped; model -> %s\n",
                st->iter - done0, secs, secs / (double)(st->iter - done0 > 0 ? st->iter - done0 : 1), st->loss,
                o.loss == NEXP_NODE_LOSS_L1 ? "L1" : "MSE", test, failed ? " (some trajectories failed)" : "",
                st->failed, ckpt);
        if (m->np > 0) {
            fprintf(stderr, "nexp node: physics %s parameters:", m->physics_name);
            for (int k = 0; k < m->np; k++) {
                fprintf(stderr, " %.6g", m->params[m->n_theta + k]);
            }
            fputc('\n', stderr);
        }
    }
    if (plot != NULL) {
        plot_fit(plot, m, data, &eval);
    }
    nexp_node_train_state_free(st);
    nexp_node_free(m);
    nexp_series_free(data);
    return CLI_EXIT_OK;
}

static int cmd_predict(int argc, char **argv)
{
    static const struct option opts[] = {
        { "ckpt", required_argument, NULL, 'k' },   { "out", required_argument, NULL, 'o' },
        { "t0", required_argument, NULL, 'a' },     { "t1", required_argument, NULL, 'b' },
        { "n", required_argument, NULL, 'n' },      { "y0", required_argument, NULL, 'y' },
        { "plot", required_argument, NULL, 'P' },   { "method", required_argument, NULL, 'm' },
        { "rtol", required_argument, NULL, 'R' },   { "atol", required_argument, NULL, 'A' },
        { "quiet", no_argument, NULL, 'q' },        { "max-memory", required_argument, NULL, CLI_OPT_MAX_MEMORY },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *ckpt = NULL, *out = NULL, *plot = NULL, *y0_s = NULL, *method = NULL;
    double t0 = NAN, t1 = NAN;
    long n_out = 200;
    int quiet = 0;
    nexp_ode_options ode = NEXP_ODE_OPTIONS_INIT;
    ode.method = NEXP_ODE_ADAMS;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            ckpt = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'a':
            t0 = cli_parse_double(CMD, "--t0", optarg, -1e300, 1e300);
            break;
        case 'b':
            t1 = cli_parse_double(CMD, "--t1", optarg, -1e300, 1e300);
            break;
        case 'n':
            n_out = cli_parse_long(CMD, "--n", optarg, 2, 100000000L);
            break;
        case 'y':
            y0_s = optarg;
            break;
        case 'P':
            plot = optarg;
            break;
        case 'm':
            method = optarg;
            break;
        case 'R':
            ode.rtol = cli_parse_double(CMD, "--rtol", optarg, 1e-14, 1.0);
            break;
        case 'A':
            ode.atol = cli_parse_double(CMD, "--atol", optarg, 1e-300, 1e6);
            break;
        case 'q':
            quiet = 1;
            break;
        case CLI_OPT_MAX_MEMORY:
            cli_set_max_memory(CMD, optarg);
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            cli_option_error(CMD, c, argv[optind - 1]);
        }
    }
    if (optind != argc) {
        cli_usage_error(CMD, "predict: unexpected argument '%s'", argv[optind]);
    }
    if (ckpt == NULL || out == NULL) {
        cli_usage_error(CMD, "predict needs --ckpt and --out");
    }
    nexp_error err = NEXP_ERROR_INIT;
    if (method != NULL && nexp_ode_method_parse(method, &ode, &err) != NEXP_OK) {
        cli_usage_error(CMD, "--method: %s", err.msg);
    }
    nexp_node *m = NULL;
    nexp_node_ckpt_info info;
    if (nexp_node_load(ckpt, NULL, &m, NULL, &info, &err) != NEXP_OK) {
        cli_die_err(CMD, &err);
    }
    double y0[64];
    if (m->n > 64) {
        cli_die(CMD, "%s: predictions support up to 64 states", ckpt);
    }
    if (y0_s != NULL) {
        if (cli_parse_double_list(CMD, "--y0", y0_s, y0, 64) != m->n) {
            cli_usage_error(CMD, "--y0: the model has %d states", m->n);
        }
    } else if (info.has_data) {
        memcpy(y0, info.y0, (size_t)m->n * sizeof *y0);
    } else {
        cli_usage_error(CMD, "--y0 is needed: %s has no data summary", ckpt);
    }
    if (isnan(t0)) {
        t0 = info.has_data ? info.t0 : 0.0;
    }
    if (isnan(t1)) {
        if (!info.has_data) {
            cli_usage_error(CMD, "--t1 is needed: %s has no data summary", ckpt);
        }
        t1 = info.t1;
    }
    if (!(t1 > t0)) {
        cli_usage_error(CMD, "--t1 (%g) must be greater than --t0 (%g)", t1, t0);
    }
    double *t = malloc((size_t)n_out * sizeof *t), *Y = malloc((size_t)n_out * m->n * sizeof *Y);
    nexp_node_work *w = NULL;
    if (t == NULL || Y == NULL || nexp_node_work_create(m, 1, &w, &err) != NEXP_OK) {
        cli_die(CMD, "out of memory");
    }
    cli_time_grid(t0, t1, n_out, t);
    if (nexp_node_predict(m, w, t0, y0, (int)n_out, t, &ode, Y, &err) != NEXP_OK) {
        cli_die_err(CMD, &err);
    }
    char names[512];
    if (info.has_data) {
        snprintf(names, sizeof names, "%s", info.state_names);
    } else {
        size_t used = 0;
        names[0] = '\0';
        for (int k = 0; k < m->n && used + 16 < sizeof names; k++) {
            used += (size_t)snprintf(names + used, sizeof names - used, "%sy%d", k ? "," : "", k + 1);
        }
    }
    const char *tname = info.has_data ? info.time_name : "t";
    if (nexp_trajectory_write(out, tname, names, t, Y, n_out, m->n, "nexp node predict", &err) != NEXP_OK) {
        cli_die_err(CMD, &err);
    }
    if (plot != NULL) {
        cli_plot_trajectory(CMD, plot, "neural ODE prediction", tname, names, t, Y, n_out, m->n);
    }
    if (!quiet) {
        fprintf(stderr, "nexp node: predicted %ld times on [%g, %g] -> %s\n", n_out, t0, t1, out);
    }
    nexp_node_work_free(w);
    free(t);
    free(Y);
    nexp_node_free(m);
    return CLI_EXIT_OK;
}

static int cmd_node(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "fit") == 0) {
        return cmd_fit(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "predict") == 0) {
        return cmd_predict(argc - 1, argv + 1);
    }
    cli_usage_error(CMD, "unknown subcommand '%s' (expected fit or predict)", argv[1]);
}

NEXP_CLI_COMMAND(node, "node", "fit neural ODEs (optionally with known physics) to CSV data; predict", cmd_node)
