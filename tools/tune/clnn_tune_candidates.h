/* tools/tune/clnn_tune_candidates.h — clnn-tune's candidates: the parameter sets it tries for
 * clnn's own CPU GEMM (own_params) and for CLBlast's Xgemm / XgemmDirect kernels, how a candidate
 * is written to a tuned file and described in a line, CLBlast's validity constraints, the random
 * CLBlast candidates, and the register budget of clnn's GEMM tiles. The random source is one
 * xorshift sequence shared with the tool's test data (tune_next_rand), so a run is repeatable. */
#ifndef CLNN_TUNE_CANDIDATES_H
#define CLNN_TUNE_CANDIDATES_H

#include "clnn.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct own_params {
  int vw, mr, nv, mr_n, rt, ku;
  long pack_min;
  int order;
} own_params;

enum { X_GEMMK, X_KREG, X_KWG, X_KWI, X_MDIMA, X_MDIMC, X_MWG, X_NDIMB, X_NDIMC, X_NWG, X_SA, X_SB, X_STRM, X_STRN,
       X_VWM, X_VWN, X_COUNT };
enum { D_KWID, D_MDIMAD, D_MDIMCD, D_NDIMBD, D_NDIMCD, D_PADA, D_PADB, D_VWMD, D_VWND, D_WGD, D_COUNT };

typedef struct candidate {
  int own;                 /* 1: clnn's GEMM with `o`; 0: CLBlast (forced) */
  own_params o;
  int has_xgemm, has_direct;
  int x[X_COUNT], d[D_COUNT];
  long min_indirect;       /* GemmRoutine XGEMM_MIN_INDIRECT_SIZE; < 0: not set */
} candidate;

extern const char *const tune_xgemm_names[X_COUNT], *const tune_direct_names[D_COUNT];

/* The next number of the tool's xorshift sequence (fixed seed). */
uint64_t tune_next_rand(void);

/* Writes the candidate's keys to a tuned file; with_own: also the gemm.* keys (gemm.own = 0 for a
 * CLBlast candidate). */
void tune_write_params(FILE *f, const candidate *c, int with_own);
/* The candidate's parameters in one line. */
void tune_describe(const candidate *c, char *buf, size_t size);

/* CLBlast's constraints on Xgemm / XgemmDirect parameters, plus the device's local memory and
 * work-group size; 1 when they hold. */
int tune_xgemm_valid(const int *x, const clnn_device_info *info);
int tune_direct_valid(const int *d, const clnn_device_info *info);
/* A random valid parameter set (left at the last one tried if none is found in 100000 draws). */
void tune_random_xgemm(int *x, const clnn_device_info *info);
void tune_random_direct(int *d, const clnn_device_info *info);

/* Vector registers clnn's GEMM tiles may fill on this device, and whether `p` fits them. */
int tune_own_regs(const clnn_device_info *info);
int tune_own_fits(const own_params *p, int regs);

#endif /* CLNN_TUNE_CANDIDATES_H */
