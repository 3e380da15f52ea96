#include "nexp_progress.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct nexp_progress {
    char label[48];
    long total, done, start; /* start: units done before this run */
    int bar;   /* 1: redrawn bar, 0: lines */
    int quiet; /* 1: print nothing */
    FILE *out;
    double t0, last_print;
    char extra[160];
};

double nexp_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

nexp_progress *nexp_progress_create(const char *label, long total, nexp_progress_mode mode, FILE *stream)
{
    nexp_progress *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return NULL;
    }
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    p->total = total > 0 ? total : 1;
    p->out = stream ? stream : stderr;
    p->quiet = mode == NEXP_PROGRESS_QUIET;
    if (mode == NEXP_PROGRESS_AUTO) {
        p->bar = isatty(fileno(p->out));
    } else {
        p->bar = mode == NEXP_PROGRESS_BAR;
    }
    p->t0 = nexp_time_now();
    p->last_print = p->t0;
    return p;
}

void nexp_progress_set_start(nexp_progress *p, long done)
{
    if (p != NULL) {
        p->start = done > 0 ? (done < p->total ? done : p->total) : 0;
        p->done = p->start;
    }
}

static void format_seconds(double s, char *buf, size_t n)
{
    if (!(s >= 0.0) || s > 1e7) {
        snprintf(buf, n, "--:--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600) {
        snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    } else {
        snprintf(buf, n, "%02ld:%02ld", t / 60, t % 60);
    }
}

static void print_state(nexp_progress *p, double now, int final)
{
    double elapsed = now - p->t0;
    double rate = elapsed > 0.0 ? (double)(p->done - p->start) / elapsed : 0.0;
    double eta = p->done >= p->total ? 0.0 : rate > 0.0 ? (double)(p->total - p->done) / rate : -1.0;
    char el[32], et[32];
    format_seconds(elapsed, el, sizeof el);
    format_seconds(eta, et, sizeof et);
    double frac = (double)p->done / (double)p->total;
    if (p->bar) {
        char bar[31];
        int fill = (int)(frac * 30.0 + 0.5);
        for (int i = 0; i < 30; i++) {
            bar[i] = i < fill ? '#' : '.';
        }
        bar[30] = '\0';
        fprintf(p->out, "\r%s [%s] %3.0f%% %ld/%ld %.3g it/s %s<%s %s\033[K%s", p->label, bar, 100.0 * frac,
                p->done, p->total, rate, el, et, p->extra, final ? "\n" : "");
    } else {
        fprintf(p->out, "%s: %ld/%ld (%.0f%%) %.3g it/s elapsed %s eta %s %s\n", p->label, p->done, p->total,
                100.0 * frac, rate, el, et, p->extra);
    }
    fflush(p->out);
}

void nexp_progress_update(nexp_progress *p, long done, const char *fmt, ...)
{
    if (p == NULL || p->quiet) {
        return;
    }
    p->done = done;
    double now = nexp_time_now();
    double every = p->bar ? 0.1 : 5.0;
    if (now - p->last_print < every && done < p->total) {
        return;
    }
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->extra, sizeof p->extra, fmt, ap);
        va_end(ap);
    }
    p->last_print = now;
    if (done < p->total) {
        print_state(p, now, 0);
    }
}

void nexp_progress_finish(nexp_progress *p)
{
    if (p == NULL) {
        return;
    }
    if (!p->quiet) {
        print_state(p, nexp_time_now(), 1);
    }
    free(p);
}
