/* src/runtime/device.c — finds every platform and device the OpenCL ICD loader exposes, describes
 * them (clnn_device_info), ranks them (GPU > accelerator > CPU, then estimated peak) and resolves
 * selection strings ("P:D", a type, or a name substring) for CLNN_DEVICE and the API. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PLATFORMS 16
#define MAX_DEVICES_PER_PLATFORM 64

typedef struct found_device {
  cl_platform_id platform;
  cl_device_id device;
  int p, d;
} found_device;

/* Lists every device; returns the count (0 when none). */
static int list_devices(found_device *out, int max) {
  cl_platform_id plats[MAX_PLATFORMS];
  cl_uint np = 0;
  if (clGetPlatformIDs(MAX_PLATFORMS, plats, &np) != CL_SUCCESS) return 0;
  if (np > MAX_PLATFORMS) np = MAX_PLATFORMS;
  int n = 0;
  for (cl_uint p = 0; p < np; p++) {
    cl_device_id devs[MAX_DEVICES_PER_PLATFORM];
    cl_uint nd = 0;
    if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, MAX_DEVICES_PER_PLATFORM, devs, &nd) != CL_SUCCESS)
      continue;
    if (nd > MAX_DEVICES_PER_PLATFORM) nd = MAX_DEVICES_PER_PLATFORM;
    for (cl_uint d = 0; d < nd && n < max; d++) {
      out[n].platform = plats[p];
      out[n].device = devs[d];
      out[n].p = (int)p;
      out[n].d = (int)d;
      n++;
    }
  }
  return n;
}

static void get_str(cl_device_id dev, cl_device_info what, char *buf, size_t size) {
  buf[0] = 0;
  size_t need = 0;
  if (clGetDeviceInfo(dev, what, 0, NULL, &need) != CL_SUCCESS || need == 0) return;
  char *tmp = malloc(need + 1);
  if (!tmp) return;
  if (clGetDeviceInfo(dev, what, need, tmp, NULL) == CL_SUCCESS) {
    tmp[need] = 0;
    snprintf(buf, size, "%s", tmp); /* truncates long strings */
  }
  free(tmp);
  /* trim trailing spaces some drivers leave */
  size_t n = strlen(buf);
  while (n > 0 && isspace((unsigned char)buf[n - 1])) buf[--n] = 0;
}

void clnn__describe_device(cl_platform_id platform, cl_device_id dev, clnn_device_info *info) {
  clnn_device_info_init(info);
  info->platform_index = -1;
  info->device_index = -1;
  if (platform) {
    clGetPlatformInfo(platform, CL_PLATFORM_NAME, sizeof info->platform_name, info->platform_name, NULL);
    info->platform_name[sizeof info->platform_name - 1] = 0;
  }
  get_str(dev, CL_DEVICE_NAME, info->name, sizeof info->name);
  get_str(dev, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
  get_str(dev, CL_DRIVER_VERSION, info->driver_version, sizeof info->driver_version);
  get_str(dev, CL_DEVICE_OPENCL_C_VERSION, info->opencl_c_version, sizeof info->opencl_c_version);
  get_str(dev, CL_DEVICE_VERSION, info->device_version, sizeof info->device_version);
  cl_device_type t = 0;
  clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof t, &t, NULL);
  /* Classify by CL_DEVICE_TYPE only, never by vendor id (PoCL reports 0x8086 on AMD CPUs). */
  info->type = (t & CL_DEVICE_TYPE_GPU)           ? CLNN_DEVICE_GPU
               : (t & CL_DEVICE_TYPE_ACCELERATOR) ? CLNN_DEVICE_ACCELERATOR
               : (t & CL_DEVICE_TYPE_CPU)         ? CLNN_DEVICE_CPU
                                                  : CLNN_DEVICE_OTHER;
  cl_uint u = 0;
  clGetDeviceInfo(dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof u, &u, NULL);
  info->compute_units = u;
  u = 0;
  clGetDeviceInfo(dev, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof u, &u, NULL);
  info->clock_mhz = u;
  u = 0;
  clGetDeviceInfo(dev, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, sizeof u, &u, NULL);
  info->preferred_vector_width_float = u;
  cl_ulong l = 0;
  clGetDeviceInfo(dev, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof l, &l, NULL);
  info->global_mem_bytes = l;
  l = 0;
  clGetDeviceInfo(dev, CL_DEVICE_LOCAL_MEM_SIZE, sizeof l, &l, NULL);
  info->local_mem_bytes = l;
  l = 0;
  clGetDeviceInfo(dev, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof l, &l, NULL);
  info->max_alloc_bytes = l;
  size_t wg = 0;
  clGetDeviceInfo(dev, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
  info->max_work_group_size = wg;
  cl_bool b = CL_FALSE;
  clGetDeviceInfo(dev, CL_DEVICE_COMPILER_AVAILABLE, sizeof b, &b, NULL);
  info->compiler_available = b ? 1 : 0;
  size_t ext_size = 0;
  if (clGetDeviceInfo(dev, CL_DEVICE_EXTENSIONS, 0, NULL, &ext_size) == CL_SUCCESS && ext_size) {
    char *ext = malloc(ext_size + 1);
    if (ext && clGetDeviceInfo(dev, CL_DEVICE_EXTENSIONS, ext_size, ext, NULL) == CL_SUCCESS) {
      ext[ext_size] = 0;
      info->fp16 = strstr(ext, "cl_khr_fp16") != NULL;
      info->fp64 = strstr(ext, "cl_khr_fp64") != NULL;
    }
    free(ext);
  }
  unsigned vw = info->preferred_vector_width_float ? info->preferred_vector_width_float : 1;
  /* A GPU's compute unit runs many lanes; the preferred vector width says little there. Use a
   * lane estimate per compute unit by type (documented in clnn-info): GPU 64 lanes/CU (a
   * conservative figure across vendors), CPU and others the float vector width. */
  double lanes = info->type == CLNN_DEVICE_GPU ? 64.0 : (double)vw;
  info->est_peak_gflops = (double)info->compute_units * (double)info->clock_mhz * lanes * 2.0 / 1000.0;
}

static int type_rank(clnn_device_type t) {
  switch (t) {
    case CLNN_DEVICE_GPU: return 3;
    case CLNN_DEVICE_ACCELERATOR: return 2;
    case CLNN_DEVICE_CPU: return 1;
    default: return 0;
  }
}

clnn_status clnn_device_count(int *count) {
  if (!count) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_device_count: count is NULL");
  found_device devs[MAX_PLATFORMS * 8];
  *count = list_devices(devs, (int)(sizeof devs / sizeof devs[0]));
  if (*count == 0)
    return clnn__error(CLNN_ERROR_NO_DEVICE,
                       "no OpenCL device found: the ICD loader lists no platform with a device "
                       "(install a driver such as pocl-opencl-icd, or check /etc/OpenCL/vendors "
                       "and OCL_ICD_VENDORS)");
  return CLNN_SUCCESS;
}

clnn_status clnn__device_lookup(int index, cl_platform_id *platform, cl_device_id *device,
                                clnn_device_info *info) {
  found_device devs[MAX_PLATFORMS * 8];
  int n = list_devices(devs, (int)(sizeof devs / sizeof devs[0]));
  if (n == 0) {
    int c;
    return clnn_device_count(&c);
  }
  if (index < 0 || index >= n)
    return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "device index %d out of range (0..%d)", index, n - 1);
  if (platform) *platform = devs[index].platform;
  if (device) *device = devs[index].device;
  if (info) {
    clnn__describe_device(devs[index].platform, devs[index].device, info);
    info->platform_index = devs[index].p;
    info->device_index = devs[index].d;
  }
  return CLNN_SUCCESS;
}

void clnn_device_info_init(clnn_device_info *info) {
  if (!info) return;
  memset(info, 0, sizeof *info);
  info->struct_size = (uint32_t)sizeof *info;
}

clnn_status clnn_device_get_info(int index, clnn_device_info *info) {
  static const char fn[] = "clnn_device_get_info";
  if (!info) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "%s: info is NULL", fn);
  uint32_t size;
  clnn_status s = clnn__struct_check(CLNN__DEVICE_INFO, fn, "info", info, &size);
  if (s != CLNN_SUCCESS) return s;
  clnn_device_info full;
  if ((s = clnn__device_lookup(index, NULL, NULL, &full)) != CLNN_SUCCESS) return s;
  clnn__struct_out(info, &full, size);
  return CLNN_SUCCESS;
}

static int ci_contains(const char *hay, const char *needle) {
  size_t nl = strlen(needle);
  for (const char *h = hay; *h; h++) {
    size_t i = 0;
    while (i < nl && h[i] && tolower((unsigned char)h[i]) == tolower((unsigned char)needle[i])) i++;
    if (i == nl) return 1;
  }
  return nl == 0;
}

/* Better device first: type rank, then estimated peak, then enumeration order. */
static int better(const clnn_device_info *a, const clnn_device_info *b) {
  if (type_rank(a->type) != type_rank(b->type)) return type_rank(a->type) > type_rank(b->type);
  return a->est_peak_gflops > b->est_peak_gflops;
}

static const char *type_name(clnn_device_type t) {
  switch (t) {
    case CLNN_DEVICE_GPU: return "GPU";
    case CLNN_DEVICE_CPU: return "CPU";
    case CLNN_DEVICE_ACCELERATOR: return "accelerator";
    default: return "other";
  }
}

clnn_status clnn_device_select(const char *selection, int *index, char *reason, size_t reason_size) {
  if (!index) return clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "clnn_device_select: index is NULL");
  int n = 0;
  clnn_status s = clnn_device_count(&n);
  if (s != CLNN_SUCCESS) return s;
  clnn_device_info *infos = calloc((size_t)n, sizeof *infos);
  if (!infos) return clnn__error(CLNN_ERROR_OUT_OF_MEMORY, "clnn_device_select: out of host memory");
  for (int i = 0; i < n; i++) clnn__device_lookup(i, NULL, NULL, &infos[i]);

  const char *sel = selection;
  while (sel && isspace((unsigned char)*sel)) sel++;
  int best = -1;
  char why[256] = "";
  if (!sel || !*sel) {
    for (int i = 0; i < n; i++)
      if (best < 0 || better(&infos[i], &infos[best])) best = i;
    snprintf(why, sizeof why, "default: best device (%s; GPU > accelerator > CPU, then estimated peak %.0f GFLOP/s)",
             type_name(infos[best].type), infos[best].est_peak_gflops);
  } else {
    int p = -1, d = -1;
    char tail = 0;
    clnn_device_type want = CLNN_DEVICE_OTHER;
    int by_type = 0;
    if (sscanf(sel, "%d:%d%c", &p, &d, &tail) == 2) {
      for (int i = 0; i < n; i++)
        if (infos[i].platform_index == p && infos[i].device_index == d) best = i;
      snprintf(why, sizeof why, "selected as %d:%d", p, d);
    } else {
      if (!strcasecmp(sel, "gpu")) { want = CLNN_DEVICE_GPU; by_type = 1; }
      else if (!strcasecmp(sel, "cpu")) { want = CLNN_DEVICE_CPU; by_type = 1; }
      else if (!strcasecmp(sel, "accelerator") || !strcasecmp(sel, "fpga")) { want = CLNN_DEVICE_ACCELERATOR; by_type = 1; }
      for (int i = 0; i < n; i++) {
        int match = by_type ? infos[i].type == want : ci_contains(infos[i].name, sel);
        if (match && (best < 0 || better(&infos[i], &infos[best]))) best = i;
      }
      snprintf(why, sizeof why, by_type ? "selected by type \"%s\"" : "selected by name substring \"%s\"", sel);
    }
  }
  if (best < 0) {
    char list[2048] = "";
    size_t off = 0;
    for (int i = 0; i < n && off < sizeof list - 1; i++) {
      int w = snprintf(list + off, sizeof list - off, "%s  %d:%d %s [%s]", i ? "\n" : "",
                       infos[i].platform_index, infos[i].device_index, infos[i].name,
                       type_name(infos[i].type));
      if (w < 0) break;
      off += (size_t)w;
    }
    free(infos);
    return clnn__error(CLNN_ERROR_DEVICE_NOT_FOUND,
                       "device selection \"%s\" matches no device (use P:D, gpu, cpu, accelerator "
                       "or part of a name); the devices are:\n%s", selection, list);
  }
  *index = best;
  if (reason && reason_size) snprintf(reason, reason_size, "%s", why);
  free(infos);
  return CLNN_SUCCESS;
}
