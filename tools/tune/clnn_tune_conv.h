/* tools/tune/clnn_tune_conv.h — clnn-tune's measurement of the convolution forward pass on the
 * GPU class: im2col + GEMM against the implicit GEMM, which decides the tuned parameter
 * conv.igemm (src/gemm/tune_config.c; src/ops/conv2d_algo.c reads it for AUTO). */
#ifndef CLNN_TUNE_CONV_H
#define CLNN_TUNE_CONV_H

#include "clnn_cl.h"

#include <stdio.h>

#define CLNN_TUNE_CONV_SHAPES 3

/* One shape's figures: the best of the timed runs, in milliseconds (0: not measured). */
typedef struct clnn_tune_conv_time {
  const char *name;
  double im2col_ms, igemm_ms;
} clnn_tune_conv_time;

/* Measures, on a GPU-class clnn context over (context, device, queue) created with
 * CLNN_TUNE=tune_file (the GEMM parameters the library will run with) and kernel cache cache_dir,
 * the forward pass with bias and ReLU fused (as the network layer calls it) of the bench's
 * res3x3_14, stem7x7 and lenet5x5 cases, with each algorithm forced: one untimed call each,
 * the two outputs compared (an implicit GEMM that disagrees with im2col loses), then up to
 * `runs` timed calls each, interleaved, stopping once `until` (CLOCK_MONOTONIC seconds) has passed
 * after at least one. Shapes not started before `until` are not measured.
 * Returns 1 where the implicit GEMM wins: the geometric mean over the measured shapes of
 * im2col time / implicit-GEMM time above 1.02 (more than the noise between runs); else 0.
 * `note` receives a line saying why (the ratio, or what failed). */
int clnn_tune_conv_measure(cl_context context, cl_device_id device, cl_command_queue queue, const char *tune_file,
                           const char *cache_dir, double until, int runs, clnn_tune_conv_time out[CLNN_TUNE_CONV_SHAPES],
                           char *note, size_t note_size);

/* Writes the figures, the note and the choice: to a tuned file (file 1: "# " comment lines, then
 * "conv.igemm = 0|1") or as a table for the terminal (file 0). */
void clnn_tune_conv_write(FILE *f, int file, const clnn_tune_conv_time t[CLNN_TUNE_CONV_SHAPES], int on,
                          const char *note);

#endif /* CLNN_TUNE_CONV_H */
