/* src/nn/net_graph.c — a sequential network as a graph: the same layers as graph nodes with the
 * same names (so the same parameter names), an input "input", the network's loss against an
 * input "label" (int32) or "target" (float), and the last layer as the output. clnn_net_save
 * writes this graph into the file's metadata, so clnn_model_load_file and clnn-predict rebuild a
 * saved network without its source. */
#include "nn/graph.h"
#include "nn/nn_internal.h"

#include <stdio.h>
#include <string.h>

static clnn_status add(clnn__graph *g, const clnn__op *op, const char *name, int x, const int *ia,
                       const float *fa, int *v) {
  return clnn__g_add_node(g, op, name, 1, &x, ia, fa, -1, v, "clnn_net (as a graph)");
}

static clnn_status layer_node(clnn__graph *g, const clnn_net *net, const clnn__nn_layer *l, int x,
                              int *v) {
  int ia[CLNN__G_IATTRS] = {0};
  float fa[CLNN__G_FATTRS] = {0};
  const clnn_conv2d_params *c = &l->conv;
  const clnn_pool2d_params *p = &l->pool;
  switch (l->kind) {
    case CLNN__NN_CONV:
    case CLNN__NN_CONVT: {
      int a[] = {l->out_channels, l->kh, l->kw, c->stride_h, c->stride_w, c->pad_top,
                 c->pad_bottom, c->pad_left, c->pad_right, c->dilation_h, c->dilation_w, c->groups,
                 l->has_bias ? 1 : 0};
      memcpy(ia, a, sizeof a);
      return add(g, l->kind == CLNN__NN_CONV ? &clnn__op_conv2d : &clnn__op_conv_transpose2d,
                 l->name, x, ia, NULL, v);
    }
    case CLNN__NN_MAXPOOL:
    case CLNN__NN_AVGPOOL: {
      int a[] = {l->kind == CLNN__NN_MAXPOOL, p->kernel_h, p->kernel_w, p->stride_h, p->stride_w,
                 p->pad_top, p->pad_bottom, p->pad_left, p->pad_right, p->count_include_pad};
      memcpy(ia, a, sizeof a);
      return add(g, &clnn__op_pool2d, l->name, x, ia, NULL, v);
    }
    case CLNN__NN_GAP:
      return add(g, &clnn__op_global_avgpool, l->name, x, NULL, NULL, v);
    case CLNN__NN_DENSE:
      ia[0] = l->units;
      ia[1] = 1;
      return add(g, &clnn__op_dense, l->name, x, ia, NULL, v);
    case CLNN__NN_ACT:
      ia[0] = (int)l->act;
      fa[0] = l->alpha;
      return add(g, &clnn__op_activation, l->name, x, ia, fa, v);
    case CLNN__NN_DROPOUT:
      fa[0] = l->p;
      ia[0] = (int)(l - net->layers) + 1; /* the stream clnn_net has always drawn */
      return add(g, &clnn__op_dropout, l->name, x, ia, fa, v);
    case CLNN__NN_BN: {
      fa[0] = l->momentum;
      fa[1] = l->eps;
      if (!clnn__nn_seq(net, l->in_seq)) return add(g, &clnn__op_batchnorm, l->name, x, NULL, fa, v);
      /* per feature of a sequence: [T, F] -> [F, T], normalise, back */
      int perm[CLNN__G_IATTRS] = {2, 1, 0}, t;
      char in[CLNN__G_NAME_MAX], out[CLNN__G_NAME_MAX];
      snprintf(in, sizeof in, "%s.in", l->name);
      snprintf(out, sizeof out, "%s.out", l->name);
      clnn_status st = add(g, &clnn__op_permute, in, x, perm, NULL, &t);
      if (st == CLNN_SUCCESS) st = add(g, &clnn__op_batchnorm, l->name, t, NULL, fa, &t);
      if (st == CLNN_SUCCESS) st = add(g, &clnn__op_permute, out, t, perm, NULL, v);
      return st;
    }
    case CLNN__NN_FLATTEN: {
      const clnn__gvalue *xv = &g->values[x];
      ia[0] = 1;
      ia[1] = (int)clnn__nn_prod(xv->ndim, xv->dims);
      return add(g, &clnn__op_reshape, l->name, x, ia, NULL, v);
    }
    case CLNN__NN_LSTM:
      ia[0] = l->hidden;
      ia[1] = l->return_seq;
      return add(g, &clnn__op_lstm, l->name, x, ia, NULL, v);
  }
  return clnn__error(CLNN_ERROR_INTERNAL, "layer kind %d", (int)l->kind);
}

clnn_status clnn__nn_to_graph(const clnn_net *net, int for_model, clnn_graph **out) {
  clnn_graph *gr = NULL;
  clnn_status st = clnn_graph_create(&gr);
  if (st != CLNN_SUCCESS) return st;
  int x, v, target;
  st = clnn_graph_input(gr, "input", CLNN_FLOAT32, net->in_ndim, net->in_dims, &x);
  v = x;
  for (int i = 0; i < net->num_layers && st == CLNN_SUCCESS; i++)
    st = layer_node(&gr->g, net, &net->layers[i], v, &v);
  if (st == CLNN_SUCCESS) st = clnn_graph_output(gr, v);
  if (st == CLNN_SUCCESS && for_model) {
    const clnn__gvalue *o = &gr->g.values[v];
    size_t dims[4];
    int nd = o->ndim;
    memcpy(dims, o->dims, sizeof dims);
    st = clnn_graph_input(gr, "label", CLNN_INT32, nd - 1, dims, &target);
    if (st == CLNN_SUCCESS) st = clnn_graph_input(gr, "target", CLNN_FLOAT32, nd, dims, &target);
  } else if (st == CLNN_SUCCESS) {
    const clnn__gvalue *o = &gr->g.values[v];
    if (net->loss == CLNN_LOSS_SOFTMAX_CROSS_ENTROPY)
      st = clnn_graph_input(gr, "label", CLNN_INT32, o->ndim - 1, o->dims, &target);
    else
      st = clnn_graph_input(gr, "target", CLNN_FLOAT32, o->ndim, o->dims, &target);
    int loss;
    /* an output the loss does not fit (an error when training) leaves the graph without one */
    if (st == CLNN_SUCCESS && clnn_graph_loss(gr, "loss", net->loss, v, target, 1.0f, &loss)) {
      gr->g.num_values--; /* the target input, the last value added */
      gr->g.num_inputs--;
    }
  }
  if (st != CLNN_SUCCESS) {
    clnn_graph_destroy(gr);
    return st;
  }
  *out = gr;
  return CLNN_SUCCESS;
}
