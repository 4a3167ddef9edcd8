/* src/ops/conv2d_entry.c — the public convolution entry points (forward, backward-data,
 * backward-filter; the transposed convolution's three) and the kept-column entries graph training
 * uses (src/nn/op_conv.c). Each fills a clnn__conv_args and hands it to clnn__conv2d_run
 * (src/ops/conv2d.c), which checks everything, picks the algorithm and runs the pass. */
#include "conv2d_direct.h"

clnn_status clnn__conv2d_forward_keep(clnn_context *ctx, const clnn_conv2d_params *p,
                                      const clnn_tensor *x, const clnn_tensor *w,
                                      const clnn_tensor *bias, clnn_activation act, float act_alpha,
                                      clnn_tensor *y, clnn_tensor *cols) {
  const clnn__conv_args a = {.t = {x, w, y}, .bias = bias, .has_act = 1, .act = act, .act_alpha = act_alpha};
  return clnn__conv2d_run(ctx, CLNN__CONV_FORWARD, p, CLNN_CONV_ALGO_AUTO, &a, cols);
}

clnn_status clnn__conv2d_backward_filter_kept(clnn_context *ctx, const clnn_conv2d_params *p,
                                              const clnn_tensor *x, const clnn_tensor *dy,
                                              float beta, clnn_tensor *dw, const clnn_tensor *cols) {
  const clnn__conv_args a = {.t = {x, dy, dw}, .has_beta = 1, .beta = beta};
  return clnn__conv2d_run(ctx, CLNN__CONV_BACKWARD_FILTER, p, CLNN_CONV_ALGO_AUTO, &a, cols);
}

clnn_status clnn_conv2d_forward(clnn_context *ctx, const clnn_conv2d_params *p, clnn_conv_algo algo,
                                const clnn_tensor *x, const clnn_tensor *w, const clnn_tensor *bias,
                                clnn_activation act, float act_alpha, clnn_tensor *y) {
  const clnn__conv_args a = {.t = {x, w, y}, .bias = bias, .has_act = 1, .act = act, .act_alpha = act_alpha};
  return clnn__conv2d_run(ctx, CLNN__CONV_FORWARD, p, algo, &a, NULL);
}

clnn_status clnn_conv2d_backward_data(clnn_context *ctx, const clnn_conv2d_params *p,
                                      clnn_conv_algo algo, const clnn_tensor *dy,
                                      const clnn_tensor *w, float beta, clnn_tensor *dx) {
  const clnn__conv_args a = {.t = {dy, w, dx}, .has_beta = 1, .beta = beta};
  return clnn__conv2d_run(ctx, CLNN__CONV_BACKWARD_DATA, p, algo, &a, NULL);
}

clnn_status clnn_conv2d_backward_filter(clnn_context *ctx, const clnn_conv2d_params *p,
                                        clnn_conv_algo algo, const clnn_tensor *x,
                                        const clnn_tensor *dy, float beta, clnn_tensor *dw) {
  const clnn__conv_args a = {.t = {x, dy, dw}, .has_beta = 1, .beta = beta};
  return clnn__conv2d_run(ctx, CLNN__CONV_BACKWARD_FILTER, p, algo, &a, NULL);
}

/* ---- transposed convolution: x [N, C, H, W], w [C, K/groups, R, S], y [N, K, Ho, Wo]. In the
 * geometry the conv's input is y's shape and its output is x's shape (clnn__conv2d_run). ---- */

clnn_status clnn_conv_transpose2d_forward(clnn_context *ctx, const clnn_conv2d_params *p,
                                          clnn_conv_algo algo, const clnn_tensor *x,
                                          const clnn_tensor *w, const clnn_tensor *bias,
                                          clnn_tensor *y) {
  const clnn__conv_args a = {.t = {x, w, y}, .bias = bias};
  return clnn__conv2d_run(ctx, CLNN__CONV_TRANSPOSE_FORWARD, p, algo, &a, NULL);
}

clnn_status clnn_conv_transpose2d_backward_data(clnn_context *ctx, const clnn_conv2d_params *p,
                                                clnn_conv_algo algo, const clnn_tensor *dy,
                                                const clnn_tensor *w, float beta,
                                                clnn_tensor *dx) {
  const clnn__conv_args a = {.t = {dy, w, dx}, .has_beta = 1, .beta = beta};
  return clnn__conv2d_run(ctx, CLNN__CONV_TRANSPOSE_BACKWARD_DATA, p, algo, &a, NULL);
}

clnn_status clnn_conv_transpose2d_backward_filter(clnn_context *ctx, const clnn_conv2d_params *p,
                                                  clnn_conv_algo algo, const clnn_tensor *x,
                                                  const clnn_tensor *dy, float beta,
                                                  clnn_tensor *dw) {
  const clnn__conv_args a = {.t = {x, dy, dw}, .has_beta = 1, .beta = beta};
  return clnn__conv2d_run(ctx, CLNN__CONV_TRANSPOSE_BACKWARD_FILTER, p, algo, &a, NULL);
}
