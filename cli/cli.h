/* cli.h — shared helpers of the nexp program (not part of the library).
 *
 * Each subcommand lives in its own cli/cmd_<name>.c and registers itself:
 *
 *   static int cmd_info(int argc, char **argv) { ... return 0; }
 *   NEXP_CLI_COMMAND(info, "info", "print format, size and statistics of a field file", cmd_info)
 *
 * A command's argv[0] is its name; it parses the rest with getopt_long. Exit codes: 0 ok,
 * 1 runtime error (one line on stderr), 2 usage error.
 */
#ifndef NEXP_CLI_H
#define NEXP_CLI_H

#include <stdio.h>

#include "nexp.h"

typedef int (*cli_main_fn)(int argc, char **argv);

typedef struct cli_command {
    const char *name;
    const char *summary;
    cli_main_fn run;
} cli_command;

void cli_register(const cli_command *cmd);

#define NEXP_CLI_COMMAND(ident, name, summary, fn)                                  \
    static const cli_command cli_command_##ident = { name, summary, fn };           \
    __attribute__((constructor)) static void cli_register_##ident(void)              \
    {                                                                               \
        cli_register(&cli_command_##ident);                                         \
    }

#define CLI_EXIT_OK 0
#define CLI_EXIT_RUNTIME 1
#define CLI_EXIT_USAGE 2
/* A run stopped by SIGINT/SIGTERM after saving its work exits with 128 + the signal number
 * (130 for Ctrl-C, 143 for SIGTERM), the shell's convention. */
#define CLI_EXIT_SIGNAL_BASE 128

/* "nexp CMD: message" on stderr, then exit 1. */
_Noreturn void cli_die(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print err's message as a runtime error and exit 1. */
_Noreturn void cli_die_err(const char *cmd, const nexp_error *err);
/* "nexp CMD: message" and "Try 'nexp CMD --help'." on stderr, then exit 2. */
_Noreturn void cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The getopt_long results (with optstring ":h") every command handles alike: c == ':' (an option
 * missing its value, "option '--x' needs a value") or anything else ("unknown option '--x'"); opt is
 * the offending argument, argv[optind - 1]. A usage error, exit 2. */
_Noreturn void cli_option_error(const char *cmd, int c, const char *opt);

/* Strict number parsing of option values: the whole string must be a finite number in range,
 * otherwise a usage error naming the option. */
double cli_parse_double(const char *cmd, const char *opt, const char *s, double lo, double hi);
long cli_parse_long(const char *cmd, const char *opt, const char *s, long lo, long hi);
/* Comma-separated list of doubles/longs into out (at most max); returns the count. */
int cli_parse_double_list(const char *cmd, const char *opt, const char *s, double *out, int max);
int cli_parse_long_list(const char *cmd, const char *opt, const char *s, long *out, int max);

/* Sizes such as "512M", "4G", "1.5GiB", "65536" (bytes; K/M/G/T are powers of 1024), or "0" for no
 * limit; anything else is a usage error naming the option. */
size_t cli_parse_size(const char *cmd, const char *opt, const char *s);

/* --max-memory SIZE: every command runs with a memory limit (core/nexp_core.h), by default 3/4 of
 * the physical memory (8 GiB where that cannot be determined); main() sets the default, the
 * option overrides it. Commands list the option with CLI_MAX_MEMORY_HELP and handle it with
 * case CLI_OPT_MAX_MEMORY: cli_set_max_memory(cmd, optarg). */
#define CLI_OPT_MAX_MEMORY 0x4d4d
#define CLI_MAX_MEMORY_HELP \
    "  --max-memory SIZE  refuse inputs and plans needing more than SIZE (512M, 4G; 0: no limit)\n" \
    "                     [default: 3/4 of physical memory]\n"
size_t cli_default_max_memory(void);
void cli_set_max_memory(const char *cmd, const char *s);

/* Progress mode for --quiet. */
nexp_progress_mode cli_progress_mode(int quiet);

/* Stop requests for long runs: after cli_catch_interrupts(), the first SIGINT or SIGTERM only sets
 * a flag (a second one terminates as usual); the training loop polls cli_interrupted() (0 or the
 * signal number), saves and exits with CLI_EXIT_SIGNAL_BASE + that number. */
void cli_catch_interrupts(void);
int cli_interrupted(void);

/* For outputs written only after long work (checkpoints, plots): dies at once, naming path, when no
 * file can be created in its folder, instead of failing hours later. path itself is not touched. */
void cli_check_writable(const char *cmd, const char *path);

/* n >= 2 evenly spaced output times from t0 to t1 (the last exactly t1). */
void cli_time_grid(double t0, double t1, long n, double *t);
/* Draws the n states of a trajectory (Y row-major, n_out rows of n) over time t into a PNG at path,
 * one line per state labelled by the comma-separated names (at most 64 states); dies on error. */
void cli_plot_trajectory(const char *cmd, const char *path, const char *title, const char *xlabel,
                         const char *names, const double *t, const double *Y, long n_out, int n);

/* A learned inpainting model's shape for progress and summary lines: "5 levels x 300 steps,
 * image+flow-fed, cascade"; returns buf. */
const char *cli_learned_shape(const nexp_learned_spec *spec, char *buf, size_t len);

/* Print a JSON string value with escapes. */
void cli_json_string(FILE *out, const char *s);

#endif
