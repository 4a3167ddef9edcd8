/* src/gemm/tune_config.c — tuned GEMM parameters: the built-in table, the parser of tuned files
 * ("key = value" lines, as clnn-tune writes them: GEMM tiles, CLBlast overrides and conv.igemm,
 * the GPU class's choice of convolution forward pass), resolution for a device (see tune_config.h for
 * the order), the kernel build options and the one-line description they give.
 *
 * Resolution runs once per context, at creation (src/runtime/context.c), and the result lives in
 * the context; nothing here knows contexts or GEMM calls. The built-in table holds the results of
 * clnn-tune on PoCL for x86-64 CPUs, so a fresh install on such a machine is fast untuned. */
#define _POSIX_C_SOURCE 200809L
#include "gemm/tune_config.h"

#include "internal.h" /* clnn__log only */

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CLBLAST_KERNELS CLNN_TUNE_MAX_CLBLAST_KERNELS
#define MAX_CLBLAST_PARAMS CLNN_TUNE_MAX_CLBLAST_PARAMS
typedef clnn__clblast_set clblast_set;
typedef clnn__tune_params tune_params;

static atomic_uint_fast64_t file_reads;
uint64_t clnn__tune_file_reads(void) { return (uint64_t)atomic_load(&file_reads); }

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
    } else if (!strcmp(key, "gemm.pack_min_k")) {
      rc = parse_long(val, 0, LONG_MAX, &x);
      if (!rc) p->pack_min_k = x;
    } else if (!strcmp(key, "conv.igemm")) {
      rc = parse_long(val, 0, 1, &x);
      if (!rc) p->conv_igemm = (int)x;
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
  atomic_fetch_add(&file_reads, 1);
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
  p->pack_min_k = 257;
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

/* $CLNN_CONV_IGEMM (an override for testing: 1 on, 0 off) over conv.igemm, read once here so
 * that no convolution looks it up. */
static void conv_igemm_override(tune_params *p) {
  const char *v = getenv("CLNN_CONV_IGEMM");
  if (v && !strcmp(v, "1")) p->conv_igemm = 1;
  if (v && !strcmp(v, "0")) p->conv_igemm = 0;
}

static void resolve(const clnn_device_info *info, const char *cache_dir, tune_params *p);

void clnn__tune_resolve(const clnn_device_info *info, const char *cache_dir, tune_params *p) {
  resolve(info, cache_dir, p);
  conv_igemm_override(p);
}

static void resolve(const clnn_device_info *info, const char *cache_dir, tune_params *p) {
  defaults(p);
  const char *env = getenv("CLNN_TUNE");
  if (env && (!strcmp(env, "off") || !strcmp(env, "OFF") || !strcmp(env, "0"))) {
    snprintf(p->source, sizeof p->source, "off (CLNN_TUNE=off)");
    return;
  }
  const builtin_entry *b = builtin_for(info);
  if (b) {
    parse_text(p, b->text, b->label);
    snprintf(p->source, sizeof p->source, "built-in: %s", b->label);
  }
  char path[4096] = "";
  if (env && *env && strcmp(env, "builtin")) {
    snprintf(path, sizeof path, "%s", env);
  } else if ((!env || strcmp(env, "builtin")) && cache_dir) {
    char name[64];
    clnn_tune_file_name(info, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", cache_dir, name);
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


/* ---- what the parameters give ------------------------------------------------------------------ */

void clnn__tune_program_options(const tune_params *p, const char *program, char *buf, size_t size) {
  if (size) buf[0] = 0;
  if (strcmp(program, "gemm_cpu") != 0) return;
  size_t n = 0;
#define ADD_OPT(name, v)                                                                \
  do {                                                                                  \
    if ((v) > 0 && n < size) {                                                          \
      int w = snprintf(buf + n, size - n, "%s-D%s=%d", n ? " " : "", name, (int)(v));  \
      if (w > 0) n += (size_t)w;                                                        \
    }                                                                                   \
  } while (0)
  ADD_OPT("GEMM_VW", p->vw);
  ADD_OPT("GEMM_MR", p->mr);
  ADD_OPT("GEMM_NV", p->nv);
  ADD_OPT("GEMM_MR_N", p->mr_n);
  ADD_OPT("GEMM_RT", p->rt);
  ADD_OPT("GEMM_KU", p->ku);
  if (p->order && n < size) { /* 0 is a value here, so it is stored plus one */
    int w = snprintf(buf + n, size - n, "%s-DGEMM_ORDER=%d", n ? " " : "", p->order - 1);
    if (w > 0) n += (size_t)w;
  }
#undef ADD_OPT
  if (n >= size && size) buf[0] = 0; /* truncated: better the kernel defaults than half an option */
}

void clnn__tune_describe_params(const tune_params *p, int own_gemm_runs, char *buf, size_t size) {
  int n = snprintf(buf, size, "%s; gemm %s", p->source, own_gemm_runs ? "clnn-cpu" : "clblast");
  if (n < 0 || (size_t)n >= size) return;
  if (p->own_gemm)
    n += snprintf(buf + n, size - (size_t)n,
                  " (vw %d, %dx%d vectors, narrow %dx1, rt %d, ku %d, order %d, pack from %ld rows and k %ld)",
                  p->vw ? p->vw : 16, p->mr ? p->mr : 6, p->nv ? p->nv : 2, p->mr_n ? p->mr_n : 12,
                  p->rt ? p->rt : 1, p->ku ? p->ku : 2, p->order ? p->order - 1 : 0, p->pack_min,
                  p->pack_min_k);
  for (int i = 0; i < p->num_clblast && n >= 0 && (size_t)n < size; i++)
    n += snprintf(buf + n, size - (size_t)n, "; CLBlast %s overridden (%d parameters)", p->clblast[i].kernel,
                  p->clblast[i].count);
  if (n >= 0 && (size_t)n < size)
    snprintf(buf + n, size - (size_t)n, "; conv forward %s", p->conv_igemm ? "implicit-gemm (gpu class)" : "im2col");
}
