/* tests/test_util.h — the small harness every clnn test uses: a context on the test device (a
 * test that finds no OpenCL device fails), checks that count failures, deterministic random data,
 * array comparison with tolerances, and central finite differences. */
#ifndef CLNN_TEST_UTIL_H
#define CLNN_TEST_UTIL_H

#include "clnn_cl.h" /* clnn.h and the OpenCL interop functions */

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
/* Checks that clnn_last_error() names `a` (an error message that names the argument). */
void tu_expect_msg_(const char *a, const char *file, int line);
#define TU_MSG(a) tu_expect_msg_((a), __FILE__, __LINE__)

/* The betas every operator with a beta argument is tested with: 0 (over NaN garbage, which it
 * must not read), 1 (accumulate) and 0.5 (over a prefill, expected = result + 0.5 * prefill; a
 * kernel that treats every non-zero beta as 1 fails it). */
#define TU_NBETAS 3
static const float tu_betas[TU_NBETAS] = {0.0f, 1.0f, 0.5f};

/* Prints "<name>: N passed, N failed" and returns the process exit code (0 when nothing failed). */
int tu_finish(const char *name);

/* Deterministic pseudo-random numbers (xorshift), uniform in [lo, hi). */
void tu_seed(uint64_t seed);
float tu_uniform(float lo, float hi);
void tu_fill_uniform(float *x, size_t n, float lo, float hi);
/* A new malloc'd array (caller frees) of n such numbers; of a copy of src[n]. */
float *tu_fvec(size_t n, float lo, float hi);
float *tu_fcopy(const float *src, size_t n);

/* max over i of |a-b| / (atol + rtol*|b|) <= 1; prints the worst element when it fails. */
int tu_allclose(const float *got, const float *want, size_t n, float rtol, float atol,
                const char *what);
/* |got - want| <= ulps * FLT_EPSILON * mag[i] (+ the smallest normal float) for every i: a
 * tolerance in units of the magnitude of the terms that formed each value (computed by the test,
 * in double), which holds for any conforming device's maths and summation order. */
int tu_close_ulps(const float *got, const float *want, const double *mag, double ulps, size_t n,
                  const char *what);

/* New tensor with the given dims filled from host data (NULL: uninitialised). Exits on failure
 * (a test setup error, not a result). */
clnn_tensor *tu_tensor(clnn_context *ctx, int ndim, const size_t *dims, const float *data);
/* A read-write OpenCL buffer on ctx holding n floats copied from data; exits on failure. */
cl_mem tu_cl_buffer(clnn_context *ctx, const float *data, size_t n);
/* A context whose tuned parameters are `tune_text`, written to the file `path` and named by
 * CLNN_TUNE while the context is created (unset after); with tune_text NULL, a context with
 * force_clblast set. NULL, with a failed check naming `what`, if creation fails. */
clnn_context *tu_context_tuned(const char *tune_text, const char *path, const char *what);
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

/* The whole file at path in a new malloc'd buffer one byte longer than the file (caller frees),
 * its size in *size; NULL when it cannot be opened or read. */
unsigned char *tu_read_file(const char *path, size_t *size);
/* Runs main-like fn(argc, argv) with its standard output captured; returns that output in a new
 * malloc'd NUL-terminated string (caller frees; also echoed to stdout) and fn's result in *rc.
 * Exits (a test setup error) when the output cannot be captured. */
char *tu_run_captured(int (*fn)(int, char **), int argc, char **argv, int *rc);
/* Writes n bytes to path; exits (a test setup error) when the file cannot be opened. */
void tu_write_file(const char *path, const void *b, size_t n);
/* Writes safetensors file `dst` = `src` with the first `from` in its JSON header replaced by `to`
 * (the header length rewritten); returns 0 (writing nothing) when src cannot be read or `from`
 * is not in its header. */
int tu_patch_header(const char *src, const char *dst, const char *from, const char *to);
/* Runs every regular file of dir through fn (a fuzz target), checking each was read whole;
 * returns the number of files (0 when dir cannot be opened). */
int tu_replay_dir(const char *dir, int (*fn)(const uint8_t *, size_t));

/* The digits demo's network (examples/digits_cnn.c): two 3x3x32 conv + ReLU, 2x2 max pool,
 * dropout 0.25, dense 128 + ReLU, dense 10, Adam lr 1e-3, input [1, 8, 8]. Exits on setup failure. */
clnn_net *tu_digits_cnn(clnn_context *ctx, uint64_t seed);

/* Central finite difference of f at x[i]: (f(x+h) - f(x-h)) / 2h, restoring x[i]. f evaluates
 * the scalar loss for the current host x (double precision reference code is best). */
typedef double (*tu_scalar_fn)(void *user);
double tu_fd(float *x, size_t i, float h, tu_scalar_fn f, void *user);

/* Central finite differences (step h, (f(+h) - f(-h)) / 2h in double precision) of f against
 * `analytic` at `count` elements of the host array x[n]: element (k * stride + offset) % n for
 * k < count (and k < n), each restored after. With t not NULL, x is a host copy of t, written to
 * t after every change. An element fails when |fd - analytic| > atol + rtol * |fd|; it is printed
 * as "  what[i]: analytic A, finite difference F". Returns how many failed; *worst (when not
 * NULL) gets the largest |fd - analytic| / (atol + rtol * |fd|). */
int tu_fd_check(float *x, size_t n, size_t count, size_t stride, size_t offset, double h,
                double atol, double rtol, const float *analytic, clnn_tensor *t, tu_scalar_fn f,
                void *user, const char *what, double *worst);

/* Every parameter of m that has a gradient (computed by the caller for the same f) against
 * finite differences: tu_fd_check on 6 of its elements (stride 7919, offset 3, h 1e-2, rtol 3e-2,
 * the given atol), one check per parameter named after it. */
void tu_fd_params(clnn_model *m, double atol, tu_scalar_fn f, void *user);

/* <value v of m, seed> in double (NAN when the value is missing). */
double tu_dot_value(clnn_model *m, int v, const float *seed);
/* Checks the gradient of input value v (host data `host`, n floats) against central finite
 * differences of f: tu_fd_check on 12 elements (stride 5, offset 1, h 1e-2, atol 2e-3, rtol
 * 3e-2). regrad(user) runs forward and backward first (the differences' forwards forget it). */
void tu_fd_input_grad(clnn_model *m, int v, float *host, size_t n, void (*regrad)(void *),
                      tu_scalar_fn f, void *user, const char *what);
/* Largest |difference| between the parameter gradients of a and b (b's parameters by a's names;
 * one missing in either is skipped). */
double tu_param_grad_diff(clnn_model *a, clnn_model *b);
/* a [N, ta, w] and b [N, tb, w] (ta <= tb), b the same sequences padded: raises *worst to the
 * largest |difference| on the first ta steps, clears *pad_zero when a padded step of b is not 0. */
void tu_compare_padded(const float *a, const float *b, size_t N, size_t ta, size_t tb, size_t w,
                       double *worst, int *pad_zero);

/* Sequence options of a recurrent-layer call (lengths may be NULL; n is then ignored). */
#define RNN_P(len, n, rev) \
  (&(clnn_rnn_params){(uint32_t)sizeof(clnn_rnn_params), (len), (size_t)(n), (rev)})

#endif
