/* src/ops/conv2d_algo.h — shared by src/ops/conv2d.c and conv2d_algo.c: the three passes, the
 * algorithm choice per pass (AUTO's rules and a forced algorithm's checks) and the settings the
 * tests change to reach the chunked and non-flat paths. */
#ifndef CLNN_OPS_CONV2D_ALGO_H
#define CLNN_OPS_CONV2D_ALGO_H

#include "conv2d_winograd.h"

enum conv_pass { PASS_FWD, PASS_BWD_DATA, PASS_BWD_FILTER };

/* A CPU-class context (the *_cpu kernels and the direct CPU paths). */
static inline int on_cpu(const clnn_context *ctx) { return ctx->device_class == CLNN_DEVICE_CLASS_CPU; }

/* Bytes of column buffer (+ dy copy) per chunk; 64 MiB unless a test changed it. */
extern size_t clnn__conv_ws_limit;
/* 0: the whole-plane direct kernels where they apply; -1: never (tests only). */
extern int clnn__conv_flat_mode;

int clnn__conv_is_1x1(const conv_geom *g);
int clnn__conv_is_depthwise(const conv_geom *g);
/* The algorithm pass `pass` runs for `algo` (AUTO resolved by shape and device class); a forced
 * algorithm that does not apply gives CLNN_ERROR_UNSUPPORTED naming it, in fn's name. */
clnn_status clnn__conv_resolve_algo(const char *fn, clnn_context *ctx, const conv_geom *g,
                                    clnn_conv_algo algo, enum conv_pass pass, clnn_conv_algo *out);
/* DIRECT on a CPU device: the whole-plane kernels (use_flat) or the band kernels (use_band). */
int clnn__conv_use_flat(const clnn_context *ctx, const conv_geom *g, enum conv_pass pass);
int clnn__conv_use_band(const clnn_context *ctx, const conv_geom *g, enum conv_pass pass);
/* The name of what a pass with resolved algorithm `al` runs (clnn-bench labels its rows). */
const char *clnn__conv_algo_label(const clnn_context *ctx, const conv_geom *g, clnn_conv_algo al,
                                  enum conv_pass pass);

#endif
