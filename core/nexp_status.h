/* nexp_status.h — status codes and caller-facing error messages.
 *
 *   nexp_error err = NEXP_ERROR_INIT;
 *   nexp_field *f = NULL;
 *   if (nexp_field_read("flow.flo", &f, &err) != NEXP_OK)
 *       fprintf(stderr, "nexp: %s\n", err.msg);   // "flow.flo: truncated: expected 3571712 bytes, found 1000"
 *   nexp_field_free(f);
 *
 * Every library function that can fail returns an nexp_status (0 = ok, negative = error) and, when
 * the caller passes a non-NULL nexp_error, fills it with the code and a one-line message naming the
 * file, the offset or the parameter and what was expected. The library keeps no global error state
 * and never exits or aborts on user input.
 */
#ifndef NEXP_STATUS_H
#define NEXP_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

/* The one list of status codes: name, value, generic message. */
#define NEXP_STATUS_LIST(X)                                                        \
    X(NEXP_OK, 0, "ok")                                                            \
    X(NEXP_ERR_NOMEM, -1, "out of memory")                                         \
    X(NEXP_ERR_ARG, -2, "invalid argument")                                        \
    X(NEXP_ERR_IO, -3, "input/output error")                                       \
    X(NEXP_ERR_FORMAT, -4, "malformed file")                                       \
    X(NEXP_ERR_UNSUPPORTED, -5, "unsupported format or feature")                   \
    X(NEXP_ERR_SIZE, -6, "size mismatch")                                          \
    X(NEXP_ERR_TOO_LARGE, -7, "size too large")                                    \
    X(NEXP_ERR_NONFINITE, -8, "non-finite value (NaN or infinity)")                \
    X(NEXP_ERR_UNSTABLE, -9, "time step above the stability bound")                \
    X(NEXP_ERR_SOLVER, -10, "solver failure")                                      \
    X(NEXP_ERR_EMPTY, -11, "empty input (no data, no known pixel)")                \
    X(NEXP_ERR_MISMATCH, -12, "model or file does not match what was expected")    \
    X(NEXP_ERR_INTERRUPTED, -13, "interrupted")

typedef enum nexp_status {
#define NEXP_STATUS_ENUM_(name, value, msg) name = value,
    NEXP_STATUS_LIST(NEXP_STATUS_ENUM_)
#undef NEXP_STATUS_ENUM_
} nexp_status;

/* Generic message of a status code ("unknown status" for a value not in the list). */
const char *nexp_strerror(nexp_status s);

#define NEXP_ERROR_MSG_MAX 512

/* Detail of the last failure of one call; owned by the caller (usually on its stack). */
typedef struct nexp_error {
    nexp_status code;
    char msg[NEXP_ERROR_MSG_MAX];
} nexp_error;

#define NEXP_ERROR_INIT { NEXP_OK, { 0 } }

/* Fill *err (if not NULL) with code and a printf-style message; returns code. A message that is
 * already set is kept (the innermost, most specific failure wins) unless err->code is NEXP_OK. */
nexp_status nexp_error_set(nexp_error *err, nexp_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Prefix an already set message with "prefix: " (e.g. the file name); returns err->code. */
nexp_status nexp_error_prefix(nexp_error *err, const char *prefix);

/* Reset to NEXP_OK and an empty message. */
void nexp_error_clear(nexp_error *err);

#ifdef __cplusplus
}
#endif
#endif
