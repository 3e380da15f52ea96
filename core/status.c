#include "nexp_status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *nexp_strerror(nexp_status s)
{
    switch (s) {
#define NEXP_STATUS_CASE_(name, value, msg) \
    case name:                              \
        return msg;
        NEXP_STATUS_LIST(NEXP_STATUS_CASE_)
#undef NEXP_STATUS_CASE_
    }
    return "unknown status";
}

nexp_status nexp_error_set(nexp_error *err, nexp_status code, const char *fmt, ...)
{
    if (err == NULL || (err->code != NEXP_OK && err->msg[0] != '\0')) {
        return code;
    }
    err->code = code;
    if (fmt == NULL) {
        snprintf(err->msg, sizeof err->msg, "%s", nexp_strerror(code));
        return code;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

nexp_status nexp_error_prefix(nexp_error *err, const char *prefix)
{
    if (err == NULL) {
        return NEXP_OK;
    }
    if (prefix != NULL && prefix[0] != '\0') {
        char tmp[NEXP_ERROR_MSG_MAX];
        const char *m = err->msg[0] ? err->msg : nexp_strerror(err->code);
        size_t lp = strnlen(prefix, NEXP_ERROR_MSG_MAX / 2);
        size_t lm = strlen(m);
        if (lp + 2 + lm >= sizeof tmp) {
            lm = sizeof tmp - lp - 3;
        }
        memcpy(tmp, prefix, lp);
        tmp[lp] = ':';
        tmp[lp + 1] = ' ';
        memcpy(tmp + lp + 2, m, lm);
        tmp[lp + 2 + lm] = '\0';
        memcpy(err->msg, tmp, sizeof tmp);
    }
    return err->code;
}

void nexp_error_clear(nexp_error *err)
{
    if (err != NULL) {
        err->code = NEXP_OK;
        err->msg[0] = '\0';
    }
}
