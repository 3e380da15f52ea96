/* fuzz_common.h — shared by the libFuzzer targets in tests/fuzz (not installed).
 *
 *   int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
 *   {
 *       const char *path = nexp_fuzz_file(data, size, ".flo");   // per-process temp file
 *       nexp_error err = NEXP_ERROR_INIT;
 *       nexp_field *f = NULL;
 *       nexp_fuzz_check_field(nexp_flo_read(path, &f, &err), f, &err);   // checks and frees f
 *       return 0;
 *   }
 *
 * The readers take paths, so every input is written to one file per process and suffix, in
 * /dev/shm when it exists (else TMPDIR, else /tmp); the file is removed when the process exits.
 */
#ifndef NEXP_FUZZ_COMMON_H
#define NEXP_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "nexp_field.h"
#include "nexp_status.h"

/* Write size bytes of data to this process's temp file ending in suffix (e.g. ".png") and return
 * its path (static storage, one file per suffix, valid until the next call with that suffix).
 * Aborts if the file cannot be written: that is a broken fuzzing setup, not a finding. */
const char *nexp_fuzz_file(const uint8_t *data, size_t size, const char *suffix);

/* Like nexp_fuzz_file for PNG input: every complete chunk gets its correct CRC before the file is
 * written, so that mutations reach the chunk parsers instead of dying at libpng's CRC check. */
const char *nexp_fuzz_png_file(const uint8_t *data, size_t size, const char *suffix);

/* Check what every reader promises: on failure a non-empty message in err and no field; on success
 * a field within the limits whose values and mask are all readable (each is touched, so ASan sees
 * any short buffer). Aborts (a finding) if a promise is broken. Frees f. */
void nexp_fuzz_check_field(nexp_status st, nexp_field *f, const nexp_error *err);
/* Every HDF5 identifier (file, group, dataset, attribute, type, space, property list) that the
 * reader opened has been closed again; aborts with the count otherwise. Call it after each input
 * of an HDF5 target: HDF5 frees leaked identifiers at exit, so LeakSanitizer cannot see them. */
void nexp_fuzz_check_h5_closed(void);
/* On failure, a non-empty message in err; aborts otherwise. */
void nexp_fuzz_check_error(nexp_status st, const nexp_error *err);

#endif
