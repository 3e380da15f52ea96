#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "nexp_io.h"
#include "nexp_plot.h"

void cli_die(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "nexp %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(CLI_EXIT_RUNTIME);
}

void cli_die_err(const char *cmd, const nexp_error *err)
{
    const char *msg = err->msg[0] ? err->msg : nexp_strerror(err->code);
    if (err->code == NEXP_ERR_TOO_LARGE && strstr(msg, "above the memory limit") != NULL) {
        cli_die(cmd, "%s (see --max-memory)", msg);
    }
    cli_die(cmd, "%s", msg);
}

void cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "nexp %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'nexp %s --help'.\n", cmd);
    va_end(ap);
    exit(CLI_EXIT_USAGE);
}

void cli_option_error(const char *cmd, int c, const char *opt)
{
    if (c == ':') {
        cli_usage_error(cmd, "option '%s' needs a value", opt);
    }
    cli_usage_error(cmd, "unknown option '%s'", opt);
}

double cli_parse_double(const char *cmd, const char *opt, const char *s, double lo, double hi)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (s[0] == '\0' || *end != '\0' || errno == ERANGE || !isfinite(v)) {
        cli_usage_error(cmd, "%s: '%s' is not a number", opt, s);
    }
    if (v < lo || v > hi) {
        cli_usage_error(cmd, "%s: %g is out of range [%g, %g]", opt, v, lo, hi);
    }
    return v;
}

long cli_parse_long(const char *cmd, const char *opt, const char *s, long lo, long hi)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (s[0] == '\0' || *end != '\0' || errno == ERANGE) {
        cli_usage_error(cmd, "%s: '%s' is not an integer", opt, s);
    }
    if (v < lo || v > hi) {
        cli_usage_error(cmd, "%s: %ld is out of range [%ld, %ld]", opt, v, lo, hi);
    }
    return v;
}

static int split_list(const char *cmd, const char *opt, const char *s, char *buf, size_t bufsize, char **items,
                      int max)
{
    if (strlen(s) >= bufsize) {
        cli_usage_error(cmd, "%s: list too long", opt);
    }
    strcpy(buf, s);
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        if (n == max) {
            cli_usage_error(cmd, "%s: more than %d values", opt, max);
        }
        items[n++] = tok;
    }
    if (n == 0) {
        cli_usage_error(cmd, "%s: empty list", opt);
    }
    return n;
}

int cli_parse_double_list(const char *cmd, const char *opt, const char *s, double *out, int max)
{
    char buf[4096];
    char *items[256];
    int n = split_list(cmd, opt, s, buf, sizeof buf, items, max < 256 ? max : 256);
    for (int i = 0; i < n; i++) {
        out[i] = cli_parse_double(cmd, opt, items[i], -HUGE_VAL, HUGE_VAL);
    }
    return n;
}

int cli_parse_long_list(const char *cmd, const char *opt, const char *s, long *out, int max)
{
    char buf[4096];
    char *items[256];
    int n = split_list(cmd, opt, s, buf, sizeof buf, items, max < 256 ? max : 256);
    for (int i = 0; i < n; i++) {
        out[i] = cli_parse_long(cmd, opt, items[i], -2147483647L, 2147483647L);
    }
    return n;
}

size_t cli_parse_size(const char *cmd, const char *opt, const char *s)
{
    static const char units[] = "BKMGTP";
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (s[0] == '\0' || end == s || errno == ERANGE || !isfinite(v) || v < 0.0) {
        cli_usage_error(cmd, "%s: '%s' is not a size (e.g. 512M, 4G)", opt, s);
    }
    double scale = 1.0;
    if (*end != '\0') {
        const char *u = strchr(units, toupper((unsigned char)*end));
        if (u == NULL) {
            cli_usage_error(cmd, "%s: '%s' has an unknown unit (B, K, M, G, T, P)", opt, s);
        }
        for (const char *k = units; k < u; k++) {
            scale *= 1024.0;
        }
        end++;
        if (*u != 'B' && (strcasecmp(end, "iB") == 0 || strcasecmp(end, "B") == 0)) {
            end += strlen(end);
        }
        if (*end != '\0') {
            cli_usage_error(cmd, "%s: '%s' is not a size (e.g. 512M, 4G)", opt, s);
        }
    }
    v *= scale;
    if (v >= 18446744073709551615.0) {
        cli_usage_error(cmd, "%s: '%s' is too large", opt, s);
    }
    return (size_t)v;
}

size_t cli_default_max_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) {
        return (size_t)8 << 30;
    }
    return (size_t)pages / 4 * 3 * (size_t)page;
}

void cli_set_max_memory(const char *cmd, const char *s)
{
    nexp_set_memory_limit(cli_parse_size(cmd, "--max-memory", s));
}

static volatile sig_atomic_t interrupt_signal;

static void on_interrupt(int sig)
{
    interrupt_signal = sig;
}

void cli_catch_interrupts(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sa.sa_flags = SA_RESETHAND | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cli_interrupted(void)
{
    return interrupt_signal;
}

void cli_check_writable(const char *cmd, const char *path)
{
    nexp_atomic_file af;
    nexp_error err = NEXP_ERROR_INIT;
    if (nexp_atomic_open(&af, path, &err) != NEXP_OK) {
        cli_die_err(cmd, &err);
    }
    nexp_atomic_abort(&af);
}

nexp_progress_mode cli_progress_mode(int quiet)
{
    return quiet ? NEXP_PROGRESS_QUIET : NEXP_PROGRESS_AUTO;
}

void cli_time_grid(double t0, double t1, long n, double *t)
{
    for (long i = 0; i < n; i++) {
        t[i] = t0 + (t1 - t0) * (double)i / (double)(n - 1);
    }
    t[n - 1] = t1;
}

void cli_plot_trajectory(const char *cmd, const char *path, const char *title, const char *xlabel,
                         const char *names, const double *t, const double *Y, long n_out, int n)
{
    nexp_plot_series s[64];
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", names);
    char *save = NULL, *tok = strtok_r(buf, ",", &save);
    for (int k = 0; k < n && k < 64; k++, tok = strtok_r(NULL, ",", &save)) {
        s[k] = (nexp_plot_series){ tok, t, Y + k, n_out, n, NEXP_PLOT_LINE, k };
    }
    nexp_plot_spec ps = NEXP_PLOT_SPEC_INIT;
    ps.title = title;
    ps.xlabel = xlabel;
    ps.ylabel = "state";
    nexp_error err = NEXP_ERROR_INIT;
    nexp_status st = nexp_plot_write_png(path, &ps, s, n < 64 ? n : 64, &err);
    nexp_plot_release_caches();
    if (st != NEXP_OK) {
        cli_die_err(cmd, &err);
    }
}

const char *cli_learned_shape(const nexp_learned_spec *spec, char *buf, size_t len)
{
    snprintf(buf, len, "%d levels x %d steps, %s-fed%s%s", spec->levels, spec->steps,
             spec->flow_input ? "image+flow" : "image", spec->cascade ? ", cascade" : "",
             spec->mirror ? ", mirror padding" : "");
    return buf;
}

void cli_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            fprintf(out, "\\%c", ch);
        } else if (ch < 0x20) {
            fprintf(out, "\\u%04x", ch);
        } else {
            fputc(ch, out);
        }
    }
    fputc('"', out);
}
