/* tests/api_misuse_nn.c — the API-misuse rows of device sets, datasets and sequential networks
 * (clnn_device_set_*, clnn_dataset_*, clnn_net_*, MPI, graph models on several devices). Not a
 * test of its own: tests/test_api_misuse.c includes it, so the rows use that file's macros,
 * counters and coverage check. */

static void device_sets_datasets(void) {
  clnn_device_set *set = (clnn_device_set *)&rows;
  ROW(clnn_device_set_create, "selection matches nothing", CLNN_ERROR_DEVICE_NOT_FOUND,
      clnn_device_set_create("no-such-device-xyz", NULL, &set));
  ROW(clnn_device_set_create, "out NULL", INV, clnn_device_set_create("cpu", NULL, NULL));
  TU_CHECK(set == (clnn_device_set *)&rows || set == NULL, "clnn_device_set_create: *out untouched or NULL");
  clnn_context *two[2] = {ctx, ctx}, *none[1] = {NULL};
  ROW(clnn_device_set_wrap, "contexts NULL", INV, clnn_device_set_wrap(NULL, 1, &set));
  ROW(clnn_device_set_wrap, "count 0", INV, clnn_device_set_wrap(two, 0, &set));
  ROW(clnn_device_set_wrap, "count -1", INV, clnn_device_set_wrap(two, -1, &set));
  ROW(clnn_device_set_wrap, "count 65", INV, clnn_device_set_wrap(two, CLNN_MAX_SET_DEVICES + 1, &set));
  ROW(clnn_device_set_wrap, "the same context twice", INV, clnn_device_set_wrap(two, 2, &set));
  ROW(clnn_device_set_wrap, "a NULL context", INV, clnn_device_set_wrap(none, 1, &set));
  ROW(clnn_device_set_wrap, "out NULL", INV, clnn_device_set_wrap(two, 1, NULL));
  VROW(clnn_device_set_destroy, "NULL is a no-op", clnn_device_set_destroy(NULL), 1);
  VROW(clnn_device_set_size, "NULL", , clnn_device_set_size(NULL) == 0);
  VROW(clnn_device_set_context, "NULL", , clnn_device_set_context(NULL, 0) == NULL);
  ROW(clnn_device_set_finish, "NULL", INV, clnn_device_set_finish(NULL));
  clnn_device_set *one = NULL;
  TU_OK(clnn_device_set_wrap(two, 1, &one));
  VROW(clnn_device_set_context, "index = size", , clnn_device_set_context(one, 1) == NULL);
  VROW(clnn_device_set_context, "index -1", , clnn_device_set_context(one, -1) == NULL);
  clnn_device_set_destroy(one);

  clnn_dataset *ds = (clnn_dataset *)&rows;
  float x[8] = {0};
  int32_t lab[2] = {0, 1}, neg[2] = {0, -1};
  size_t sd[1] = {4}, sd0[1] = {0};
  ROW(clnn_dataset_load_idx, "images_path NULL", INV, clnn_dataset_load_idx(NULL, "b", &ds));
  ROW(clnn_dataset_load_idx, "labels_path NULL (images only) on a missing file", CLNN_ERROR_IO,
      clnn_dataset_load_idx("/nonexistent/a", NULL, &ds));
  ROW(clnn_dataset_load_idx, "out NULL", INV, clnn_dataset_load_idx("a", "b", NULL));
  ROW(clnn_dataset_load_idx, "no such file", CLNN_ERROR_IO,
      clnn_dataset_load_idx("/nonexistent/images", "/nonexistent/labels", &ds));
  ROW(clnn_dataset_load_idx, "a text file, not an IDX file", CLNN_ERROR_FORMAT, clnn_dataset_load_idx("/proc/self/status", "/proc/self/status", &ds));
  TU_CHECK(ds == (clnn_dataset *)&rows, "clnn_dataset_load_idx: *out untouched on failure");
  ROW(clnn_dataset_create, "n 0", INV, clnn_dataset_create(0, 1, sd, x, 0 * 4, lab, 0, &ds));
  ROW(clnn_dataset_create, "sample_ndim 0", INV, clnn_dataset_create(2, 0, sd, x, 2 * 4, lab, 2,
                                                                     &ds));
  ROW(clnn_dataset_create, "sample_ndim 5", INV, clnn_dataset_create(2, 5, sd, x, 2 * 4, lab, 2,
                                                                     &ds));
  ROW(clnn_dataset_create, "a zero sample dimension", INV, clnn_dataset_create(2, 1, sd0, x, 2 * 4,
                                                                               lab, 2, &ds));
  ROW(clnn_dataset_create, "a negative label", INV, clnn_dataset_create(2, 1, sd, x, 2 * 4, neg, 2,
                                                                        &ds));
  ROW(clnn_dataset_create, "x NULL", INV, clnn_dataset_create(2, 1, sd, NULL, 0, lab, 2, &ds));
  ROW(clnn_dataset_create, "sample_dims NULL", INV, clnn_dataset_create(2, 1, NULL, x, 2 * 4, lab,
                                                                        2, &ds));
  ROW(clnn_dataset_create, "out NULL", INV, clnn_dataset_create(2, 1, sd, x, 2 * 4, lab, 2, NULL));
  TU_CHECK(ds == (clnn_dataset *)&rows, "clnn_dataset_create: *out untouched on failure");
  VROW(clnn_dataset_destroy, "NULL is a no-op", clnn_dataset_destroy(NULL), 1);
  VROW(clnn_dataset_size, "NULL", , clnn_dataset_size(NULL) == 0);
  VROW(clnn_dataset_sample_numel, "NULL", , clnn_dataset_sample_numel(NULL) == 0);
  size_t dd[CLNN_MAX_DIMS] = {7, 7, 7, 7, 7};
  VROW(clnn_dataset_sample_dims, "NULL", , clnn_dataset_sample_dims(NULL, dd) == 0 && dd[0] == 7);
  VROW(clnn_dataset_num_classes, "NULL", , clnn_dataset_num_classes(NULL) == 0);
  VROW(clnn_dataset_data, "NULL", , clnn_dataset_data(NULL) == NULL);
  VROW(clnn_dataset_labels, "NULL", , clnn_dataset_labels(NULL) == NULL);
  ROW(clnn_dataset_shuffle, "NULL", INV, clnn_dataset_shuffle(NULL, 1));
  clnn_dataset *good = NULL;
  TU_OK(clnn_dataset_create(2, 1, sd, x, 2 * 4, lab, 2, &good));
  float out[8];
  int32_t ol[2];
  ROW(clnn_dataset_batch, "ds NULL", INV, clnn_dataset_batch(NULL, 0, 1, out,
                                                             clnn_dataset_sample_numel(NULL), ol, 1));
  ROW(clnn_dataset_batch, "x NULL", INV, clnn_dataset_batch(good, 0, 1, NULL, 0, ol, 1));
  ROW(clnn_dataset_batch, "count 0", INV, clnn_dataset_batch(good, 0, 0, out,
                                                             0 * clnn_dataset_sample_numel(good),
                                                             ol, 0));
  ROW(clnn_dataset_batch, "past the end", INV, clnn_dataset_batch(good, 1, 2, out,
                                                                  2 * clnn_dataset_sample_numel(good),
                                                                  ol, 2));
  ROW(clnn_dataset_batch, "first + count overflows", INV, clnn_dataset_batch(good, 1, SIZE_MAX, out,
                                                                             SIZE_MAX * clnn_dataset_sample_numel(good),
                                                                             ol, SIZE_MAX));

  /* augmentation */
  clnn_augment_options ao;
  VROW(clnn_augment_options_init, "NULL is a no-op", clnn_augment_options_init(NULL), 1);
  clnn_augment_options_init(&ao);
  clnn_augment_draw ad;
  memset(&ad, 0, sizeof ad);
  float img[16] = {0};
  ROW(clnn_augment_apply, "d NULL", INV, clnn_augment_apply(NULL, 1, 4, 4, img, 16));
  ROW(clnn_augment_apply, "x NULL", INV, clnn_augment_apply(&ad, 1, 4, 4, NULL, 16));
  ROW(clnn_augment_apply, "height 0", INV, clnn_augment_apply(&ad, 1, 0, 4, img, 0));
  ROW(clnn_augment_apply, "x_count short", INV, clnn_augment_apply(&ad, 1, 4, 4, img, 15));
  ROW(clnn_augment_apply, "dims overflow", INV, clnn_augment_apply(&ad, SIZE_MAX, 4, 4, img, 16));
  ad.angle_deg = NAN;
  ROW(clnn_augment_apply, "angle NaN", INV, clnn_augment_apply(&ad, 1, 4, 4, img, 16));
  ad.angle_deg = 0.0f;
  ad.flip = -1;
  ROW(clnn_augment_apply, "flip -1", INV, clnn_augment_apply(&ad, 1, 4, 4, img, 16));
  ad.flip = 0;
  ad.noise_std = INFINITY;
  ROW(clnn_augment_apply, "noise_std infinite", INV, clnn_augment_apply(&ad, 1, 4, 4, img, 16));
  ROW(clnn_augment_images, "options NULL", INV,
      clnn_augment_images(NULL, 0, 1, 1, 4, 4, img, 16, NULL, 0));
  ROW(clnn_augment_images, "x NULL", INV,
      clnn_augment_images(&ao, 0, 1, 1, 4, 4, NULL, 16, NULL, 0));
  ROW(clnn_augment_images, "n 0", INV, clnn_augment_images(&ao, 0, 0, 1, 4, 4, img, 0, NULL, 0));
  ROW(clnn_augment_images, "x_count long", INV,
      clnn_augment_images(&ao, 0, 1, 1, 4, 4, img, 17, NULL, 0));
  ROW(clnn_augment_images, "draws_count wrong", INV,
      clnn_augment_images(&ao, 0, 1, 1, 4, 4, img, 16, &ad, 2));
  ao.max_shift = -2;
  ROW(clnn_augment_images, "max_shift negative", INV,
      clnn_augment_images(&ao, 0, 1, 1, 4, 4, img, 16, NULL, 0));
  ao.max_shift = 0;
  ao.max_rotate_deg = -1.0f;
  ROW(clnn_augment_images, "max_rotate_deg negative", INV,
      clnn_augment_images(&ao, 0, 1, 1, 4, 4, img, 16, NULL, 0));
  ao.max_rotate_deg = 0.0f;
  ROW(clnn_dataset_set_augmentation, "ds NULL", INV, clnn_dataset_set_augmentation(NULL, &ao));
  ROW(clnn_dataset_set_augmentation, "samples not [C, H, W]", INV,
      clnn_dataset_set_augmentation(good, &ao));
  ao.noise_std = -0.5f;
  ROW(clnn_dataset_set_augmentation, "noise_std negative", INV,
      clnn_dataset_set_augmentation(good, &ao));
  VROW(clnn_dataset_get_augmentation, "NULL", , clnn_dataset_get_augmentation(NULL, &ao) == 0);
  VROW(clnn_dataset_get_augmentation, "none set", , clnn_dataset_get_augmentation(good, NULL) == 0);
  ROW(clnn_dataset_batch_augmented, "ds NULL", INV,
      clnn_dataset_batch_augmented(NULL, 0, 1, out, 4, ol, 1));
  ROW(clnn_dataset_batch_augmented, "x NULL", INV,
      clnn_dataset_batch_augmented(good, 0, 1, NULL, 4, ol, 1));
  ROW(clnn_dataset_batch_augmented, "past the end", INV,
      clnn_dataset_batch_augmented(good, 1, 2, out, 8, ol, 2));
  ROW(clnn_dataset_batch_augmented, "x_count wrong", INV,
      clnn_dataset_batch_augmented(good, 0, 1, out, 3, ol, 1));
  clnn_dataset_destroy(good);
}

static clnn_net *small_net(uint64_t seed) {
  size_t in[3] = {1, 4, 4};
  clnn_net *n = NULL;
  TU_OK(clnn_net_create(ctx, 3, in, seed, &n));
  TU_OK(clnn_net_add_conv2d(n, 2, 3, 1, 1));
  TU_OK(clnn_net_add_activation(n, CLNN_ACT_RELU, 0));
  return n;
}

static void networks(void) {
  size_t in[3] = {1, 4, 4}, in0[3] = {1, 0, 4};
  clnn_net *net = (clnn_net *)&rows;
  VROW(clnn_optimizer_config_init, "NULL", clnn_optimizer_config_init(NULL, CLNN_OPTIM_SGD, 0.1f), 1);
  ROW(clnn_net_create, "ctx NULL", INV, clnn_net_create(NULL, 3, in, 1, &net));
  ROW(clnn_net_create, "ndim 0", INV, clnn_net_create(ctx, 0, in, 1, &net));
  ROW(clnn_net_create, "ndim 5", INV, clnn_net_create(ctx, 5, in, 1, &net));
  ROW(clnn_net_create, "input_dims NULL", INV, clnn_net_create(ctx, 3, NULL, 1, &net));
  ROW(clnn_net_create, "a zero input dimension", INV, clnn_net_create(ctx, 3, in0, 1, &net));
  ROW(clnn_net_create, "out NULL", INV, clnn_net_create(ctx, 3, in, 1, NULL));
  TU_CHECK(net == (clnn_net *)&rows || net == NULL, "clnn_net_create: *out untouched or NULL on failure");
  VROW(clnn_net_destroy, "NULL is a no-op", clnn_net_destroy(NULL), 1);

  net = small_net(1);
  clnn_conv2d_params cp;
  clnn_conv2d_params_init(&cp);
  clnn_pool2d_params pp;
  clnn_pool2d_params_init(&pp, 2);
  ROW(clnn_net_add_conv2d, "net NULL", INV, clnn_net_add_conv2d(NULL, 2, 3, 1, 1));
  ROW(clnn_net_add_conv2d, "out_channels 0", INV, clnn_net_add_conv2d(net, 0, 3, 1, 1));
  ROW(clnn_net_add_conv2d, "out_channels -4", INV, clnn_net_add_conv2d(net, -4, 3, 1, 1));
  ROW(clnn_net_add_conv2d, "kernel 0", INV, clnn_net_add_conv2d(net, 2, 0, 1, 1));
  ROW(clnn_net_add_conv2d, "stride 0", INV, clnn_net_add_conv2d(net, 2, 3, 0, 1));
  ROW(clnn_net_add_conv2d, "padding -1", INV, clnn_net_add_conv2d(net, 2, 3, 1, -1));
  ROW(clnn_net_add_conv2d, "kernel larger than the input", SHAPE, clnn_net_add_conv2d(net, 2, 9, 1, 0));
  ROW(clnn_net_add_conv2d_ex, "params NULL", INV, clnn_net_add_conv2d_ex(net, 2, 3, 3, NULL, 1));
  cp.groups = 3;
  ROW(clnn_net_add_conv2d_ex, "groups do not divide the channels (a shape that does not fit)", SHAPE, clnn_net_add_conv2d_ex(net, 2, 3, 3, &cp, 1));
  cp.groups = 1;
  ROW(clnn_net_add_conv2d_ex, "kernel_w 0", INV, clnn_net_add_conv2d_ex(net, 2, 3, 0, &cp, 1));
  ROW(clnn_net_add_conv_transpose2d, "out_channels 0", INV, clnn_net_add_conv_transpose2d(net, 0, 3, 1, 0));
  ROW(clnn_net_add_conv_transpose2d, "net NULL", INV, clnn_net_add_conv_transpose2d(NULL, 2, 3, 1, 0));
  ROW(clnn_net_add_conv_transpose2d_ex, "params NULL", INV,
      clnn_net_add_conv_transpose2d_ex(net, 2, 3, 3, NULL, 1));
  ROW(clnn_net_add_maxpool2d, "kernel 0", INV, clnn_net_add_maxpool2d(net, 0, 0, 0));
  ROW(clnn_net_add_maxpool2d, "window larger than the input", SHAPE, clnn_net_add_maxpool2d(net, 9, 0, 0));
  ROW(clnn_net_add_avgpool2d, "padding >= kernel", INV, clnn_net_add_avgpool2d(net, 2, 2, 2));
  ROW(clnn_net_add_avgpool2d, "net NULL", INV, clnn_net_add_avgpool2d(NULL, 2, 2, 0));
  ROW(clnn_net_add_pool2d_ex, "params NULL", INV, clnn_net_add_pool2d_ex(net, 1, NULL));
  ROW(clnn_net_add_global_avgpool, "net NULL", INV, clnn_net_add_global_avgpool(NULL));
  ROW(clnn_net_add_dense, "units 0", INV, clnn_net_add_dense(net, 0));
  ROW(clnn_net_add_dense, "units -1", INV, clnn_net_add_dense(net, -1));
  ROW(clnn_net_add_dense, "input not flat (no flatten layer)", SHAPE, clnn_net_add_dense(net, 4));
  ROW(clnn_net_add_activation, "activation 99", INV, clnn_net_add_activation(net, (clnn_activation)99, 0));
  ROW(clnn_net_add_activation, "net NULL", INV, clnn_net_add_activation(NULL, CLNN_ACT_RELU, 0));
  ROW(clnn_net_add_dropout, "p = 1", INV, clnn_net_add_dropout(net, 1.0f));
  ROW(clnn_net_add_dropout, "p NaN", INV, clnn_net_add_dropout(net, NAN));
  ROW(clnn_net_add_batchnorm, "momentum 2", INV, clnn_net_add_batchnorm(net, 2.0f, 0));
  ROW(clnn_net_add_batchnorm, "eps -1", INV, clnn_net_add_batchnorm(net, 0, -1.0f));
  ROW(clnn_net_add_flatten, "net NULL", INV, clnn_net_add_flatten(NULL));
  ROW(clnn_net_add_lstm, "hidden 0", INV, clnn_net_add_lstm(net, 0, 0));
  ROW(clnn_net_add_lstm, "input is an image, not a sequence", SHAPE, clnn_net_add_lstm(net, 4, 0));
  ROW(clnn_net_set_layer_name, "net NULL", INV, clnn_net_set_layer_name(NULL, 0, "a"));
  ROW(clnn_net_set_layer_name, "name NULL", INV, clnn_net_set_layer_name(net, 0, NULL));
  ROW(clnn_net_set_layer_name, "empty name", INV, clnn_net_set_layer_name(net, 0, ""));
  ROW(clnn_net_set_layer_name, "a dot in the name", INV, clnn_net_set_layer_name(net, 0, "a.b"));
  ROW(clnn_net_set_layer_name, "48 characters", INV,
      clnn_net_set_layer_name(net, 0, "abcdefghijabcdefghijabcdefghijabcdefghijabcdefgh"));
  ROW(clnn_net_set_layer_name, "name of another layer", INV, clnn_net_set_layer_name(net, 0, "relu1"));
  ROW(clnn_net_set_layer_name, "layer 99", INV, clnn_net_set_layer_name(net, 99, "x"));
  ROW(clnn_net_set_layer_name, "layer -2", INV, clnn_net_set_layer_name(net, -2, "x"));
  ROW(clnn_net_set_loss, "loss 99", INV, clnn_net_set_loss(net, (clnn_loss)99));
  ROW(clnn_net_set_loss, "net NULL", INV, clnn_net_set_loss(NULL, CLNN_LOSS_MSE));
  clnn_optimizer_config oc;
  clnn_optimizer_config_init(&oc, CLNN_OPTIM_ADAM, 1e-3f);
  ROW(clnn_net_set_optimizer, "cfg NULL", INV, clnn_net_set_optimizer(net, NULL));
  oc.lr = 0;
  oc.lr = -1;
  ROW(clnn_net_set_optimizer, "lr -1", INV, clnn_net_set_optimizer(net, &oc));
  oc.lr = 1e-3f;
  oc.type = (clnn_optimizer_type)99;
  ROW(clnn_net_set_optimizer, "type 99", INV, clnn_net_set_optimizer(net, &oc));
  oc.type = CLNN_OPTIM_ADAM;
  oc.beta2 = 1.0f;
  ROW(clnn_net_set_optimizer, "beta2 = 1", INV, clnn_net_set_optimizer(net, &oc));
  ROW(clnn_net_set_learning_rate, "lr -1", INV, clnn_net_set_learning_rate(net, -1));
  ROW(clnn_net_set_learning_rate, "lr NaN", INV, clnn_net_set_learning_rate(net, NAN));
  ROW(clnn_net_set_learning_rate, "net NULL", INV, clnn_net_set_learning_rate(NULL, 0.1f));
  TU_CHECK(clnn_net_num_layers(net) == 2, "the failed additions left 2 layers (%d)", clnn_net_num_layers(net));

  TU_OK(clnn_net_add_flatten(net));
  TU_OK(clnn_net_add_dense(net, 3));
  float x[2 * 16], y[2 * 3], loss = -1, acc = -1;
  for (int i = 0; i < 32; i++) x[i] = 0.03f * (float)i;
  int32_t labels[2] = {0, 2}, bad_labels[2] = {0, 3};
  ROW(clnn_net_train_step, "net NULL", INV, clnn_net_train_step(NULL, x, 2 * 16, 2, labels, 2, NULL,
                                                                0, &loss));
  ROW(clnn_net_train_step, "x NULL", INV, clnn_net_train_step(net, NULL, 0, 2, labels, 2, NULL, 0,
                                                              &loss));
  ROW(clnn_net_train_step, "batch 0", INV, clnn_net_train_step(net, x, 0 * 16, 0, labels, 0, NULL,
                                                               0, &loss));
  ROW(clnn_net_train_step, "labels NULL (cross-entropy)", INV, clnn_net_train_step(net, x, 2 * 16,
                                                                                   2, NULL, 0, NULL,
                                                                                   0, &loss));
  ROW(clnn_net_train_step, "a label = number of classes", INV,
      clnn_net_train_step(net, x, 2 * 16, 2, bad_labels, 2, NULL, 0, &loss));
  TU_CHECK(loss == -1 && clnn_net_step_count(net) == 0, "failed steps changed nothing (loss %g, steps %llu)", loss,
           (unsigned long long)clnn_net_step_count(net));
  ROW(clnn_net_compute_gradients, "x NULL", INV, clnn_net_compute_gradients(net, NULL, 0, 2, labels,
                                                                            2, NULL, 0, &loss));
  ROW(clnn_net_compute_gradients, "batch 0", INV, clnn_net_compute_gradients(net, x, 0 * 16, 0,
                                                                             labels, 0, NULL, 0,
                                                                             &loss));
  ROW(clnn_net_train_epoch, "ds NULL", INV, clnn_net_train_epoch(net, NULL, 2, &loss));
  clnn_dataset *ds = NULL, *ds_wrong = NULL;
  size_t sd[3] = {1, 4, 4}, sd_wrong[1] = {5};
  TU_OK(clnn_dataset_create(2, 3, sd, x, 2 * 16, labels, 2, &ds));
  TU_OK(clnn_dataset_create(2, 1, sd_wrong, x, 2 * 5, labels, 2, &ds_wrong));
  ROW(clnn_net_train_epoch, "batch_size 0", INV, clnn_net_train_epoch(net, ds, 0, &loss));
  ROW(clnn_net_train_epoch, "samples of another shape", SHAPE, clnn_net_train_epoch(net, ds_wrong, 2, &loss));
  ROW(clnn_net_predict, "y NULL", INV, clnn_net_predict(net, x, 2 * 16, 2, NULL, 6));
  ROW(clnn_net_predict, "y_count != batch * outputs", INV, clnn_net_predict(net, x, 2 * 16, 2, y, 5));
  ROW(clnn_net_predict, "batch 0", INV, clnn_net_predict(net, x, 0 * 16, 0, y, 0));
  ROW(clnn_net_accuracy, "accuracy NULL", INV, clnn_net_accuracy(net, x, 2 * 16, labels, 2, 2, 2,
                                                                 NULL));
  ROW(clnn_net_accuracy, "n 0", INV, clnn_net_accuracy(net, x, 0 * 16, labels, 0, 0, 2, &acc));
  ROW(clnn_net_accuracy, "batch_size 0", INV, clnn_net_accuracy(net, x, 2 * 16, labels, 2, 2, 0,
                                                                &acc));
  ROW(clnn_net_evaluate, "ds NULL", INV, clnn_net_evaluate(net, NULL, 2, &loss, &acc));
  ROW(clnn_net_evaluate, "samples of another shape", SHAPE, clnn_net_evaluate(net, ds_wrong, 2, &loss, &acc));
  TU_CHECK(acc == -1, "accuracy untouched by the failures");

  VROW(clnn_net_num_layers, "NULL", , clnn_net_num_layers(NULL) == 0);
  VROW(clnn_net_layer_name, "layer 99", , clnn_net_layer_name(net, 99) == NULL);
  VROW(clnn_net_layer_name, "NULL", , clnn_net_layer_name(NULL, 0) == NULL);
  size_t od[CLNN_MAX_DIMS] = {0};
  VROW(clnn_net_output_dims, "layer 99", , clnn_net_output_dims(net, 99, od) == 0);
  VROW(clnn_net_output_dims, "NULL", , clnn_net_output_dims(NULL, -1, od) == 0);
  VROW(clnn_net_num_params, "NULL", , clnn_net_num_params(NULL) == 0);
  VROW(clnn_net_param_name, "index 999", , clnn_net_param_name(net, 999) == NULL);
  VROW(clnn_net_param_name, "NULL", , clnn_net_param_name(NULL, 0) == NULL);
  clnn_tensor *pv = (clnn_tensor *)&rows;
  ROW(clnn_net_param, "unknown name", INV, clnn_net_param(net, "nope.weight", &pv, NULL));
  ROW(clnn_net_param, "name NULL", INV, clnn_net_param(net, NULL, &pv, NULL));
  ROW(clnn_net_param, "net NULL", INV, clnn_net_param(NULL, "conv1.weight", &pv, NULL));
  TU_CHECK(pv == (clnn_tensor *)&rows || pv == NULL, "clnn_net_param: *value untouched or NULL on failure");
  VROW(clnn_net_num_trainable, "NULL", , clnn_net_num_trainable(NULL) == 0);
  VROW(clnn_net_step_count, "NULL", , clnn_net_step_count(NULL) == 0);
  char buf[16] = "unchanged";
  ROW(clnn_net_summary, "net NULL", INV, clnn_net_summary(NULL, buf, sizeof buf));
  ROW(clnn_net_summary, "buf NULL", INV, clnn_net_summary(net, NULL, 100));
  ROW(clnn_net_summary, "size 0", INV, clnn_net_summary(net, buf, 0));
  ROW(clnn_net_summary, "16-byte buffer (truncated, fine)", OK, clnn_net_summary(net, buf, sizeof buf));
  TU_CHECK(strlen(buf) < sizeof buf, "clnn_net_summary: NUL-terminated in a short buffer");

  ROW(clnn_net_save, "net NULL", INV, clnn_net_save(NULL, "/tmp/x.safetensors", 0));
  ROW(clnn_net_save, "path NULL", INV, clnn_net_save(net, NULL, 0));
  ROW(clnn_net_save, "unknown flags", INV, clnn_net_save(net, "/tmp/x.safetensors", 0x40));
  ROW(clnn_net_save, "directory that does not exist", CLNN_ERROR_IO,
      clnn_net_save(net, "/nonexistent-dir/x.safetensors", 0));
  ROW(clnn_net_load, "net NULL", INV, clnn_net_load(NULL, "/tmp/x.safetensors"));
  ROW(clnn_net_load, "path NULL", INV, clnn_net_load(net, NULL));
  ROW(clnn_net_load, "no such file", CLNN_ERROR_IO, clnn_net_load(net, "/nonexistent-dir/x.safetensors"));
  ROW(clnn_net_load, "not a safetensors file", CLNN_ERROR_FORMAT, clnn_net_load(net, "/proc/self/status"));

  /* after first use the layer list is fixed */
  TU_OK(clnn_net_train_step(net, x, 2 * 16, 2, labels, 2, NULL, 0, &loss));
  ROW(clnn_net_add_dense, "after the network was used", INV, clnn_net_add_dense(net, 3));
  ROW(clnn_net_set_layer_name, "after the network was used", INV, clnn_net_set_layer_name(net, 0, "first"));
  TU_CHECK(clnn_net_num_layers(net) == 4, "layers unchanged after first use");

  /* several devices and MPI */
  clnn_net *pn = (clnn_net *)&rows;
  ROW(clnn_net_create_parallel, "set NULL", INV, clnn_net_create_parallel(NULL, 3, in, 1, &pn));
  clnn_device_set *set = NULL;
  clnn_context *one[1] = {ctx};
  TU_OK(clnn_device_set_wrap(one, 1, &set));
  ROW(clnn_net_create_parallel, "ndim 0", INV, clnn_net_create_parallel(set, 0, in, 1, &pn));
  ROW(clnn_net_create_parallel, "out NULL", INV, clnn_net_create_parallel(set, 3, in, 1, NULL));
  TU_CHECK(pn == (clnn_net *)&rows || pn == NULL, "clnn_net_create_parallel: *out untouched or NULL");
  clnn_device_set_destroy(set);
  VROW(clnn_net_num_devices, "NULL", , clnn_net_num_devices(NULL) == 0);
  double w[2] = {1, 1}, wneg[1] = {-1}, wzero[1] = {0}, shares[2] = {-1, -1};
  ROW(clnn_net_set_split, "net NULL", INV, clnn_net_set_split(NULL, CLNN_SPLIT_AUTO, NULL, 0));
  ROW(clnn_net_set_split, "mode 99", INV, clnn_net_set_split(net, (clnn_split_mode)99, NULL, 0));
  ROW(clnn_net_set_split, "FIXED without weights", INV, clnn_net_set_split(net, CLNN_SPLIT_FIXED, NULL, 1));
  ROW(clnn_net_set_split, "FIXED, count != devices", INV, clnn_net_set_split(net, CLNN_SPLIT_FIXED, w, 2));
  ROW(clnn_net_set_split, "a negative weight", INV, clnn_net_set_split(net, CLNN_SPLIT_FIXED, wneg, 1));
  ROW(clnn_net_set_split, "every weight 0", INV, clnn_net_set_split(net, CLNN_SPLIT_FIXED, wzero, 1));
  ROW(clnn_net_set_split, "AUTO with weights", INV, clnn_net_set_split(net, CLNN_SPLIT_AUTO, w, 1));
  ROW(clnn_net_get_split, "net NULL", INV, clnn_net_get_split(NULL, shares, 1, NULL));
  ROW(clnn_net_get_split, "shares NULL", INV, clnn_net_get_split(net, NULL, 1, NULL));
  ROW(clnn_net_get_split, "count != devices", INV, clnn_net_get_split(net, shares, 2, NULL));
  TU_CHECK(shares[0] == -1, "clnn_net_get_split: shares untouched on failure");
  VROW(clnn_mpi_available, "0 or 1", int a = clnn_mpi_available(), a == 0 || a == 1);
  if (!clnn_mpi_available()) {
    ROW(clnn_mpi_init, "built without MPI", CLNN_ERROR_UNSUPPORTED, clnn_mpi_init(NULL, NULL, NULL, NULL));
    ROW(clnn_mpi_finalize, "built without MPI", CLNN_ERROR_UNSUPPORTED, clnn_mpi_finalize());
    ROW(clnn_net_set_mpi, "built without MPI", CLNN_ERROR_UNSUPPORTED, clnn_net_set_mpi(net, NULL));
  } else {
    /* MPI is not initialised in this test, so these calls would start it: only argument errors */
    cover("clnn_mpi_init");
    cover("clnn_mpi_finalize");
  }
  ROW(clnn_net_set_mpi, "net NULL", INV, clnn_net_set_mpi(NULL, NULL));
  { /* graph models on several devices and MPI */
    clnn_graph *pg = NULL;
    int gx, gy;
    size_t gd[1] = {4};
    TU_OK(clnn_graph_create(&pg));
    TU_OK(clnn_graph_input(pg, "x", CLNN_FLOAT32, 1, gd, &gx));
    TU_OK(clnn_graph_dense(pg, NULL, gx, 2, 1, &gy));
    clnn_model *pm = (clnn_model *)&rows;
    ROW(clnn_model_create_parallel, "set NULL", INV, clnn_model_create_parallel(NULL, pg, 1, &pm));
    TU_OK(clnn_device_set_wrap(one, 1, &set));
    ROW(clnn_model_create_parallel, "graph NULL", INV, clnn_model_create_parallel(set, NULL, 1, &pm));
    ROW(clnn_model_create_parallel, "out NULL", INV, clnn_model_create_parallel(set, pg, 1, NULL));
    ROW(clnn_model_create_parallel, "no output or loss", INV,
        clnn_model_create_parallel(set, pg, 1, &pm));
    TU_CHECK(pm == (clnn_model *)&rows, "clnn_model_create_parallel: *out untouched on failure");
    TU_OK(clnn_graph_output(pg, gy));
    pm = NULL;
    TU_OK(clnn_model_create_parallel(set, pg, 1, &pm));
    VROW(clnn_model_num_devices, "NULL", , clnn_model_num_devices(NULL) == 0);
    VROW(clnn_model_num_devices, "a one-device set", , clnn_model_num_devices(pm) == 1);
    {
      double wm[1] = {1.0}, wmneg[1] = {-1.0}, wmzero[1] = {0.0}, sh[2] = {-1, -1};
      int meas = -1;
      ROW(clnn_model_set_split, "model NULL", INV, clnn_model_set_split(NULL, CLNN_SPLIT_AUTO, NULL, 0));
      ROW(clnn_model_set_split, "mode 99", INV, clnn_model_set_split(pm, (clnn_split_mode)99, NULL, 0));
      ROW(clnn_model_set_split, "FIXED without weights", INV,
          clnn_model_set_split(pm, CLNN_SPLIT_FIXED, NULL, 1));
      ROW(clnn_model_set_split, "FIXED, count != devices", INV,
          clnn_model_set_split(pm, CLNN_SPLIT_FIXED, wm, 2));
      ROW(clnn_model_set_split, "a negative weight", INV,
          clnn_model_set_split(pm, CLNN_SPLIT_FIXED, wmneg, 1));
      ROW(clnn_model_set_split, "every weight 0", INV,
          clnn_model_set_split(pm, CLNN_SPLIT_FIXED, wmzero, 1));
      ROW(clnn_model_set_split, "AUTO with weights", INV, clnn_model_set_split(pm, CLNN_SPLIT_AUTO, wm, 1));
      ROW(clnn_model_get_split, "model NULL", INV, clnn_model_get_split(NULL, sh, 1, NULL));
      ROW(clnn_model_get_split, "shares NULL", INV, clnn_model_get_split(pm, NULL, 1, NULL));
      ROW(clnn_model_get_split, "count != devices", INV, clnn_model_get_split(pm, sh, 2, NULL));
      TU_CHECK(sh[0] == -1 && sh[1] == -1, "clnn_model_get_split: shares written on failure");
      TU_OK(clnn_model_get_split(pm, sh, 1, &meas));
      TU_CHECK(sh[0] == 1.0 && meas == 0, "clnn_model_get_split after refused calls: %g, %d", sh[0],
               meas);
    }
    ROW(clnn_model_set_mpi, "model NULL", INV, clnn_model_set_mpi(NULL, NULL));
    if (!clnn_mpi_available())
      ROW(clnn_model_set_mpi, "built without MPI", CLNN_ERROR_UNSUPPORTED, clnn_model_set_mpi(pm, NULL));
    else
      cover("clnn_model_set_mpi");
    clnn_model_destroy(pm);
    clnn_device_set_destroy(set);
    clnn_graph_destroy(pg);
  }
  int rank = -1, size = -1;
  ROW(clnn_net_mpi_rank, "net NULL", INV, clnn_net_mpi_rank(NULL, &rank, &size));
  ROW(clnn_net_mpi_rank, "not joined: rank 0 of 1", OK, clnn_net_mpi_rank(net, &rank, &size));
  TU_CHECK(rank == 0 && size == 1, "clnn_net_mpi_rank: 0 of 1 when not joined (%d of %d)", rank, size);
  ROW(clnn_net_mpi_rank, "both out-pointers NULL (allowed)", OK, clnn_net_mpi_rank(net, NULL, NULL));

  clnn_dataset_destroy(ds);
  clnn_dataset_destroy(ds_wrong);
  clnn_net_destroy(net);
}
