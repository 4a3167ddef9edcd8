/* src/tune.c — tuned parameters per device and clnn's own CPU-shaped GEMM.
 *
 * At context creation (clnn__tune_apply_gemm, called from src/gemm.c) the parameters for the
 * context's device are resolved (see src/tune.h for the order: CLNN_TUNE, the cache-directory file
 * written by clnn-tune, the built-in table), remembered for the context, and CLBlast's GEMM
 * parameters are overridden with CLBlastOverrideParameters. The built-in table holds the results
 * of clnn-tune on PoCL for x86-64 CPUs, so a fresh install on such a machine is fast untuned.
 *
 * clnn__own_gemm runs cl/gemm_cpu.cl on CPU devices whose parameters say so (measured faster than
 * CLBlast there), picking per call the orientation and packing that moves the least data; see the
 * kernel file for the scheme. clnn__tuned_program_options hands the tile sizes to the build of
 * cl/gemm_cpu.cl (one option string per program and device). */
#define _POSIX_C_SOURCE 200809L
#include "tune.h"

#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CLBLAST_KERNELS 8
#define MAX_CLBLAST_PARAMS 24

typedef struct clblast_set {
  char kernel[32];
  int count;
  char names[MAX_CLBLAST_PARAMS][24];
  size_t values[MAX_CLBLAST_PARAMS];
} clblast_set;

typedef struct tune_params {
  char source[320];
  int own_gemm;                 /* 1: clnn's CPU GEMM; 0: CLBlast */
  int mr, nv, mr_n, vw, rt, ku; /* cl/gemm_cpu.cl tile parameters (0: the kernel's default) */
  int order;                    /* GEMM_ORDER + 1 (0: the kernel's default) */
  long pack_min;                /* rows from which an in-place B is packed anyway */
  int num_clblast;
  clblast_set clblast[MAX_CLBLAST_KERNELS];
} tune_params;

/* ---- the built-in table ---------------------------------------------------------------------- */

typedef struct builtin_entry {
  const char *label;
  const char *platform_substr; /* case-sensitive substring of the platform name */
  const char *name_substr;     /* substring of the device name ("" matches any) */
  int vw;                      /* preferred float vector width it applies to (0: any) */
  const char *text;            /* the same "key = value" lines as a tuned file */
} builtin_entry;

/* Measured with clnn-tune and clnn-bench on PoCL 3.1 (LLVM 15, target skylake-avx512), a 2-core
 * AMD EPYC (Zen 5) KVM guest, while other jobs shared the machine (so the winners were confirmed
 * by interleaved A/B runs; see README "Performance"):
 * - clnn GEMM: 12 x 2 float16 accumulators (24 of the 32 zmm registers) beat 6 x 2 and 14 x 2;
 *   1024^3 reached 455 GFLOP/s best-of-5 in a quiet moment (CLBlast's defaults: 10-31).
 * - CLBlast Xgemm: 64 x 64 tiles of 8 x 8 work-items with 4-wide vectors (24-32 GFLOP/s at
 *   1024^3 under load, 62-65 quiet, against 9-11 / 14 with CLBlast's defaults); XgemmDirect:
 *   32 x 32 tiles with 4-wide vectors; direct below 256^3.
 * The AVX2 entry uses the same shapes with 8-float vectors and 6 x 2 tiles (16 registers):
 * derived, not measured on an AVX2 machine, so it sets no CLBlast parameters. */
static const builtin_entry builtin_table[] = {
    {"pocl-x86-64-avx512", "Portable Computing Language", "avx512", 16,
     "gemm.own = 1\n"
     "gemm.vw = 16\n"
     "gemm.mr = 12\n"
     "gemm.nv = 2\n"
     "gemm.mr_n = 12\n"
     "gemm.rt = 1\n"
     "gemm.ku = 2\n"
     "gemm.pack_min = 256\n"
     "clblast.Xgemm = GEMMK=0 KREG=1 KWG=32 KWI=2 MDIMA=8 MDIMC=8 MWG=64 NDIMB=8 NDIMC=8 NWG=64 SA=0 SB=0 "
     "STRM=0 STRN=0 VWM=4 VWN=4\n"
     "clblast.XgemmDirect = KWID=8 MDIMAD=8 MDIMCD=8 NDIMBD=8 NDIMCD=8 PADA=0 PADB=0 VWMD=4 VWND=4 WGD=32\n"
     "clblast.GemmRoutine = XGEMM_MIN_INDIRECT_SIZE=256\n"},
    {"pocl-x86-64-avx2", "Portable Computing Language", "", 8,
     "gemm.own = 1\n"
     "gemm.vw = 8\n"
     "gemm.mr = 6\n"
     "gemm.nv = 2\n"
     "gemm.mr_n = 12\n"
     "gemm.rt = 1\n"
     "gemm.ku = 2\n"
     "gemm.pack_min = 256\n"},
};

/* ---- parsing ----------------------------------------------------------------------------------- */

static void trim(char *s) {
  char *p = s;
  while (isspace((unsigned char)*p)) p++;
  if (p != s) memmove(s, p, strlen(p) + 1);
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = 0;
}

static int parse_long(const char *v, long lo, long hi, long *out) {
  char *end;
  errno = 0;
  long x = strtol(v, &end, 10);
  if (errno || end == v || *end || x < lo || x > hi) return -1;
  *out = x;
  return 0;
}

/* "NAME=VALUE NAME=VALUE ..." for CLBlast kernel `kernel`. */
static int parse_clblast(tune_params *p, const char *kernel, const char *v) {
  if (strlen(kernel) >= sizeof p->clblast[0].kernel) return -1;
  clblast_set set;
  memset(&set, 0, sizeof set);
  snprintf(set.kernel, sizeof set.kernel, "%s", kernel);
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", v);
  char *save = NULL;
  for (char *tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
    char *eq = strchr(tok, '=');
    if (!eq || eq == tok || set.count >= MAX_CLBLAST_PARAMS) return -1;
    *eq = 0;
    long x;
    if (strlen(tok) >= sizeof set.names[0] || parse_long(eq + 1, 0, 1L << 30, &x)) return -1;
    snprintf(set.names[set.count], sizeof set.names[0], "%s", tok);
    set.values[set.count++] = (size_t)x;
  }
  if (set.count == 0) return -1;
  for (int i = 0; i < p->num_clblast; i++)
    if (!strcmp(p->clblast[i].kernel, kernel)) {
      p->clblast[i] = set;
      return 0;
    }
  if (p->num_clblast >= MAX_CLBLAST_KERNELS) return -1;
  p->clblast[p->num_clblast++] = set;
  return 0;
}

/* Applies "key = value" lines over p. Returns the number of malformed lines (they are skipped). */
static int parse_text(tune_params *p, const char *text, const char *what) {
  int bad = 0, line_no = 0;
  const char *s = text;
  while (*s) {
    const char *e = strchr(s, '\n');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    char line[1200];
    line_no++;
    if (n >= sizeof line) {
      bad++;
      s = e ? e + 1 : s + n;
      continue;
    }
    memcpy(line, s, n);
    line[n] = 0;
    s = e ? e + 1 : s + n;
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    trim(line);
    if (!line[0]) continue;
    char *eq = strchr(line, '=');
    if (!eq) {
      bad++;
      clnn__log(CLNN_LOG_WARN, "tuned parameters %s:%d: no '=' (line skipped)", what, line_no);
      continue;
    }
    *eq = 0;
    char *key = line, *val = eq + 1;
    trim(key);
    trim(val);
    long x = 0;
    int rc = 0;
    if (!strcmp(key, "format")) {
      if (parse_long(val, 0, 1000, &x) || x != CLNN_TUNE_FORMAT) {
        clnn__log(CLNN_LOG_WARN, "tuned parameters %s: format %s, expected %d: file ignored", what, val,
                  CLNN_TUNE_FORMAT);
        return -1;
      }
    } else if (!strcmp(key, "device") || !strcmp(key, "measured")) {
      /* informational */
    } else if (!strcmp(key, "gemm.own")) {
      rc = parse_long(val, 0, 1, &x);
      if (!rc) p->own_gemm = (int)x;
    } else if (!strcmp(key, "gemm.vw")) {
      rc = parse_long(val, 4, 16, &x) || (x != 4 && x != 8 && x != 16);
      if (!rc) p->vw = (int)x;
    } else if (!strcmp(key, "gemm.mr")) {
      rc = parse_long(val, 1, 16, &x);
      if (!rc) p->mr = (int)x;
    } else if (!strcmp(key, "gemm.nv")) {
      rc = parse_long(val, 1, 4, &x);
      if (!rc) p->nv = (int)x;
    } else if (!strcmp(key, "gemm.mr_n")) {
      rc = parse_long(val, 1, 30, &x);
      if (!rc) p->mr_n = (int)x;
    } else if (!strcmp(key, "gemm.rt")) {
      rc = parse_long(val, 1, 64, &x);
      if (!rc) p->rt = (int)x;
    } else if (!strcmp(key, "gemm.ku")) {
      rc = parse_long(val, 1, 16, &x);
      if (!rc) p->ku = (int)x;
    } else if (!strcmp(key, "gemm.order")) {
      rc = parse_long(val, 0, 1, &x);
      if (!rc) p->order = (int)x + 1;
    } else if (!strcmp(key, "gemm.pack_min")) {
      rc = parse_long(val, 0, LONG_MAX, &x);
      if (!rc) p->pack_min = x;
    } else if (!strcmp(key, "clblast")) {
      /* "clblast = default": no CLBlast overrides (drops those of the built-in table) */
      rc = strcmp(val, "default") != 0;
      if (!rc) p->num_clblast = 0;
    } else if (!strncmp(key, "clblast.", 8)) {
      rc = parse_clblast(p, key + 8, val);
    } else {
      clnn__log(CLNN_LOG_DEBUG, "tuned parameters %s:%d: unknown key %s (ignored)", what, line_no, key);
    }
    if (rc) {
      bad++;
      clnn__log(CLNN_LOG_WARN, "tuned parameters %s:%d: bad value for %s: \"%s\" (line skipped)", what, line_no,
                key, val);
    }
  }
  return bad;
}

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = NULL;
  if (fseek(f, 0, SEEK_END) == 0) {
    long n = ftell(f);
    if (n >= 0 && n < (1L << 20) && fseek(f, 0, SEEK_SET) == 0) {
      buf = malloc((size_t)n + 1);
      if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) buf[n] = 0;
      else {
        free(buf);
        buf = NULL;
      }
    }
  }
  fclose(f);
  return buf;
}

static void defaults(tune_params *p) {
  memset(p, 0, sizeof *p);
  p->pack_min = 256;
  snprintf(p->source, sizeof p->source, "none");
}

static const builtin_entry *builtin_for(const clnn_device_info *info) {
  if (info->type != CLNN_DEVICE_CPU) return NULL;
  for (size_t i = 0; i < sizeof builtin_table / sizeof builtin_table[0]; i++) {
    const builtin_entry *e = &builtin_table[i];
    if (!strstr(info->platform_name, e->platform_substr)) continue;
    if (e->name_substr[0] && !strstr(info->name, e->name_substr)) continue;
    if (e->vw && info->preferred_vector_width_float != (unsigned)e->vw) continue;
#if !(defined(__x86_64__) || defined(_M_X64))
    continue; /* the table is for x86-64 hosts running PoCL's CPU device */
#endif
    return e;
  }
  return NULL;
}

static void resolve(const clnn_context *ctx, tune_params *p) {
  defaults(p);
  const char *env = getenv("CLNN_TUNE");
  if (env && (!strcmp(env, "off") || !strcmp(env, "OFF") || !strcmp(env, "0"))) {
    snprintf(p->source, sizeof p->source, "off (CLNN_TUNE=off)");
    return;
  }
  const builtin_entry *b = builtin_for(&ctx->info);
  if (b) {
    parse_text(p, b->text, b->label);
    snprintf(p->source, sizeof p->source, "built-in: %s", b->label);
  }
  char path[4096] = "";
  if (env && *env && strcmp(env, "builtin")) {
    snprintf(path, sizeof path, "%s", env);
  } else if ((!env || strcmp(env, "builtin")) && ctx->cache_dir) {
    char name[64];
    clnn_tune_file_name(&ctx->info, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", ctx->cache_dir, name);
  }
  if (path[0]) {
    char *text = read_text(path);
    if (text) {
      tune_params q = *p;
      if (parse_text(&q, text, path) >= 0) {
        *p = q;
        snprintf(p->source, sizeof p->source, "file: %.300s", path);
      }
      free(text);
    } else if (env && *env && strcmp(env, "builtin")) {
      clnn__log(CLNN_LOG_WARN, "CLNN_TUNE=%s: cannot read the file (%s); using %s", env, strerror(errno),
                p->source);
    }
  }
}

/* ---- per-context registry ---------------------------------------------------------------------- */

/* The context struct has no field for tuned parameters, so they are kept here, keyed by the
 * context's address. An entry is (re)written when a context is created, so a new context at a
 * freed context's address never sees stale parameters; lookups that miss (more live contexts
 * than slots) resolve again. */
#define REGISTRY_SLOTS 32
static struct {
  const clnn_context *ctx;
  unsigned long long stamp;
  tune_params p;
} registry[REGISTRY_SLOTS];
static unsigned long long registry_clock;
/* A spin lock (C11 atomics; no thread library needed): the critical sections are a few copies. */
static atomic_flag registry_flag = ATOMIC_FLAG_INIT;
static void registry_lock(void) {
  while (atomic_flag_test_and_set_explicit(&registry_flag, memory_order_acquire)) {
  }
}
static void registry_unlock(void) { atomic_flag_clear_explicit(&registry_flag, memory_order_release); }

static void registry_put(const clnn_context *ctx, const tune_params *p) {
  registry_lock();
  int slot = 0;
  for (int i = 0; i < REGISTRY_SLOTS; i++) {
    if (registry[i].ctx == ctx) {
      slot = i;
      break;
    }
    if (registry[i].stamp < registry[slot].stamp) slot = i;
  }
  registry[slot].ctx = ctx;
  registry[slot].stamp = ++registry_clock;
  registry[slot].p = *p;
  registry_unlock();
}

static void params_for(const clnn_context *ctx, tune_params *out) {
  registry_lock();
  for (int i = 0; i < REGISTRY_SLOTS; i++)
    if (registry[i].ctx == ctx) {
      registry[i].stamp = ++registry_clock;
      *out = registry[i].p;
      registry_unlock();
      return;
    }
  registry_unlock();
  resolve(ctx, out);
  registry_put(ctx, out);
}

/* ---- hooks ------------------------------------------------------------------------------------- */

void clnn__tune_apply_gemm(clnn_context *ctx) {
  tune_params p;
  resolve(ctx, &p);
  registry_put(ctx, &p);
  for (int i = 0; i < p.num_clblast; i++) {
    const char *names[MAX_CLBLAST_PARAMS];
    for (int j = 0; j < p.clblast[i].count; j++) names[j] = p.clblast[i].names[j];
    clnn_status s = clnn__gemm_clblast_override(ctx, p.clblast[i].kernel, (size_t)p.clblast[i].count, names,
                                                p.clblast[i].values);
    if (s != CLNN_SUCCESS)
      clnn__log(CLNN_LOG_WARN, "tuned CLBlast parameters for %s (%s) not applied: %s", p.clblast[i].kernel,
                p.source, clnn_last_error());
  }
  clnn__log(CLNN_LOG_DEBUG, "tuned parameters for %s: %s", ctx->info.name, p.source);
}

void clnn__tuned_program_options(const clnn_context *ctx, const char *program, char *buf, size_t size) {
  if (size) buf[0] = 0;
  if (strcmp(program, "gemm_cpu") != 0) return;
  tune_params p;
  params_for(ctx, &p);
  size_t n = 0;
#define ADD_OPT(name, v)                                                                \
  do {                                                                                  \
    if ((v) > 0 && n < size) {                                                          \
      int w = snprintf(buf + n, size - n, "%s-D%s=%d", n ? " " : "", name, (int)(v));  \
      if (w > 0) n += (size_t)w;                                                        \
    }                                                                                   \
  } while (0)
  ADD_OPT("GEMM_VW", p.vw);
  ADD_OPT("GEMM_MR", p.mr);
  ADD_OPT("GEMM_NV", p.nv);
  ADD_OPT("GEMM_MR_N", p.mr_n);
  ADD_OPT("GEMM_RT", p.rt);
  ADD_OPT("GEMM_KU", p.ku);
  if (p.order && n < size) { /* 0 is a value here, so it is stored plus one */
    int w = snprintf(buf + n, size - n, "%s-DGEMM_ORDER=%d", n ? " " : "", p.order - 1);
    if (w > 0) n += (size_t)w;
  }
#undef ADD_OPT
  if (n >= size && size) buf[0] = 0; /* truncated: better the kernel defaults than half an option */
}

const char *clnn__tune_source(const clnn_context *ctx) {
  static _Thread_local char src[sizeof((tune_params *)0)->source];
  tune_params p;
  params_for(ctx, &p);
  snprintf(src, sizeof src, "%s", p.source);
  return src;
}

void clnn__tune_describe(const clnn_context *ctx, char *buf, size_t size) {
  tune_params p;
  params_for(ctx, &p);
  int n = snprintf(buf, size, "%s; gemm %s", p.source,
                   p.own_gemm && ctx->device_class == CLNN_DEVICE_CLASS_CPU ? "clnn-cpu" : "clblast");
  if (n < 0 || (size_t)n >= size) return;
  if (p.own_gemm)
    n += snprintf(buf + n, size - (size_t)n,
                  " (vw %d, %dx%d vectors, narrow %dx1, rt %d, ku %d, order %d, pack from %ld rows)", p.vw ? p.vw : 16,
                  p.mr ? p.mr : 6, p.nv ? p.nv : 2, p.mr_n ? p.mr_n : 12, p.rt ? p.rt : 1, p.ku ? p.ku : 2,
                  p.order ? p.order - 1 : 0, p.pack_min);
  for (int i = 0; i < p.num_clblast && n >= 0 && (size_t)n < size; i++)
    n += snprintf(buf + n, size - (size_t)n, "; CLBlast %s overridden (%d parameters)", p.clblast[i].kernel,
                  p.clblast[i].count);
}

/* ---- clnn's own GEMM ---------------------------------------------------------------------------- */

static int fits_int(size_t v) { return v <= (size_t)INT_MAX; }

/* Packs Y [K x cols] (Y(k, c) = S[off + k*ld + c], or S[off + c*ld + k] when trans) into panels of
 * nr columns, in the context's GEMM workspace (slot 6): it grows to the largest operand packed and
 * is reused, so steady-state GEMMs do not allocate. The queue is in order, so the next GEMM's
 * packing waits for this GEMM to have read it. */
static clnn_status pack(clnn_context *ctx, size_t K, size_t cols, int nr, int trans, cl_mem s, size_t off,
                        size_t ld, size_t stride, size_t batch, cl_mem *out, size_t *per_batch) {
  size_t panels = (cols + (size_t)nr - 1) / (size_t)nr;
  size_t pb_floats = panels * K * (size_t)nr;
  size_t nb = stride == 0 ? 1 : batch; /* a shared operand is packed once */
  int ok = 1;
  size_t bytes = clnn__mul_size(clnn__mul_size(pb_floats, nb, &ok), sizeof(float), &ok);
  if (!ok || bytes > ctx->info.max_alloc_bytes)
    return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "gemm: packed operand of %zu floats too large", pb_floats * nb);
  cl_mem p = NULL;
  clnn_status ws = clnn__workspace(ctx, 6, bytes, &p);
  if (ws != CLNN_SUCCESS) return ws;
  size_t global[3] = {panels, (K + 15) / 16, nb};
  const size_t local[3] = {1, 1, 1};
  clnn_status st = CLNN_RUN(ctx, "gemm_cpu", "gemm_pack", 3, global, local, CLNN_ARG_INT(K), CLNN_ARG_INT(cols),
                            CLNN_ARG_INT(nr), CLNN_ARG_INT(trans), CLNN_ARG_MEM(s), CLNN_ARG_LONG(off),
                            CLNN_ARG_INT(ld), CLNN_ARG_LONG(stride), CLNN_ARG_MEM(p),
                            CLNN_ARG_LONG(stride == 0 ? 0 : pb_floats));
  if (st != CLNN_SUCCESS) return st;
  *out = p;
  *per_batch = stride == 0 ? 0 : pb_floats;
  return CLNN_SUCCESS;
}

/* The kernel the last clnn__own_gemm call on this thread launched (a test hook: its name says
 * the orientation, "_cn_" or "_ct_"). */
static _Thread_local char last_kernel[32] = "none";
const char *clnn__own_gemm_last_kernel(void) { return last_kernel; }

int clnn__own_gemm(clnn_context *ctx, int ta, int tb, size_t m, size_t n, size_t k, float alpha, cl_mem a,
                   size_t a_off, size_t lda, size_t a_stride, cl_mem b, size_t b_off, size_t ldb,
                   size_t b_stride, float beta, cl_mem c, size_t c_off, size_t ldc, size_t c_stride,
                   size_t batch, clnn_status *status) {
  if (ctx->device_class != CLNN_DEVICE_CLASS_CPU) return 0;
  tune_params p;
  params_for(ctx, &p);
  if (!p.own_gemm) return 0;
  if (!fits_int(m) || !fits_int(n) || !fits_int(k) || !fits_int(lda) || !fits_int(ldb) || !fits_int(ldc) ||
      !fits_int(batch))
    return 0; /* CLBlast takes what does not fit the kernels' int arguments */
  const int vw = p.vw ? p.vw : 16, nv = p.nv ? p.nv : 2, mr = p.mr ? p.mr : 6, mr_n = p.mr_n ? p.mr_n : 12;
  const int rt = p.rt ? p.rt : 1;
  const size_t nr_w = (size_t)(vw * nv), nr_n = (size_t)vw;

  /* Orientation. Normal: P = C, X = op(A) (rows m), Y = op(B) (cols n), Y in place when tb == 0.
   * Transposed: P = C^T, X = op(B)^T (rows n), Y = op(A)^T (cols m), in place when ta == 1.
   * Cost in floats moved besides the product itself: packing Y (K*cols), and for the transposed
   * orientation the element-wise stores of C (counted as 2 per element). */
  int transposed;
  {
    double kd = (double)k, md = (double)m, nd = (double)n;
    double cost_n = (tb || md >= (double)p.pack_min || n < nr_n) ? kd * nd : 0.0;
    double cost_t = ((!ta || nd >= (double)p.pack_min || m < nr_n) ? kd * md : 0.0) + 2.0 * md * nd;
    /* few columns waste vector lanes: prefer the orientation whose vectors run along the longer side */
    if (n < nr_n && m >= nr_n) cost_n += kd * md;
    if (m < nr_n && n >= nr_n) cost_t += kd * nd;
    transposed = cost_t < cost_n;
  }
  size_t rows, cols;
  int x_k_contig, y_trans, y_inplace;
  cl_mem X, Y;
  size_t x_off, ldx, x_bs, y_off, ldy, y_bs;
  if (!transposed) {
    rows = m;
    cols = n;
    X = a; x_off = a_off; ldx = lda; x_bs = a_stride;
    x_k_contig = !ta;
    Y = b; y_off = b_off; ldy = ldb; y_bs = b_stride;
    y_trans = tb;
    y_inplace = !tb && (long)m < p.pack_min;
  } else {
    rows = n;
    cols = m;
    X = b; x_off = b_off; ldx = ldb; x_bs = b_stride;
    x_k_contig = tb;
    Y = a; y_off = a_off; ldy = lda; y_bs = a_stride;
    y_trans = !ta;
    y_inplace = ta && (long)n < p.pack_min;
  }
  /* width: narrow kernels when the product has fewer columns than a wide panel */
  const int wide = cols >= nr_w;
  const size_t nr = wide ? nr_w : nr_n;
  const int prows = wide ? mr : mr_n;
  if (y_inplace && cols < nr) y_inplace = 0; /* the shifted edge panel needs cols >= nr */

  cl_mem packed = NULL;
  size_t y_ps = 0, y_rs;
  if (!y_inplace) {
    size_t per = 0;
    clnn_status st = pack(ctx, k, cols, (int)nr, y_trans, Y, y_off, ldy, y_bs, batch, &packed, &per);
    if (st != CLNN_SUCCESS) {
      *status = st;
      return 1;
    }
    Y = packed;
    y_off = 0;
    y_rs = nr;
    y_ps = k * nr;
    y_bs = per;
  } else {
    y_rs = ldy;
  }
  char kname[32];
  snprintf(kname, sizeof kname, "gemm_%s_%s_%s", x_k_contig ? "xk" : "xr", transposed ? "ct" : "cn",
           wide ? "w" : "n");
  memcpy(last_kernel, kname, sizeof last_kernel);
  size_t row_groups = (rows + (size_t)(prows * rt) - 1) / (size_t)(prows * rt);
  /* order 0: row groups fastest, so consecutive work-groups (which PoCL hands to a thread in runs)
   * share one panel of Y, which stays in the core's L2 while X streams past it */
  const size_t panels = (cols + nr - 1) / nr;
  size_t global[3] = {row_groups, panels, batch};
  if (p.order == 2) {
    global[0] = panels;
    global[1] = row_groups;
  }
  const size_t local[3] = {1, 1, 1};
  clnn_status st = CLNN_RUN(ctx, "gemm_cpu", kname, 3, global, local, CLNN_ARG_INT(rows), CLNN_ARG_INT(cols),
                            CLNN_ARG_INT(k), CLNN_ARG_FLOAT(alpha), CLNN_ARG_FLOAT(beta), CLNN_ARG_MEM(X),
                            CLNN_ARG_LONG(x_off), CLNN_ARG_INT(ldx), CLNN_ARG_LONG(x_bs), CLNN_ARG_MEM(Y),
                            CLNN_ARG_LONG(y_off), CLNN_ARG_INT(y_rs), CLNN_ARG_LONG(y_ps), CLNN_ARG_LONG(y_bs),
                            CLNN_ARG_INT(y_inplace), CLNN_ARG_MEM(c), CLNN_ARG_LONG(c_off), CLNN_ARG_INT(ldc),
                            CLNN_ARG_LONG(c_stride));
  *status = st; /* `packed` is the context's workspace: nothing to release */
  return 1;
}
