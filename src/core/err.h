/* err.h - the one error convention of botscope.
 *
 * Every function that can fail returns int: 0 (BS_OK) on success, a negative value on
 * failure. System errors are returned as -errno; botscope's own conditions use the BS_E*
 * codes below, which sit far below any errno value. bs_strerror() names either kind.
 * Only main() and the CLI print errors and choose exit codes.
 */
#ifndef BS_CORE_ERR_H
#define BS_CORE_ERR_H

enum bs_err {
    BS_OK = 0,
    BS_ETRUNC = -10001,       /* input ends before a length or field says it should */
    BS_EMALFORMED = -10002,   /* input violates its format (bad length, bad value) */
    BS_EVERSION = -10003,     /* unsupported protocol or file version */
    BS_ENOTEMPLATE = -10004,  /* v9/IPFIX data set whose template is unknown */
    BS_ELIMIT = -10005,       /* a configured cap was reached (templates, memory, count) */
    BS_ENOMEM = -10006,       /* allocation failed */
    BS_EPARSE = -10007,       /* text input (config, filter, CSV) does not parse */
    BS_ENOTFOUND = -10008,    /* a named thing does not exist */
    BS_EEXIST = -10009,       /* a thing already exists */
    BS_EIO = -10010,          /* I/O failed without an errno (library error) */
    BS_ECORRUPT = -10011,     /* stored data fails its checksum or invariants */
    BS_EUSAGE = -10012,       /* bad command-line or configuration usage */
    BS_EUNSUPPORTED = -10013, /* valid input that botscope does not handle */
    BS_ESTOP = -10014,        /* a loop was asked to stop (not an error to report) */
};

/* Returns a static, human-readable description of err (0, -errno or BS_E*). */
const char *bs_strerror(int err);

/* Exit codes of the botscope command (CLI.md). */
enum bs_exit { BS_EXIT_OK = 0, BS_EXIT_FAIL = 1, BS_EXIT_USAGE = 2 };

#endif
