/* tests/api_misuse_train.c — the API-misuse rows of the training operators
 * (batchnorm_lstm_optim()): batch norm forward and backward (training and inference), the LSTM
 * gate operators and layer forward/backward, the SGD, Adam, RMSprop and Adagrad steps, and
 * gradient-norm clipping. Compiled as part of tests/test_api_misuse.c (it uses the table's
 * macros and counters). */
static void batchnorm_lstm_optim(void) {
  clnn_tensor *x = T(ctx, 4, 3), *y = T(ctx, 4, 3), *s = T(ctx, 3), *sh = T(ctx, 3), *rm = T(ctx, 3), *rv = T(ctx, 3);
  clnn_tensor *sm = T(ctx, 3), *si = T(ctx, 3), *s4 = T(ctx, 4), *x1 = T(ctx, 1, 3), *y1 = T(ctx, 1, 3);
  clnn_tensor *xv = T(ctx, 12), *ox = T(other, 4, 3), *y5 = T(ctx, 4, 5);
  ROW(clnn_batchnorm_forward_training, "ctx NULL", INV,
      clnn_batchnorm_forward_training(NULL, x, s, sh, 0.1f, 1e-5f, rm, rv, y, sm, si));
  ROW(clnn_batchnorm_forward_training, "x 1-D", SHAPE,
      clnn_batchnorm_forward_training(ctx, xv, s, sh, 0.1f, 1e-5f, rm, rv, xv, sm, si));
  ROW(clnn_batchnorm_forward_training, "scale length differs", SHAPE,
      clnn_batchnorm_forward_training(ctx, x, s4, sh, 0.1f, 1e-5f, rm, rv, y, sm, si));
  ROW(clnn_batchnorm_forward_training, "eps 0", INV,
      clnn_batchnorm_forward_training(ctx, x, s, sh, 0.1f, 0.0f, rm, rv, y, sm, si));
  ROW(clnn_batchnorm_forward_training, "momentum 2", INV,
      clnn_batchnorm_forward_training(ctx, x, s, sh, 2.0f, 1e-5f, rm, rv, y, sm, si));
  ROW(clnn_batchnorm_forward_training, "running_mean without running_var", INV,
      clnn_batchnorm_forward_training(ctx, x, s, sh, 0.1f, 1e-5f, rm, NULL, y, sm, si));
  ROW(clnn_batchnorm_forward_training, "save_mean without save_invstd", INV,
      clnn_batchnorm_forward_training(ctx, x, s, sh, 0.1f, 1e-5f, rm, rv, y, sm, NULL));
  ROW(clnn_batchnorm_forward_training, "N*H*W = 1 (batch variance undefined)", SHAPE,
      clnn_batchnorm_forward_training(ctx, x1, s, sh, 0.1f, 1e-5f, rm, rv, y1, sm, si));
  ROW(clnn_batchnorm_forward_training, "y shape differs", SHAPE,
      clnn_batchnorm_forward_training(ctx, x, s, sh, 0.1f, 1e-5f, rm, rv, y5, sm, si));
  ROW(clnn_batchnorm_forward_training, "x from another context", CTXM,
      clnn_batchnorm_forward_training(ctx, ox, s, sh, 0.1f, 1e-5f, rm, rv, y, sm, si));
  ROW(clnn_batchnorm_forward_inference, "running_mean NULL", INV,
      clnn_batchnorm_forward_inference(ctx, x, s, sh, NULL, rv, 1e-5f, y));
  ROW(clnn_batchnorm_forward_inference, "eps NaN", INV, clnn_batchnorm_forward_inference(ctx, x, s, sh, rm, rv, NAN, y));
  ROW(clnn_batchnorm_forward_inference, "running_var length differs", SHAPE,
      clnn_batchnorm_forward_inference(ctx, x, s, sh, rm, s4, 1e-5f, y));
  ROW(clnn_batchnorm_backward, "save_mean NULL", INV,
      clnn_batchnorm_backward(ctx, x, y, s, NULL, si, 0, y, s, sh));
  ROW(clnn_batchnorm_backward, "dy shape differs", SHAPE,
      clnn_batchnorm_backward(ctx, x, y5, s, sm, si, 0, y, s, sh));
  ROW(clnn_batchnorm_backward, "dscale length differs", SHAPE,
      clnn_batchnorm_backward(ctx, x, y, s, sm, si, 0, y, s4, sh));
  ROW(clnn_batchnorm_backward, "beta NaN", INV, clnn_batchnorm_backward(ctx, x, y, s, sm, si, NAN, y, s, sh));
  ROW(clnn_batchnorm_backward_inference, "running_var NULL", INV,
      clnn_batchnorm_backward_inference(ctx, x, y, s, rm, NULL, 1e-5f, 0, y, s, sh));
  ROW(clnn_batchnorm_backward_inference, "dx, dscale and dshift all NULL", INV,
      clnn_batchnorm_backward_inference(ctx, x, y, s, rm, rv, 1e-5f, 0, NULL, NULL, NULL));
  ROW(clnn_batchnorm_backward_inference, "eps 0", INV,
      clnn_batchnorm_backward_inference(ctx, x, y, s, rm, rv, 0.0f, 0, y, s, sh));
  ROW(clnn_batchnorm_backward_inference, "beta NaN", INV,
      clnn_batchnorm_backward_inference(ctx, x, y, s, rm, rv, 1e-5f, NAN, y, s, sh));
  ROW(clnn_batchnorm_backward_inference, "dy shape differs", SHAPE,
      clnn_batchnorm_backward_inference(ctx, x, y5, s, rm, rv, 1e-5f, 0, y, s, sh));
  ROW(clnn_batchnorm_backward_inference, "running_mean length differs", SHAPE,
      clnn_batchnorm_backward_inference(ctx, x, y, s, s4, rv, 1e-5f, 0, y, s, sh));
  ROW(clnn_batchnorm_backward_inference, "dscale aliases running_mean", INV,
      clnn_batchnorm_backward_inference(ctx, x, y, s, rm, rv, 1e-5f, 0, y, rm, sh));
  ROW(clnn_batchnorm_backward_inference, "x from another context", CTXM,
      clnn_batchnorm_backward_inference(ctx, ox, y, s, rm, rv, 1e-5f, 0, y, s, sh));

  /* LSTM: N = 2, H = 3, I = 4, T = 2 */
  clnn_tensor *g = T(ctx, 2, 12), *cp = T(ctx, 2, 3), *c = T(ctx, 2, 3), *h = T(ctx, 2, 3), *g5 = T(ctx, 2, 10);
  clnn_tensor *dg = T(ctx, 2, 12), *dcp = T(ctx, 2, 3), *c4 = T(ctx, 2, 4);
  ROW(clnn_lstm_gates_forward, "ctx NULL", INV, clnn_lstm_gates_forward(NULL, g, cp, c, h));
  ROW(clnn_lstm_gates_forward, "gates width is not 4H", SHAPE, clnn_lstm_gates_forward(ctx, g5, cp, c, h));
  ROW(clnn_lstm_gates_forward, "c_prev width differs", SHAPE, clnn_lstm_gates_forward(ctx, g, c4, c, h));
  ROW(clnn_lstm_gates_forward, "h NULL", INV, clnn_lstm_gates_forward(ctx, g, cp, c, NULL));
  ROW(clnn_lstm_gates_backward, "dgates NULL", INV, clnn_lstm_gates_backward(ctx, g, cp, c, h, NULL, NULL, dcp));
  ROW(clnn_lstm_gates_backward, "dc_prev width differs", SHAPE,
      clnn_lstm_gates_backward(ctx, g, cp, c, h, NULL, dg, c4));
  VROW(clnn_lstm_reserve_numel, "zero sizes", , clnn_lstm_reserve_numel(0, 0, 0) == 0);
  size_t res_n = clnn_lstm_reserve_numel(2, 2, 3);
  clnn_tensor *lx = T(ctx, 2, 2, 4), *wih = T(ctx, 12, 4), *whh = T(ctx, 12, 3), *lb = T(ctx, 12);
  clnn_tensor *ly = T(ctx, 2, 2, 3), *res = W(ctx, 1, &res_n), *small = T(ctx, 3), *wih5 = T(ctx, 12, 5);
  clnn_tensor *lx2 = T(ctx, 4, 4), *dx = T(ctx, 2, 2, 4), *dwih = T(ctx, 12, 4), *dwhh = T(ctx, 12, 3);
  ROW(clnn_lstm_forward, "ctx NULL", INV, clnn_lstm_forward(NULL, lx, wih, whh, lb, NULL, NULL, ly, NULL, NULL, res));
  ROW(clnn_lstm_forward, "reserve too small", SHAPE,
      clnn_lstm_forward(ctx, lx, wih, whh, lb, NULL, NULL, ly, NULL, NULL, small));
  ROW(clnn_lstm_forward, "w_ih inputs differ from x", SHAPE,
      clnn_lstm_forward(ctx, lx, wih5, whh, lb, NULL, NULL, ly, NULL, NULL, res));
  ROW(clnn_lstm_forward, "x 2-D", SHAPE, clnn_lstm_forward(ctx, lx2, wih, whh, lb, NULL, NULL, ly, NULL, NULL, res));
  ROW(clnn_lstm_forward, "y NULL", INV, clnn_lstm_forward(ctx, lx, wih, whh, lb, NULL, NULL, NULL, NULL, NULL, res));
  ROW(clnn_lstm_forward, "h0 shape differs", SHAPE,
      clnn_lstm_forward(ctx, lx, wih, whh, lb, c4, NULL, ly, NULL, NULL, res));
  ROW(clnn_lstm_forward, "w_hh from another context", CTXM,
      clnn_lstm_forward(ctx, lx, wih, T(other, 12, 3), lb, NULL, NULL, ly, NULL, NULL, res));
  ROW(clnn_lstm_backward, "reserve NULL", INV,
      clnn_lstm_backward(ctx, lx, wih, whh, NULL, NULL, ly, NULL, ly, NULL, NULL, 0, dx, dwih, dwhh, lb, NULL, NULL));
  ROW(clnn_lstm_backward, "dw_ih shape differs", SHAPE,
      clnn_lstm_backward(ctx, lx, wih, whh, NULL, NULL, ly, res, ly, NULL, NULL, 0, dx, wih5, dwhh, lb, NULL, NULL));
  ROW(clnn_lstm_backward, "beta NaN", INV,
      clnn_lstm_backward(ctx, lx, wih, whh, NULL, NULL, ly, res, ly, NULL, NULL, NAN, dx, dwih, dwhh, lb, NULL, NULL));

  /* optimizers */
  clnn_tensor *p = T(ctx, 5), *gr = T(ctx, 5), *v = T(ctx, 5), *m = T(ctx, 5), *v2 = T(ctx, 5), *p6 = T(ctx, 6);
  clnn_tensor *op = T(other, 5);
  clnn_sgd_params sgd = {(uint32_t)sizeof(clnn_sgd_params), 0.1f, 0.9f, 0, 0, 0, 0};
  ROW(clnn_sgd_step, "ctx NULL", INV, clnn_sgd_step(NULL, &sgd, p, gr, v));
  ROW(clnn_sgd_step, "params NULL", INV, clnn_sgd_step(ctx, NULL, p, gr, v));
  ROW(clnn_sgd_step, "momentum without a velocity", INV, clnn_sgd_step(ctx, &sgd, p, gr, NULL));
  ROW(clnn_sgd_step, "grad numel differs", SHAPE, clnn_sgd_step(ctx, &sgd, p, p6, v));
  ROW(clnn_sgd_step, "param from another context", CTXM, clnn_sgd_step(ctx, &sgd, op, gr, v));
  sgd.lr = -1;
  ROW(clnn_sgd_step, "lr < 0", INV, clnn_sgd_step(ctx, &sgd, p, gr, v));
  sgd.lr = 0.1f;
  sgd.nesterov = 1;
  sgd.dampening = 0.5f;
  ROW(clnn_sgd_step, "nesterov with dampening", INV, clnn_sgd_step(ctx, &sgd, p, gr, v));
  sgd.nesterov = 0;
  sgd.dampening = 2;
  ROW(clnn_sgd_step, "dampening > 1", INV, clnn_sgd_step(ctx, &sgd, p, gr, v));
  sgd.dampening = 0;
  sgd.weight_decay = NAN;
  ROW(clnn_sgd_step, "weight_decay NaN", INV, clnn_sgd_step(ctx, &sgd, p, gr, v));
  clnn_adam_params adam = {(uint32_t)sizeof(clnn_adam_params), 1e-3f, 0.9f, 0.999f, 1e-8f, 0, 0};
  ROW(clnn_adam_step, "params NULL", INV, clnn_adam_step(ctx, NULL, 1, p, gr, m, v2));
  ROW(clnn_adam_step, "step 0", INV, clnn_adam_step(ctx, &adam, 0, p, gr, m, v2));
  ROW(clnn_adam_step, "step -3", INV, clnn_adam_step(ctx, &adam, -3, p, gr, m, v2));
  ROW(clnn_adam_step, "v NULL", INV, clnn_adam_step(ctx, &adam, 1, p, gr, m, NULL));
  ROW(clnn_adam_step, "m numel differs", SHAPE, clnn_adam_step(ctx, &adam, 1, p, gr, p6, v2));
  adam.beta1 = 1.0f;
  ROW(clnn_adam_step, "beta1 = 1", INV, clnn_adam_step(ctx, &adam, 1, p, gr, m, v2));
  adam.beta1 = 0.9f;
  adam.eps = 0;
  ROW(clnn_adam_step, "eps 0", INV, clnn_adam_step(ctx, &adam, 1, p, gr, m, v2));
  clnn_rmsprop_params rms = {(uint32_t)sizeof(clnn_rmsprop_params), 1e-2f, 0.99f, 1e-8f, 0, 0.5f};
  ROW(clnn_rmsprop_step, "momentum without a buffer", INV, clnn_rmsprop_step(ctx, &rms, p, gr, v2, NULL));
  rms.momentum = 0;
  rms.alpha = 1.5f;
  ROW(clnn_rmsprop_step, "alpha > 1", INV, clnn_rmsprop_step(ctx, &rms, p, gr, v2, NULL));
  rms.alpha = 0.99f;
  ROW(clnn_rmsprop_step, "square_avg NULL", INV, clnn_rmsprop_step(ctx, &rms, p, gr, NULL, NULL));
  ROW(clnn_rmsprop_step, "grad from another context", CTXM, clnn_rmsprop_step(ctx, &rms, p, op, v2, NULL));
  clnn_adagrad_params ada = {(uint32_t)sizeof(clnn_adagrad_params), 1e-2f, 0, 0};
  ROW(clnn_adagrad_step, "eps 0", INV, clnn_adagrad_step(ctx, &ada, p, gr, v2));
  ada.eps = 1e-10f;
  ROW(clnn_adagrad_step, "sum numel differs", SHAPE, clnn_adagrad_step(ctx, &ada, p, gr, p6));
  ROW(clnn_adagrad_step, "params NULL", INV, clnn_adagrad_step(ctx, NULL, p, gr, v2));
  clnn_tensor *grads[3] = {gr, m, gr}, *mixed[2] = {gr, op}, *withnull[2] = {gr, NULL};
  float norm = -1;
  ROW(clnn_clip_grad_norm, "ctx NULL", INV, clnn_clip_grad_norm(NULL, grads, 2, 1, &norm));
  ROW(clnn_clip_grad_norm, "grads NULL", INV, clnn_clip_grad_norm(ctx, NULL, 2, 1, &norm));
  ROW(clnn_clip_grad_norm, "count 0", INV, clnn_clip_grad_norm(ctx, grads, 0, 1, &norm));
  ROW(clnn_clip_grad_norm, "the same tensor twice", INV, clnn_clip_grad_norm(ctx, grads, 3, 1, &norm));
  ROW(clnn_clip_grad_norm, "a NULL gradient", INV, clnn_clip_grad_norm(ctx, withnull, 2, 1, &norm));
  ROW(clnn_clip_grad_norm, "max_norm NaN", INV, clnn_clip_grad_norm(ctx, grads, 2, NAN, &norm));
  ROW(clnn_clip_grad_norm, "max_norm < 0", INV, clnn_clip_grad_norm(ctx, grads, 2, -1, &norm));
  ROW(clnn_clip_grad_norm, "a gradient from another context", CTXM, clnn_clip_grad_norm(ctx, mixed, 2, 1, &norm));
  TU_CHECK(norm == -1, "clnn_clip_grad_norm: *total_norm untouched on failure");
}
