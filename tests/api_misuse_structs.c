/* tests/api_misuse_structs.c — the API-misuse rows of the versioned public structs (docs/ABI.md):
 * every function that takes one is called with struct_size 0, with a size smaller than any layout
 * and with a newer header's larger size; each is CLNN_ERROR_INVALID_ARGUMENT whose message names
 * the struct's _init function, and changes nothing. Also the rows of the _init functions that
 * came with struct_size. Not a test of its own: tests/test_api_misuse.c includes it, so the rows
 * use that file's macros, counters and coverage check. */

/* Three rows for `call`, which takes the versioned struct `s`: struct_size 0, 4 (smaller than any
 * layout) and sizeof + 8 (a layout from a newer header). `s` is restored afterwards. */
#define SIZE_ROWS(fn, s, init_fn, call)                                                          \
  do {                                                                                           \
    const uint32_t keep_ = (s).struct_size;                                                      \
    const uint32_t bad_[3] = {0, 4, keep_ + 8};                                                  \
    static const char *const what_[3] = {"struct_size 0", "struct_size 4 (no layout that small)", \
                                         "struct_size of a newer, larger layout"};             \
    for (int b_ = 0; b_ < 3; b_++) {                                                             \
      (s).struct_size = bad_[b_];                                                                \
      ROW(fn, what_[b_], INV, call);                                                             \
      TU_CHECK(strstr(clnn_last_error(), #fn) && strstr(clnn_last_error(), init_fn),            \
               "%s (%s): the message does not name the function and %s: %s", #fn, what_[b_], \
               init_fn, clnn_last_error());                                                      \
    }                                                                                            \
    (s).struct_size = keep_;                                                                     \
  } while (0)

static void struct_sizes(void) {
  /* the _init functions that came with struct_size: NULL is a no-op, the size and defaults set */
  clnn_device_info info;
  VROW(clnn_device_info_init, "NULL", clnn_device_info_init(NULL), 1);
  memset(&info, 0x5a, sizeof info);
  VROW(clnn_device_info_init, "sets struct_size, zeroes the rest", clnn_device_info_init(&info),
       info.struct_size == sizeof info && info.name[0] == 0 && info.compute_units == 0);
  clnn_sgd_params sgd;
  VROW(clnn_sgd_params_init, "NULL", clnn_sgd_params_init(NULL, 0.1f), 1);
  VROW(clnn_sgd_params_init, "PyTorch defaults", clnn_sgd_params_init(&sgd, 0.1f),
       sgd.struct_size == sizeof sgd && sgd.lr == 0.1f && sgd.momentum == 0 && sgd.nesterov == 0);
  clnn_adam_params adam;
  VROW(clnn_adam_params_init, "NULL", clnn_adam_params_init(NULL, 1e-3f), 1);
  VROW(clnn_adam_params_init, "PyTorch defaults", clnn_adam_params_init(&adam, 1e-3f),
       adam.struct_size == sizeof adam && adam.lr == 1e-3f && adam.beta1 == 0.9f &&
           adam.beta2 == 0.999f && adam.eps == 1e-8f && adam.decoupled_weight_decay == 0);
  clnn_rmsprop_params rms;
  VROW(clnn_rmsprop_params_init, "NULL", clnn_rmsprop_params_init(NULL, 1e-2f), 1);
  VROW(clnn_rmsprop_params_init, "PyTorch defaults", clnn_rmsprop_params_init(&rms, 1e-2f),
       rms.struct_size == sizeof rms && rms.alpha == 0.99f && rms.eps == 1e-8f &&
           rms.momentum == 0);
  clnn_adagrad_params ada;
  VROW(clnn_adagrad_params_init, "NULL", clnn_adagrad_params_init(NULL, 1e-2f), 1);
  VROW(clnn_adagrad_params_init, "PyTorch defaults", clnn_adagrad_params_init(&ada, 1e-2f),
       ada.struct_size == sizeof ada && ada.eps == 1e-10f && ada.weight_decay == 0);
  clnn_schedule sch;
  VROW(clnn_schedule_init, "NULL", clnn_schedule_init(NULL), 1);
  VROW(clnn_schedule_init, "constant", clnn_schedule_init(&sch),
       sch.struct_size == sizeof sch && sch.type == CLNN_SCHEDULE_CONSTANT);

  /* devices and contexts: a refused clnn_device_info is not written at all */
  clnn_device_info_init(&info);
  memcpy(info.name, "untouched", 10);
  SIZE_ROWS(clnn_device_get_info, info, "clnn_device_info_init", clnn_device_get_info(0, &info));
  SIZE_ROWS(clnn_context_device_info, info, "clnn_device_info_init",
            clnn_context_device_info(ctx, &info));
  TU_CHECK(!strcmp(info.name, "untouched"), "a refused clnn_device_info was written (%s)",
           info.name);
  clnn_context_options o;
  clnn_context_options_init(&o);
  clnn_context *c = NULL;
  SIZE_ROWS(clnn_context_create, o, "clnn_context_options_init", clnn_context_create(&o, &c));
  cl_context cc = NULL;
  cl_device_id dev = NULL;
  cl_command_queue q = NULL;
  clnn_context_get_cl(ctx, &cc, &dev, &q);
  SIZE_ROWS(clnn_context_wrap, o, "clnn_context_options_init",
            clnn_context_wrap(cc, dev, q, &o, &c));
  clnn_device_set *set = NULL;
  SIZE_ROWS(clnn_device_set_create, o, "clnn_context_options_init",
            clnn_device_set_create("cpu", &o, &set));
  TU_CHECK(c == NULL && set == NULL, "no context or set made from refused options");

  /* convolution: x [1, 1, 4, 4], w [1, 1, 3, 3] -> y [1, 1, 2, 2]; transposed y -> x */
  clnn_conv2d_params p;
  clnn_conv2d_params_init(&p);
  size_t xd[4] = {1, 1, 4, 4}, wd[4] = {1, 1, 3, 3}, yd[4] = {7, 7, 7, 7}, bytes = 7;
  clnn_tensor *x = T(ctx, 1, 1, 4, 4), *w = T(ctx, 1, 1, 3, 3), *y = T(ctx, 1, 1, 2, 2);
  clnn_tensor *dx = T(ctx, 1, 1, 4, 4), *dw = T(ctx, 1, 1, 3, 3);
  const char *cinit = "clnn_conv2d_params_init";
  SIZE_ROWS(clnn_conv2d_output_dims, p, cinit, clnn_conv2d_output_dims(xd, wd, &p, yd));
  SIZE_ROWS(clnn_conv2d_workspace_size, p, cinit,
            clnn_conv2d_workspace_size(ctx, &p, CLNN_CONV_ALGO_AUTO, xd, wd, &bytes));
  TU_CHECK(yd[0] == 7 && bytes == 7, "refused conv params: outputs written");
  SIZE_ROWS(clnn_conv2d_forward, p, cinit,
            clnn_conv2d_forward(ctx, &p, CLNN_CONV_ALGO_AUTO, x, w, NULL, CLNN_ACT_IDENTITY, 0, y));
  SIZE_ROWS(clnn_conv2d_backward_data, p, cinit,
            clnn_conv2d_backward_data(ctx, &p, CLNN_CONV_ALGO_AUTO, y, w, 0, dx));
  SIZE_ROWS(clnn_conv2d_backward_filter, p, cinit,
            clnn_conv2d_backward_filter(ctx, &p, CLNN_CONV_ALGO_AUTO, x, y, 0, dw));
  size_t txd[4] = {1, 1, 2, 2};
  SIZE_ROWS(clnn_conv_transpose2d_output_dims, p, cinit,
            clnn_conv_transpose2d_output_dims(txd, wd, &p, yd));
  SIZE_ROWS(clnn_conv_transpose2d_forward, p, cinit,
            clnn_conv_transpose2d_forward(ctx, &p, CLNN_CONV_ALGO_AUTO, y, w, NULL, dx));
  SIZE_ROWS(clnn_conv_transpose2d_backward_data, p, cinit,
            clnn_conv_transpose2d_backward_data(ctx, &p, CLNN_CONV_ALGO_AUTO, x, w, 0, y));
  SIZE_ROWS(clnn_conv_transpose2d_backward_filter, p, cinit,
            clnn_conv_transpose2d_backward_filter(ctx, &p, CLNN_CONV_ALGO_AUTO, y, x, 0, dw));

  /* pooling: 2x2 windows over x [1, 1, 4, 4] -> y [1, 1, 2, 2] */
  clnn_pool2d_params pp;
  clnn_pool2d_params_init(&pp, 2);
  const char *pinit = "clnn_pool2d_params_init";
  SIZE_ROWS(clnn_pool2d_output_dims, pp, pinit, clnn_pool2d_output_dims(xd, &pp, yd));
  SIZE_ROWS(clnn_maxpool2d_forward, pp, pinit, clnn_maxpool2d_forward(ctx, &pp, x, y));
  SIZE_ROWS(clnn_maxpool2d_backward, pp, pinit, clnn_maxpool2d_backward(ctx, &pp, x, y, 0, dx));
  SIZE_ROWS(clnn_avgpool2d_forward, pp, pinit, clnn_avgpool2d_forward(ctx, &pp, x, y));
  SIZE_ROWS(clnn_avgpool2d_backward, pp, pinit, clnn_avgpool2d_backward(ctx, &pp, y, 0, dx));

  /* optimizers: param, grad and state [16] */
  clnn_tensor *param = T(ctx, 16), *grad = T(ctx, 16), *s1 = T(ctx, 16), *s2 = T(ctx, 16);
  SIZE_ROWS(clnn_sgd_step, sgd, "clnn_sgd_params_init",
            clnn_sgd_step(ctx, &sgd, param, grad, NULL));
  SIZE_ROWS(clnn_adam_step, adam, "clnn_adam_params_init",
            clnn_adam_step(ctx, &adam, 1, param, grad, s1, s2));
  SIZE_ROWS(clnn_rmsprop_step, rms, "clnn_rmsprop_params_init",
            clnn_rmsprop_step(ctx, &rms, param, grad, s1, NULL));
  SIZE_ROWS(clnn_adagrad_step, ada, "clnn_adagrad_params_init",
            clnn_adagrad_step(ctx, &ada, param, grad, s1));

  /* attention: q, k, v, o [1, 1, 2, 4] (BHTD), lse [1, 1, 2] */
  clnn_attention_params ap;
  clnn_attention_params_init(&ap);
  clnn_tensor *aq = T(ctx, 1, 1, 2, 4), *ak = T(ctx, 1, 1, 2, 4), *ao = T(ctx, 1, 1, 2, 4);
  clnn_tensor *al = T(ctx, 1, 1, 2), *adq = T(ctx, 1, 1, 2, 4);
  const char *ainit = "clnn_attention_params_init";
  SIZE_ROWS(clnn_attention_forward, ap, ainit,
            clnn_attention_forward(ctx, &ap, aq, ak, ak, ao, al));
  SIZE_ROWS(clnn_attention_backward, ap, ainit,
            clnn_attention_backward(ctx, &ap, aq, ak, ak, ao, al, ao, 0, adq, NULL, NULL));

  /* sequential networks: no layer is added, the optimizer stays */
  clnn_net *net = NULL;
  size_t in[3] = {1, 4, 4};
  TU_OK(clnn_net_create(ctx, 3, in, 1, &net));
  SIZE_ROWS(clnn_net_add_conv2d_ex, p, cinit, clnn_net_add_conv2d_ex(net, 2, 3, 3, &p, 1));
  SIZE_ROWS(clnn_net_add_conv_transpose2d_ex, p, cinit,
            clnn_net_add_conv_transpose2d_ex(net, 2, 3, 3, &p, 1));
  SIZE_ROWS(clnn_net_add_pool2d_ex, pp, pinit, clnn_net_add_pool2d_ex(net, 1, &pp));
  TU_CHECK(clnn_net_num_layers(net) == 0, "refused layer params added a layer");
  clnn_optimizer_config oc;
  clnn_optimizer_config_init(&oc, CLNN_OPTIM_SGD, 0.1f);
  SIZE_ROWS(clnn_net_set_optimizer, oc, "clnn_optimizer_config_init",
            clnn_net_set_optimizer(net, &oc));
  clnn_net_destroy(net);

  /* graph builders and models: no node is added, optimizer and schedule stay */
  clnn_graph *g = NULL;
  TU_OK(clnn_graph_create(&g));
  if (!g) return;
  size_t img[3] = {1, 4, 4}, vec[1] = {4};
  int gx = -1, gv = -1, lab = -1, h = -1, lossv = -1, out = -7;
  TU_OK(clnn_graph_input(g, "x", CLNN_FLOAT32, 3, img, &gx));
  SIZE_ROWS(clnn_graph_conv2d, p, cinit, clnn_graph_conv2d(g, "c", gx, 2, 3, 3, &p, 1, &out));
  SIZE_ROWS(clnn_graph_conv_transpose2d, p, cinit,
            clnn_graph_conv_transpose2d(g, "ct", gx, 2, 3, 3, &p, 1, &out));
  SIZE_ROWS(clnn_graph_pool2d, pp, pinit, clnn_graph_pool2d(g, "p", gx, 1, &pp, &out));
  TU_CHECK(out == -7 && clnn_graph_num_values(g) == 1, "refused params added a node");
  TU_OK(clnn_graph_input(g, "v", CLNN_FLOAT32, 1, vec, &gv));
  TU_OK(clnn_graph_input(g, "lab", CLNN_INT32, 0, NULL, &lab));
  TU_OK(clnn_graph_dense(g, "d", gv, 3, 1, &h));
  TU_OK(clnn_graph_loss(g, "ce", CLNN_LOSS_SOFTMAX_CROSS_ENTROPY, h, lab, 1.0f, &lossv));
  clnn_model *m = NULL;
  TU_OK(clnn_model_create(ctx, g, 1, &m));
  clnn_graph_destroy(g);
  if (!m) return;
  float lr0 = -1, lr1 = -2;
  clnn_model_current_lr(m, NULL, &lr0);
  SIZE_ROWS(clnn_model_set_optimizer, oc, "clnn_optimizer_config_init",
            clnn_model_set_optimizer(m, &oc));
  sch.type = CLNN_SCHEDULE_STEP;
  sch.step_size = 1;
  sch.gamma = 0.5f;
  SIZE_ROWS(clnn_model_set_schedule, sch, "clnn_schedule_init", clnn_model_set_schedule(m, &sch));
  clnn_model_current_lr(m, NULL, &lr1);
  TU_CHECK(lr0 == lr1, "refused optimizer or schedule changed the learning rate (%g -> %g)",
           (double)lr0, (double)lr1);
  clnn_model_destroy(m);

  /* augmentation options: images, a dataset's setting and its read-back */
  clnn_augment_options aug;
  clnn_augment_options_init(&aug);
  TU_CHECK(aug.struct_size == sizeof aug, "clnn_augment_options_init sets struct_size");
  aug.max_shift = 1;
  float pix[16] = {0};
  SIZE_ROWS(clnn_augment_images, aug, "clnn_augment_options_init",
            clnn_augment_images(&aug, 0, 1, 1, 4, 4, pix, 16, NULL, 0));
  size_t idims[3] = {1, 4, 4};
  int32_t plab[1] = {0};
  clnn_dataset *ds = NULL;
  TU_OK(clnn_dataset_create(1, 3, idims, pix, 16, plab, 1, &ds));
  if (!ds) return;
  SIZE_ROWS(clnn_dataset_set_augmentation, aug, "clnn_augment_options_init",
            clnn_dataset_set_augmentation(ds, &aug));
  TU_CHECK(!clnn_dataset_get_augmentation(ds, NULL), "refused options left no augmentation");
  TU_OK(clnn_dataset_set_augmentation(ds, &aug));
  clnn_augment_options got;
  memset(&got, 0x5a, sizeof got);
  got.struct_size = 0;
  TU_CHECK(clnn_dataset_get_augmentation(ds, &got) == -1 && got.max_shift == 0x5a5a5a5a,
           "clnn_dataset_get_augmentation with struct_size 0: -1 and nothing written");
  clnn_augment_options_init(&got);
  TU_CHECK(clnn_dataset_get_augmentation(ds, &got) == 1 && got.max_shift == 1 &&
               got.struct_size == sizeof got, "clnn_dataset_get_augmentation reads back the options");
  clnn_dataset_destroy(ds);
}
#undef SIZE_ROWS
