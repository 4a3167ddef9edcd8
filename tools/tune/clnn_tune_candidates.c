/* tools/tune/clnn_tune_candidates.c — clnn-tune's candidates (clnn_tune_candidates.h): writing
 * and describing a candidate, CLBlast's parameter constraints, random CLBlast candidates, the
 * register budget of clnn's own GEMM tiles. */
#include "clnn_tune_candidates.h"

#include <string.h>

static uint64_t rng = 0x243F6A8885A308D3ULL;
uint64_t tune_next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

const char *const tune_xgemm_names[X_COUNT] = {"GEMMK", "KREG", "KWG", "KWI", "MDIMA", "MDIMC",
                                               "MWG", "NDIMB", "NDIMC", "NWG", "SA", "SB",
                                               "STRM", "STRN", "VWM", "VWN"};
const char *const tune_direct_names[D_COUNT] = {"KWID", "MDIMAD", "MDIMCD", "NDIMBD", "NDIMCD",
                                                "PADA", "PADB", "VWMD", "VWND", "WGD"};

void tune_write_params(FILE *f, const candidate *c, int with_own) {
  if (!c->has_xgemm && !c->has_direct && c->min_indirect < 0) fprintf(f, "clblast = default\n");
  if (!with_own) {
  } else if (c->own) {
    fprintf(f, "gemm.own = 1\ngemm.vw = %d\ngemm.mr = %d\ngemm.nv = %d\ngemm.mr_n = %d\ngemm.rt = %d\ngemm.ku = %d\n"
               "gemm.pack_min = %ld\ngemm.order = %d\n",
            c->o.vw, c->o.mr, c->o.nv, c->o.mr_n, c->o.rt, c->o.ku, c->o.pack_min, c->o.order);
  } else {
    fprintf(f, "gemm.own = 0\n");
  }
  if (c->has_xgemm) {
    fprintf(f, "clblast.Xgemm =");
    for (int i = 0; i < X_COUNT; i++) fprintf(f, " %s=%d", tune_xgemm_names[i], c->x[i]);
    fprintf(f, "\n");
  }
  if (c->has_direct) {
    fprintf(f, "clblast.XgemmDirect =");
    for (int i = 0; i < D_COUNT; i++) fprintf(f, " %s=%d", tune_direct_names[i], c->d[i]);
    fprintf(f, "\n");
  }
  if (c->min_indirect >= 0) fprintf(f, "clblast.GemmRoutine = XGEMM_MIN_INDIRECT_SIZE=%ld\n", c->min_indirect);
}

void tune_describe(const candidate *c, char *buf, size_t size) {
  size_t n = 0;
  buf[0] = 0;
  if (c->own)
    n += (size_t)snprintf(buf + n, size - n, "clnn vw %d mr %d nv %d mr_n %d rt %d ku %d pack_min %ld order %d",
                          c->o.vw, c->o.mr, c->o.nv, c->o.mr_n, c->o.rt, c->o.ku, c->o.pack_min, c->o.order);
  else
    n += (size_t)snprintf(buf + n, size - n, "clblast");
  if (c->has_xgemm && n < size)
    n += (size_t)snprintf(buf + n, size - n, " Xgemm MWG %d NWG %d KWG %d MDIMC %d NDIMC %d MDIMA %d NDIMB %d KWI %d "
                                             "VWM %d VWN %d SA %d SB %d STRM %d STRN %d",
                          c->x[X_MWG], c->x[X_NWG], c->x[X_KWG], c->x[X_MDIMC], c->x[X_NDIMC], c->x[X_MDIMA],
                          c->x[X_NDIMB], c->x[X_KWI], c->x[X_VWM], c->x[X_VWN], c->x[X_SA], c->x[X_SB], c->x[X_STRM],
                          c->x[X_STRN]);
  if (c->has_direct && n < size)
    n += (size_t)snprintf(buf + n, size - n, " Direct WGD %d MDIMCD %d NDIMCD %d MDIMAD %d NDIMBD %d KWID %d VWMD %d "
                                             "VWND %d PADA %d PADB %d",
                          c->d[D_WGD], c->d[D_MDIMCD], c->d[D_NDIMCD], c->d[D_MDIMAD], c->d[D_NDIMBD], c->d[D_KWID],
                          c->d[D_VWMD], c->d[D_VWND], c->d[D_PADA], c->d[D_PADB]);
  if (c->min_indirect >= 0 && n < size) snprintf(buf + n, size - n, " min_indirect %ld", c->min_indirect);
}

/* CLBlast's own tuner constraints (src/tuning/kernels/xgemm.hpp, xgemm_direct.hpp), plus local
 * memory and work-group size limits of the device. */
int tune_xgemm_valid(const int *x, const clnn_device_info *info) {
  if (x[X_KWG] % x[X_KWI]) return 0;
  if (x[X_MWG] % (x[X_MDIMC] * x[X_VWM]) || x[X_NWG] % (x[X_NDIMC] * x[X_VWN])) return 0;
  if (x[X_MWG] % (x[X_MDIMA] * x[X_VWM]) || x[X_NWG] % (x[X_NDIMB] * x[X_VWN])) return 0;
  if ((x[X_MDIMC] * x[X_NDIMC]) % x[X_MDIMA] || (x[X_MDIMC] * x[X_NDIMC]) % x[X_NDIMB]) return 0;
  if (x[X_KWG] % ((x[X_MDIMC] * x[X_NDIMC]) / x[X_MDIMA]) || x[X_KWG] % ((x[X_MDIMC] * x[X_NDIMC]) / x[X_NDIMB]))
    return 0;
  if ((size_t)(x[X_MDIMC] * x[X_NDIMC]) > info->max_work_group_size) return 0;
  uint64_t local = 4ull * (uint64_t)(x[X_SA] * x[X_KWG] * x[X_MWG] + x[X_SB] * x[X_KWG] * x[X_NWG]);
  return local <= info->local_mem_bytes;
}
int tune_direct_valid(const int *d, const clnn_device_info *info) {
  if (d[D_WGD] % d[D_KWID]) return 0;
  if (d[D_WGD] % (d[D_MDIMCD] * d[D_VWMD]) || d[D_WGD] % (d[D_NDIMCD] * d[D_VWND])) return 0;
  if (d[D_WGD] % (d[D_MDIMAD] * d[D_VWMD]) || d[D_WGD] % (d[D_NDIMBD] * d[D_VWND])) return 0;
  if ((d[D_MDIMCD] * d[D_NDIMCD]) % d[D_MDIMAD] || (d[D_MDIMCD] * d[D_NDIMCD]) % d[D_NDIMBD]) return 0;
  if (d[D_WGD] % ((d[D_MDIMCD] * d[D_NDIMCD]) / d[D_MDIMAD]) || d[D_WGD] % ((d[D_MDIMCD] * d[D_NDIMCD]) / d[D_NDIMBD]))
    return 0;
  if ((size_t)(d[D_MDIMCD] * d[D_NDIMCD]) > info->max_work_group_size) return 0;
  uint64_t local = 4ull * (uint64_t)(d[D_WGD] * (d[D_WGD] + d[D_PADA]) + d[D_WGD] * (d[D_WGD] + d[D_PADB]));
  return local <= info->local_mem_bytes;
}

static int pick(const int *v, int n) { return v[tune_next_rand() % (uint64_t)n]; }

void tune_random_xgemm(int *x, const clnn_device_info *info) {
  static const int wg[] = {16, 32, 64, 128}, kwg[] = {16, 32}, dim[] = {8, 16, 32}, kwi[] = {2, 8},
                   vw[] = {1, 2, 4, 8}, bit[] = {0, 1};
  for (int tries = 0; tries < 100000; tries++) {
    x[X_GEMMK] = 0;
    x[X_KREG] = 1;
    x[X_MWG] = pick(wg, 4);
    x[X_NWG] = pick(wg, 4);
    x[X_KWG] = pick(kwg, 2);
    x[X_MDIMC] = pick(dim, 3);
    x[X_NDIMC] = pick(dim, 3);
    x[X_MDIMA] = pick(dim, 3);
    x[X_NDIMB] = pick(dim, 3);
    x[X_KWI] = pick(kwi, 2);
    x[X_VWM] = pick(vw, 4);
    x[X_VWN] = pick(vw, 4);
    x[X_SA] = pick(bit, 2);
    x[X_SB] = pick(bit, 2);
    x[X_STRM] = pick(bit, 2);
    x[X_STRN] = pick(bit, 2);
    if (tune_xgemm_valid(x, info)) return;
  }
}
void tune_random_direct(int *d, const clnn_device_info *info) {
  static const int wgd[] = {8, 16, 32, 64}, dim[] = {8, 16, 32}, kwid[] = {2, 8, 16}, vw[] = {1, 2, 4, 8}, bit[] = {0, 1};
  for (int tries = 0; tries < 100000; tries++) {
    d[D_WGD] = pick(wgd, 4);
    d[D_MDIMCD] = d[D_NDIMCD] = pick(dim, 3);
    d[D_MDIMAD] = d[D_NDIMBD] = pick(dim, 3);
    d[D_KWID] = pick(kwid, 3);
    d[D_VWMD] = pick(vw, 4);
    d[D_VWND] = pick(vw, 4);
    d[D_PADA] = pick(bit, 2);
    d[D_PADB] = pick(bit, 2);
    if (tune_direct_valid(d, info)) return;
  }
}

int tune_own_regs(const clnn_device_info *info) {
  /* vector registers the tiles may fill: 32 with AVX-512 (and on AArch64), 16 with AVX2/SSE */
  if (strstr(info->name, "avx512") || strstr(info->name, "AVX512")) return 32;
  if (strstr(info->name, "x86") || strstr(info->name, "haswell") || strstr(info->name, "skylake") ||
      strstr(info->name, "zen") || info->preferred_vector_width_float == 8)
    return 16;
  return 32;
}
int tune_own_fits(const own_params *p, int regs) {
  return p->mr * p->nv + p->nv + 1 <= regs && p->mr_n + 2 <= regs && p->mr >= 1 && p->nv >= 1 && p->mr_n >= 1;
}
