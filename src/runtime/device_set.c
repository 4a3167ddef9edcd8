/* src/runtime/device_set.c — device sets: one context (own OpenCL context and in-order queue) per
 * device for data-parallel training. Resolves "all" or a comma-separated list of CLNN_DEVICE-style
 * selections (each entry takes the best matching device no earlier entry took), reads
 * $CLNN_DEVICES, wraps caller-made contexts, and waits for every queue after flushing all. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct clnn_device_set {
  int count;
  int owned; /* 1: the contexts were created here and are destroyed with the set */
  clnn_context *ctx[CLNN_MAX_SET_DEVICES];
};

static int type_rank(clnn_device_type t) {
  switch (t) {
    case CLNN_DEVICE_GPU: return 3;
    case CLNN_DEVICE_ACCELERATOR: return 2;
    case CLNN_DEVICE_CPU: return 1;
    default: return 0;
  }
}

/* clnn_device_select's ranking: type, then estimated peak (ties: enumeration order). */
static int better(const clnn_device_info *a, const clnn_device_info *b) {
  if (type_rank(a->type) != type_rank(b->type)) return type_rank(a->type) > type_rank(b->type);
  return a->est_peak_gflops > b->est_peak_gflops;
}

static int ci_contains(const char *hay, const char *needle) {
  size_t nl = strlen(needle);
  for (const char *h = hay; *h; h++) {
    size_t i = 0;
    while (i < nl && h[i] && tolower((unsigned char)h[i]) == tolower((unsigned char)needle[i])) i++;
    if (i == nl) return 1;
  }
  return 0;
}

static const char *type_name(clnn_device_type t) {
  switch (t) {
    case CLNN_DEVICE_GPU: return "GPU";
    case CLNN_DEVICE_CPU: return "CPU";
    case CLNN_DEVICE_ACCELERATOR: return "accelerator";
    default: return "other";
  }
}

static void list_devices(const clnn_device_info *infos, int n, const char *taken, char *buf,
                         size_t size) {
  size_t off = 0;
  buf[0] = 0;
  for (int i = 0; i < n && off + 1 < size; i++) {
    int w = snprintf(buf + off, size - off, "%s  %d:%d %s [%s]%s", i ? "\n" : "",
                     infos[i].platform_index, infos[i].device_index, infos[i].name,
                     type_name(infos[i].type), taken && taken[i] ? " (taken)" : "");
    if (w < 0) break;
    off += (size_t)w;
  }
}

/* Resolves one list entry (trimmed, non-empty) to a device not yet taken; -1 if none. */
static int resolve_entry(const char *e, const clnn_device_info *infos, int n, const char *taken,
                         int *exact_taken) {
  int p = -1, d = -1;
  char tail = 0;
  *exact_taken = 0;
  if (sscanf(e, "%d:%d%c", &p, &d, &tail) == 2) {
    for (int i = 0; i < n; i++)
      if (infos[i].platform_index == p && infos[i].device_index == d) {
        if (taken[i]) {
          *exact_taken = 1;
          return -1;
        }
        return i;
      }
    return -1;
  }
  int by_type = 1;
  clnn_device_type want = CLNN_DEVICE_OTHER;
  if (!strcasecmp(e, "gpu")) want = CLNN_DEVICE_GPU;
  else if (!strcasecmp(e, "cpu")) want = CLNN_DEVICE_CPU;
  else if (!strcasecmp(e, "accelerator") || !strcasecmp(e, "fpga")) want = CLNN_DEVICE_ACCELERATOR;
  else by_type = 0;
  int best = -1;
  for (int i = 0; i < n; i++) {
    if (taken[i]) continue;
    int match = by_type ? infos[i].type == want : ci_contains(infos[i].name, e);
    if (match && (best < 0 || better(&infos[i], &infos[best]))) best = i;
  }
  return best;
}

/* Fills idx[] (device indices) from the selection; returns the count or a negative status. */
static clnn_status resolve(const char *sel, const clnn_device_info *infos, int n, int *idx,
                           int *count) {
  *count = 0;
  char *taken = calloc((size_t)n, 1);
  if (!taken) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "clnn_device_set_create: out of host memory");
  clnn_status st = CLNN_SUCCESS;
  while (isspace((unsigned char)*sel)) sel++;
  size_t len = strlen(sel);
  while (len && isspace((unsigned char)sel[len - 1])) len--;
  if (len == 3 && !strncasecmp(sel, "all", 3)) {
    /* every device, best first (stable: equal devices keep enumeration order) */
    for (int k = 0; k < n && k < CLNN_MAX_SET_DEVICES; k++) {
      int best = -1;
      for (int i = 0; i < n; i++)
        if (!taken[i] && (best < 0 || better(&infos[i], &infos[best]))) best = i;
      taken[best] = 1;
      idx[(*count)++] = best;
    }
    free(taken);
    return CLNN_SUCCESS;
  }
  const char *p = sel, *end = sel + len;
  int entry = 0;
  while (p <= end && st == CLNN_SUCCESS) {
    const char *comma = memchr(p, ',', (size_t)(end - p));
    const char *q = comma ? comma : end;
    char e[256];
    const char *a = p, *b = q;
    while (a < b && isspace((unsigned char)*a)) a++;
    while (b > a && isspace((unsigned char)b[-1])) b--;
    if (b == a) {
      st = clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "device set \"%s\": entry %d is empty (use a "
                       "comma-separated list of P:D, gpu, cpu, accelerator or part of a name, "
                       "or all)", sel, entry + 1);
      break;
    }
    if ((size_t)(b - a) >= sizeof e) {
      st = clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "device set: entry %d is too long", entry + 1);
      break;
    }
    if (*count >= CLNN_MAX_SET_DEVICES) {
      st = clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "device set \"%s\" lists more than %d devices",
                       sel, CLNN_MAX_SET_DEVICES);
      break;
    }
    memcpy(e, a, (size_t)(b - a));
    e[b - a] = 0;
    int exact_taken = 0;
    int i = resolve_entry(e, infos, n, taken, &exact_taken);
    if (i < 0) {
      char list[2048];
      list_devices(infos, n, taken, list, sizeof list);
      st = clnn__error(CLNN_ERROR_DEVICE_NOT_FOUND, "device set \"%s\": entry %d \"%s\" %s; the "
                       "devices are:\n%s", sel, entry + 1, e,
                       exact_taken ? "names a device an earlier entry already took"
                                   : "matches no device that an earlier entry has not taken "
                                     "(use P:D, gpu, cpu, accelerator or part of a name)",
                       list);
      break;
    }
    taken[i] = 1;
    idx[(*count)++] = i;
    entry++;
    if (!comma) break;
    p = comma + 1;
  }
  free(taken);
  return st;
}

clnn_status clnn_device_set_create(const char *selection, const clnn_context_options *options,
                                   clnn_device_set **out) {
  if (!out) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_device_set_create: out is NULL");
  *out = NULL;
  clnn_context_options o_in;
  CLNN__STRUCT_IN(CLNN__CONTEXT_OPTIONS, "clnn_device_set_create", "options", options, o_in);
  const char *sel = selection;
  int single_env = 0;
  if (!sel || !*sel) {
    sel = getenv("CLNN_DEVICES");
    if (!sel || !*sel) {
      sel = getenv("CLNN_DEVICE");
      single_env = 1; /* one device, CLNN_DEVICE's own rules (may be NULL: the default) */
    }
  }
  int n = 0;
  clnn_status st = clnn_device_count(&n);
  if (st != CLNN_SUCCESS) return st;
  int idx[CLNN_MAX_SET_DEVICES], count = 0;
  if (single_env) {
    st = clnn_device_select(sel, &idx[0], NULL, 0);
    if (st != CLNN_SUCCESS) return st;
    count = 1;
  } else {
    clnn_device_info *infos = calloc((size_t)n, sizeof *infos);
    if (!infos) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "clnn_device_set_create: out of host memory");
    for (int i = 0; i < n && st == CLNN_SUCCESS; i++) st = clnn__device_lookup(i, NULL, NULL, &infos[i]);
    if (st == CLNN_SUCCESS) st = resolve(sel, infos, n, idx, &count);
    free(infos);
    if (st != CLNN_SUCCESS) return st;
  }
  clnn_device_set *set = calloc(1, sizeof *set);
  if (!set) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "clnn_device_set_create: out of host memory");
  set->owned = 1;
  for (int k = 0; k < count; k++) {
    clnn_context_options o;
    if (options) o = *options;
    else clnn_context_options_init(&o);
    clnn_device_info info;
    st = clnn__device_lookup(idx[k], NULL, NULL, &info);
    char sel_pd[32];
    snprintf(sel_pd, sizeof sel_pd, "%d:%d", info.platform_index, info.device_index);
    o.device = sel_pd;
    if (st == CLNN_SUCCESS) st = clnn_context_create(&o, &set->ctx[k]);
    if (st != CLNN_SUCCESS) {
      char keep[2048];
      snprintf(keep, sizeof keep, "%s", clnn_last_error());
      clnn_device_set_destroy(set);
      return clnn__error(st, "clnn_device_set_create: device %d (%s): %s", k, sel_pd, keep);
    }
    set->count = k + 1;
  }
  clnn__log(CLNN_LOG_INFO, "device set of %d device(s) from \"%s\"", count, sel ? sel : "(default)");
  *out = set;
  return CLNN_SUCCESS;
}

clnn_status clnn_device_set_wrap(clnn_context *const *contexts, int count, clnn_device_set **out) {
  if (!out) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_device_set_wrap: out is NULL");
  *out = NULL;
  if (!contexts) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_device_set_wrap: contexts is NULL");
  if (count < 1 || count > CLNN_MAX_SET_DEVICES)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_device_set_wrap: count %d is not in 1..%d",
                       count, CLNN_MAX_SET_DEVICES);
  for (int i = 0; i < count; i++) {
    if (!contexts[i])
      return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_device_set_wrap: contexts[%d] is NULL", i);
    for (int j = 0; j < i; j++)
      if (contexts[j] == contexts[i])
        return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_device_set_wrap: contexts[%d] and "
                           "contexts[%d] are the same context", j, i);
  }
  clnn_device_set *set = calloc(1, sizeof *set);
  if (!set) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "clnn_device_set_wrap: out of host memory");
  set->count = count;
  for (int i = 0; i < count; i++) set->ctx[i] = contexts[i];
  *out = set;
  return CLNN_SUCCESS;
}

void clnn_device_set_destroy(clnn_device_set *set) {
  if (!set) return;
  if (set->owned)
    for (int i = 0; i < set->count; i++) clnn_context_destroy(set->ctx[i]);
  free(set);
}

int clnn_device_set_size(const clnn_device_set *set) { return set ? set->count : 0; }

clnn_context *clnn_device_set_context(const clnn_device_set *set, int i) {
  if (!set || i < 0 || i >= set->count) return NULL;
  return set->ctx[i];
}

clnn_status clnn_device_set_finish(clnn_device_set *set) {
  if (!set) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_device_set_finish: set is NULL");
  clnn_status st = CLNN_SUCCESS;
  /* Flush every queue first so that all devices run while the host waits on the first. */
  for (int i = 0; i < set->count; i++) {
    cl_int err = clFlush(set->ctx[i]->queue);
    if (err != CL_SUCCESS && st == CLNN_SUCCESS)
      st = clnn__error(CLNN_ERROR_OPENCL, "clnn_device_set_finish: device %d (%s): clFlush: %s (%d)",
                       i, set->ctx[i]->info.name, clnn__cl_error_name(err), (int)err);
  }
  for (int i = 0; i < set->count; i++) {
    cl_int err = clFinish(set->ctx[i]->queue);
    if (err != CL_SUCCESS && st == CLNN_SUCCESS)
      st = clnn__error(CLNN_ERROR_OPENCL, "clnn_device_set_finish: device %d (%s): clFinish: %s (%d)",
                       i, set->ctx[i]->info.name, clnn__cl_error_name(err), (int)err);
  }
  return st;
}
