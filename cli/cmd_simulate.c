/* nexp simulate SYSTEM: integrate a built-in ODE system with CVODE or ARKODE. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nexp_csv.h"
#include "nexp_ode.h"

#define CMD "simulate"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: nexp simulate SYSTEM --out RUN.csv|RUN.h5 [OPTIONS]\n"
            "Integrate a built-in ODE system from t0 to t1 with SUNDIALS (CVODE BDF/Adams or an\n"
            "ARKODE explicit Runge-Kutta method) and write the states at N equally spaced times.\n\n"
            "Systems (parameters; defaults):\n");
    for (const nexp_ode_builtin *const *b = nexp_ode_builtins(); *b != NULL; b++) {
        fprintf(out, "  %-15s %s\n  %-15s states %s; params %s =", (*b)->name, (*b)->summary, "", (*b)->state_names,
                (*b)->param_names);
        for (int k = 0; k < (*b)->np; k++) {
            fprintf(out, "%s%g", k ? "," : " ", (*b)->params[k]);
        }
        fprintf(out, "; y0 =");
        for (int k = 0; k < (*b)->n; k++) {
            fprintf(out, "%s%g", k ? "," : " ", (*b)->y0[k]);
        }
        fprintf(out, "; t1 = %g\n", (*b)->t1);
    }
    fprintf(out,
            "\nOptions:\n"
            "  --out FILE        output: .csv (time and state columns) or .h5 (datasets time, states)\n"
            "  --t0 T            start time                                     [default: 0]\n"
            "  --t1 T            end time                              [default: per system]\n"
            "  --n N             number of output times, t0..t1 inclusive       [default: 1000]\n"
            "  --params P,...    parameters in the order listed above    [default: per system]\n"
            "  --y0 Y,...        initial state                           [default: per system]\n"
            "  --method M        bdf | adams | dopri5 | erk:<ARKODE table>, e.g.\n"
            "                    erk:ARKODE_VERNER_8_5_6                 [default: per system]\n"
            "  --linsol L        CVODE linear solver: dense | spgmr | fixed-point  [default: dense]\n"
            "  --rtol R          relative tolerance                             [default: 1e-6]\n"
            "  --atol A          absolute tolerance                             [default: 1e-8]\n"
            "  --max-steps N     steps allowed between two outputs            [default: 100000]\n"
            "  --plot FILE.png   also draw the states over time (cairo)\n"
            "  --stats           print solver statistics (steps, evaluations) on stderr\n"
            "  --quiet           print nothing but errors\n"
            CLI_MAX_MEMORY_HELP
            "  -h, --help        this help\n\n"
            "Examples:\n"
            "  nexp simulate lorenz --t1 40 --n 4000 --method dopri5 --out lorenz.csv --plot lorenz.png\n"
            "  nexp simulate robertson --t1 4e10 --n 50 --rtol 1e-4 --stats --out rob.h5\n"
            "  nexp simulate lotka-volterra --params 1.5,1,3,1 --y0 10,5 --out lv.csv\n");
}

static int cmd_simulate(int argc, char **argv)
{
    static const struct option opts[] = {
        { "out", required_argument, NULL, 'o' },      { "t0", required_argument, NULL, 'a' },
        { "t1", required_argument, NULL, 'b' },       { "n", required_argument, NULL, 'n' },
        { "params", required_argument, NULL, 'p' },   { "y0", required_argument, NULL, 'y' },
        { "method", required_argument, NULL, 'm' },   { "linsol", required_argument, NULL, 'l' },
        { "rtol", required_argument, NULL, 'r' },     { "atol", required_argument, NULL, 't' },
        { "max-steps", required_argument, NULL, 'x' }, { "plot", required_argument, NULL, 'P' },
        { "stats", no_argument, NULL, 's' },          { "quiet", no_argument, NULL, 'q' },
        { "max-memory", required_argument, NULL, CLI_OPT_MAX_MEMORY },
        { "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 }
    };
    const char *out = NULL, *plot = NULL, *method = NULL, *params_s = NULL, *y0_s = NULL;
    double t0 = 0.0, t1 = NAN;
    long n_out = 1000;
    int stats_flag = 0, quiet = 0;
    nexp_ode_options opt = NEXP_ODE_OPTIONS_INIT;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
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
        case 'p':
            params_s = optarg;
            break;
        case 'y':
            y0_s = optarg;
            break;
        case 'm':
            method = optarg;
            break;
        case 'l':
            if (strcmp(optarg, "dense") == 0) {
                opt.linsol = NEXP_ODE_LS_DENSE;
            } else if (strcmp(optarg, "spgmr") == 0) {
                opt.linsol = NEXP_ODE_LS_SPGMR;
            } else if (strcmp(optarg, "fixed-point") == 0) {
                opt.linsol = NEXP_ODE_LS_FIXED_POINT;
            } else {
                cli_usage_error(CMD, "--linsol: '%s' is not dense, spgmr or fixed-point", optarg);
            }
            break;
        case 'r':
            opt.rtol = cli_parse_double(CMD, "--rtol", optarg, 1e-15, 1.0);
            break;
        case 't':
            opt.atol = cli_parse_double(CMD, "--atol", optarg, 1e-300, 1e300);
            if (opt.atol <= 0.0) {
                cli_usage_error(CMD, "--atol must be positive");
            }
            break;
        case 'x':
            opt.max_steps = cli_parse_long(CMD, "--max-steps", optarg, 1, 1000000000L);
            break;
        case 'P':
            plot = optarg;
            break;
        case 's':
            stats_flag = 1;
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
    if (argc - optind != 1) {
        cli_usage_error(CMD, "expected one SYSTEM, got %d arguments", argc - optind);
    }
    const char *name = argv[optind];
    const nexp_ode_builtin *info = nexp_ode_builtin_find(name);
    if (info == NULL) {
        cli_usage_error(CMD, "unknown system '%s' (see 'nexp simulate --help')", name);
    }
    if (out == NULL) {
        cli_usage_error(CMD, "--out FILE is required");
    }
    size_t ol = strlen(out);
    if (!(ol > 4 && strcmp(out + ol - 4, ".csv") == 0) && !(ol > 3 && strcmp(out + ol - 3, ".h5") == 0)) {
        cli_usage_error(CMD, "--out '%s': expected a .csv or .h5 file", out);
    }
    double p[16], y0[16];
    memcpy(p, info->params, (size_t)info->np * sizeof *p);
    memcpy(y0, info->y0, (size_t)info->n * sizeof *y0);
    if (params_s != NULL && cli_parse_double_list(CMD, "--params", params_s, p, 16) != info->np) {
        cli_usage_error(CMD, "--params: %s takes %d parameters (%s)", name, info->np, info->param_names);
    }
    if (y0_s != NULL && cli_parse_double_list(CMD, "--y0", y0_s, y0, 16) != info->n) {
        cli_usage_error(CMD, "--y0: %s has %d states (%s)", name, info->n, info->state_names);
    }
    if (isnan(t1)) {
        t1 = t0 + info->t1;
    }
    if (!(t1 > t0)) {
        cli_usage_error(CMD, "--t1 (%g) must be greater than --t0 (%g)", t1, t0);
    }
    opt.method = info->method;
    nexp_error err = NEXP_ERROR_INIT;
    if (method != NULL && nexp_ode_method_parse(method, &opt, &err) != NEXP_OK) {
        cli_usage_error(CMD, "--method: %s", err.msg);
    }

    nexp_ode_system sys;
    if (nexp_ode_builtin_system(name, p, &sys, &err) != NEXP_OK) {
        cli_die_err(CMD, &err);
    }
    if (nexp_memory_check((size_t)n_out * ((size_t)info->n + 1) * sizeof(double), "the output times and states",
                          &err) != NEXP_OK) {
        cli_die_err(CMD, &err);
    }
    double *t = malloc((size_t)n_out * sizeof *t);
    double *Y = malloc((size_t)n_out * info->n * sizeof *Y);
    if (t == NULL || Y == NULL) {
        cli_die(CMD, "out of memory for %ld output times", n_out);
    }
    cli_time_grid(t0, t1, n_out, t);
    nexp_ode_stats st;
    double start = nexp_time_now();
    if (nexp_ode_solve(&sys, &opt, t0, y0, (int)n_out, t, Y, &st, &err) != NEXP_OK) {
        cli_die_err(CMD, &err);
    }
    double secs = nexp_time_now() - start;
    char meta[512];
    snprintf(meta, sizeof meta, "nexp simulate %s: t0=%g t1=%g method=%s rtol=%g atol=%g", name, t0, t1,
             method ? method : (opt.method == NEXP_ODE_BDF ? "bdf" : "adams"), opt.rtol, opt.atol);
    if (nexp_trajectory_write(out, "t", info->state_names, t, Y, n_out, info->n, meta, &err) != NEXP_OK) {
        cli_die_err(CMD, &err);
    }
    if (plot != NULL) {
        cli_plot_trajectory(CMD, plot, info->summary, "t", info->state_names, t, Y, n_out, info->n);
    }
    if (!quiet) {
        fprintf(stderr, "nexp simulate: %s to t = %g, %ld outputs -> %s (%.3f s)\n", name, t1, n_out, out, secs);
    }
    if (stats_flag) {
        fprintf(stderr,
                "steps %ld, rhs evaluations %ld, Jacobian evaluations %ld, linear setups %ld, error test "
                "failures %ld, nonlinear iterations %ld, nonlinear failures %ld, last step %.6g\n",
                st.steps, st.rhs_evals, st.jac_evals, st.lin_setups, st.err_test_fails, st.nonlin_iters,
                st.nonlin_fails, st.h_last);
    }
    free(t);
    free(Y);
    return CLI_EXIT_OK;
}

NEXP_CLI_COMMAND(simulate, "simulate", "integrate a built-in ODE system (lorenz, robertson, ...) with SUNDIALS",
                 cmd_simulate)
