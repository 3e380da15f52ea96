/* nexp_progress.h — a progress reporter for long loops.
 *
 *   nexp_progress *p = nexp_progress_create("train", 2000, NEXP_PROGRESS_AUTO, stderr);
 *   for (long i = 0; i < 2000; i++) {
 *       ...;
 *       nexp_progress_update(p, i + 1, "loss %.4g", loss);   // cheap: prints at most ~10x a second
 *   }
 *   nexp_progress_finish(p);                                  // final line, frees p
 *
 * AUTO prints a redrawn bar with rate and ETA when the stream is a terminal and plain lines
 * (about every 5 s and at the end) otherwise; QUIET prints nothing. The reporter owns nothing but
 * itself; the stream stays the caller's. Not thread-safe: update it from one thread.
 */
#ifndef NEXP_PROGRESS_H
#define NEXP_PROGRESS_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nexp_progress_mode {
    NEXP_PROGRESS_AUTO = 0,  /* bar on a terminal, periodic lines otherwise */
    NEXP_PROGRESS_QUIET = 1, /* nothing */
    NEXP_PROGRESS_BAR = 2,   /* always the redrawn bar */
    NEXP_PROGRESS_LINES = 3  /* always plain lines */
} nexp_progress_mode;

typedef struct nexp_progress nexp_progress;

/* label: short name shown first; total: number of units (> 0), e.g. iterations or steps.
 * Returns NULL only when out of memory (callers may treat NULL as quiet: all calls accept NULL). */
nexp_progress *nexp_progress_create(const char *label, long total, nexp_progress_mode mode, FILE *stream);
/* Units that were complete before this run (e.g. a resumed training's step): shown in the count, left
 * out of the rate and ETA. Call right after create. Accepts NULL. */
void nexp_progress_set_start(nexp_progress *p, long done);
/* Report that done units are complete (counted from 0, not from the start); extra is an optional
 * printf-style status (e.g. the loss). */
void nexp_progress_update(nexp_progress *p, long done, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Print the final state (elapsed time, mean rate) and free. Accepts NULL. */
void nexp_progress_finish(nexp_progress *p);
/* Seconds since an arbitrary fixed point (monotonic clock). */
double nexp_time_now(void);

#ifdef __cplusplus
}
#endif
#endif
