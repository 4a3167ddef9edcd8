/* tests/test_util.h — the small harness every clnn test uses: a context on the test device (a
 * test that finds no OpenCL device fails), checks that count failures, deterministic random data,
 * array comparison with tolerances, and central finite differences. */
#ifndef CLNN_TEST_UTIL_H
#define CLNN_TEST_UTIL_H

#include "clnn.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

extern int tu_failures; /* checks failed so far */
extern int tu_checks;   /* checks run so far */

/* A context on $CLNN_DEVICE / the default device. Prints the device. Exits with status 1 (test
 * failure) if there is no OpenCL device: a run without a device must fail, not pass. */
clnn_context *tu_context(void);

/* Records a check; prints file:line and the message when it fails. Returns cond. */
int tu_check_(int cond, const char *file, int line, const char *fmt, ...);
#define TU_CHECK(cond, ...) tu_check_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
/* Checks that a clnn call returned `expected` (printing clnn_last_error() when not). */
#define TU_STATUS(call, expected)                                                               \
  do {                                                                                          \
    clnn_status tu_s_ = (call);                                                                 \
    tu_check_(tu_s_ == (expected), __FILE__, __LINE__, "%s returned %s, expected %s (%s)", #call, \
              clnn_status_string(tu_s_), clnn_status_string(expected), clnn_last_error());      \
  } while (0)
#define TU_OK(call) TU_STATUS(call, CLNN_SUCCESS)

/* Prints "<name>: N passed, N failed" and returns the process exit code (0 when nothing failed). */
int tu_finish(const char *name);

/* Deterministic pseudo-random numbers (xorshift), uniform in [lo, hi). */
void tu_seed(uint64_t seed);
float tu_uniform(float lo, float hi);
void tu_fill_uniform(float *x, size_t n, float lo, float hi);

/* max over i of |a-b| / (atol + rtol*|b|) <= 1; prints the worst element when it fails. */
int tu_allclose(const float *got, const float *want, size_t n, float rtol, float atol,
                const char *what);

/* New tensor with the given dims filled from host data (NULL: uninitialised). Exits on failure
 * (a test setup error, not a result). */
clnn_tensor *tu_tensor(clnn_context *ctx, int ndim, const size_t *dims, const float *data);
/* Reads a tensor into a new malloc'd array (caller frees). */
float *tu_read(const clnn_tensor *t);

/* Every element of t equals v (an output that a failed call must leave untouched). */
void tu_check_all(const clnn_tensor *t, float v, const char *what);
/* An output tensor with a guard zone: its buffer holds TU_GUARD_N floats past the tensor's end, set
 * to TU_GUARD_VAL; tu_check_guard fails if a kernel wrote past the end (PoCL pools its buffers, so
 * memory checkers do not see such writes). */
#define TU_GUARD_N 1024
#define TU_GUARD_VAL -77.0f
clnn_tensor *tu_guarded(clnn_context *ctx, int ndim, const size_t *dims);
void tu_check_guard(const clnn_tensor *t, const char *what);

/* The digits demo's network (examples/digits_cnn.c): two 3x3x32 conv + ReLU, 2x2 max pool,
 * dropout 0.25, dense 128 + ReLU, dense 10, Adam lr 1e-3, input [1, 8, 8]. Exits on setup failure. */
clnn_net *tu_digits_cnn(clnn_context *ctx, uint64_t seed);

/* Central finite difference of f at x[i]: (f(x+h) - f(x-h)) / 2h, restoring x[i]. f evaluates
 * the scalar loss for the current host x (double precision reference code is best). */
typedef double (*tu_scalar_fn)(void *user);
double tu_fd(float *x, size_t i, float h, tu_scalar_fn f, void *user);

#endif
