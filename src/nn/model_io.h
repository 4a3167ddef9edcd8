/* src/nn/model_io.h — what the parts of model files share: the JSON of the graph and of the
 * optimizer settings (model_json.c, written and read with cJSON) that model_io.c puts into and
 * takes from a safetensors file's "__metadata__", and the safetensors header reader (model_st.c).
 * Every reader returns CLNN_ERROR_FORMAT naming `path` and the problem. */
#ifndef CLNN_MODEL_IO_H
#define CLNN_MODEL_IO_H

#include "nn/model.h"

#include <cjson/cJSON.h>

#define CLNN__MJ_VERSION 1       /* "version" of the graph JSON */
#define CLNN__MJ_MAX_NODES 10000 /* nodes and inputs a model file may describe */

/* The graph as compact JSON (malloc'd; NULL when out of memory). keep (may be NULL: every node):
 * nodes with keep[i] nonzero are written, plus what nodes that share their parameters need. */
char *clnn__mj_graph_write(const clnn__graph *g, const char *keep);
/* Rebuilds a graph (a new clnn_graph in *out) from its JSON: every node goes through
 * clnn__g_add_node, so shapes are inferred and checked again. */
clnn_status clnn__mj_graph_read(const char *json, const char *path, clnn_graph **out);

/* The optimizer settings a model file carries. */
typedef struct clnn__mj_opt {
  clnn_optimizer_config cfg;
  clnn__mgroup *groups;
  int num_groups;
  clnn_schedule sched;
  char (*frozen)[CLNN__G_PNAME_MAX]; /* parameters not trained (state tensors are not listed) */
  int num_frozen;
} clnn__mj_opt;

/* The model's optimizer configuration, groups, schedule and frozen parameters as JSON. */
char *clnn__mj_opt_write(const clnn_model *m);
/* Reads such JSON; *o is freed with clnn__mj_opt_free (also after a failure). */
clnn_status clnn__mj_opt_read(const char *json, const char *path, clnn__mj_opt *o);
void clnn__mj_opt_free(clnn__mj_opt *o);
/* Sets optimizer, frozen parameters, groups and schedule on a model just created. */
clnn_status clnn__mj_opt_apply(clnn_model *m, const clnn__mj_opt *o, const char *path);
/* The optimizer type named `name` ("adam"); -1 when none. */
int clnn__mj_opt_type(const char *name);

/* ---- model_st.c: the safetensors header ---- */

#define CLNN__MS_MAX_SHAPE 8
#define CLNN__MS_MAX_ITEMS (1 << 20) /* JSON values in one header, graph or settings text */

/* CLNN_ERROR_FORMAT "model file 'path': <fmt, ...>" (the error every model file reader sets). */
clnn_status clnn__ms_bad(const char *path, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Parses n bytes of JSON (trailing whitespace allowed) after bounding the number of values;
 * NULL with *st a CLNN_ERROR_FORMAT "model file 'path': what: ..." otherwise. */
cJSON *clnn__ms_parse(const char *s, size_t n, const char *path, const char *what, clnn_status *st);

/* Where a file's bytes come from: memory (mem set) or a file descriptor (pread). */
typedef struct clnn__ms_src {
  const unsigned char *mem;
  int fd;
  uint64_t size;
} clnn__ms_src;
/* n bytes at off (0; -1 with errno, EIO past the end or when the file shrank). */
int clnn__ms_read(const clnn__ms_src *s, uint64_t off, void *dst, size_t n);

typedef struct clnn__ms_entry {
  const char *name; /* points into the parsed header */
  const char *dtype;
  int ndim;
  uint64_t shape[CLNN__MS_MAX_SHAPE];
  uint64_t begin, end; /* within the data */
} clnn__ms_entry;

typedef struct clnn__ms_file {
  cJSON *root;       /* the parsed header */
  const cJSON *meta; /* "__metadata__" (NULL when absent); every value a string */
  clnn__ms_entry *e; /* sorted by name */
  size_t ne;
  uint64_t data_off, data_size;
} clnn__ms_file;

/* Reads and checks the header (CLNN_ERROR_FORMAT "model file 'path': ..."; IO; OUT_OF_MEMORY). */
clnn_status clnn__ms_open(const clnn__ms_src *s, const char *path, clnn__ms_file *f);
void clnn__ms_free(clnn__ms_file *f);
const clnn__ms_entry *clnn__ms_find(const clnn__ms_file *f, const char *name);
/* "I32 [4, 1, 3, 3]" */
const char *clnn__ms_entry_text(const clnn__ms_entry *e, char *buf, size_t size);
/* A metadata string (NULL when absent). */
const char *clnn__ms_meta(const clnn__ms_file *f, const char *key);
/* A decimal count in the metadata ("step": "12") at most limit: 1, 0 if absent, -1 if malformed. */
int clnn__ms_meta_u64(const clnn__ms_file *f, const char *key, uint64_t limit, uint64_t *v);

#endif /* CLNN_MODEL_IO_H */
