/* tools/clnn_info.c — clnn-info: lists every OpenCL platform and device clnn sees, with the fields
 * clnn uses, marks the default device and says why, runs a self-test kernel on each device, and
 * exports prebuilt kernel binaries (--export-binaries DIR) for devices without a compiler. */
#include <clnn.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *type_name(clnn_device_type t) {
  switch (t) {
    case CLNN_DEVICE_GPU: return "GPU";
    case CLNN_DEVICE_CPU: return "CPU";
    case CLNN_DEVICE_ACCELERATOR: return "accelerator";
    default: return "other";
  }
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: clnn-info [--no-test] [--device SEL] [--export-binaries DIR]\n"
          "  lists OpenCL devices, marks the default, self-tests each device.\n"
          "  --device SEL           device for --export-binaries (P:D, gpu, cpu, accelerator, name part;\n"
          "                         default $CLNN_DEVICE, else the default device)\n"
          "  --export-binaries DIR  write every clnn kernel program built for that device into DIR\n"
          "  --no-test              skip the self-test kernels\n");
}

int main(int argc, char **argv) {
  const char *export_dir = NULL, *device = NULL;
  int run_tests = 1;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--export-binaries") && i + 1 < argc) export_dir = argv[++i];
    else if (!strcmp(argv[i], "--device") && i + 1 < argc) device = argv[++i];
    else if (!strcmp(argv[i], "--no-test")) run_tests = 0;
    else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { usage(stdout); return 0; }
    else { usage(stderr); return 2; }
  }

  if (export_dir) {
    clnn_context_options o;
    clnn_context_options_init(&o);
    o.device = device;
    o.cache_dir = "off"; /* build from source: the export must not depend on the cache */
    clnn_context *ctx = NULL;
    clnn_status s = clnn_context_create(&o, &ctx);
    if (s != CLNN_SUCCESS) {
      fprintf(stderr, "clnn-info: %s: %s\n", clnn_status_string(s), clnn_last_error());
      return 1;
    }
    clnn_device_info info;
    clnn_device_info_init(&info);
    clnn_context_device_info(ctx, &info);
    int n = 0;
    s = clnn_export_binaries(ctx, export_dir, &n);
    if (s != CLNN_SUCCESS) {
      fprintf(stderr, "clnn-info: export failed: %s: %s\n", clnn_status_string(s), clnn_last_error());
      clnn_context_destroy(ctx);
      return 1;
    }
    printf("exported %d kernel programs for \"%s\" to %s\n", n, info.name, export_dir);
    clnn_context_destroy(ctx);
    return 0;
  }

  int count = 0;
  clnn_status s = clnn_device_count(&count);
  if (s != CLNN_SUCCESS) {
    fprintf(stderr, "clnn-info: %s: %s\n", clnn_status_string(s), clnn_last_error());
    return 1;
  }
  int def = -1;
  char reason[256] = "";
  const char *env = getenv("CLNN_DEVICE");
  s = clnn_device_select(env, &def, reason, sizeof reason);
  if (s != CLNN_SUCCESS) fprintf(stderr, "clnn-info: CLNN_DEVICE: %s\n", clnn_last_error());

  printf("clnn %s: %d OpenCL device%s\n", CLNN_VERSION_STRING, count, count == 1 ? "" : "s");
  int failures = 0;
  for (int i = 0; i < count; i++) {
    clnn_device_info d;
    clnn_device_info_init(&d);
    if (clnn_device_get_info(i, &d) != CLNN_SUCCESS) continue;
    printf("\n[%d:%d] %s%s\n", d.platform_index, d.device_index, d.name, i == def ? "   <- default" : "");
    if (i == def) printf("  why default       %s\n", reason);
    printf("  platform          %s\n", d.platform_name);
    printf("  vendor            %s\n", d.vendor);
    printf("  type              %s\n", type_name(d.type));
    printf("  version           %s; driver %s; %s\n", d.device_version, d.driver_version, d.opencl_c_version);
    printf("  compute units     %u at %u MHz, float vector width %u\n", d.compute_units, d.clock_mhz,
           d.preferred_vector_width_float);
    printf("  global memory     %.2f GiB (max allocation %.2f GiB)\n", d.global_mem_bytes / 1073741824.0,
           d.max_alloc_bytes / 1073741824.0);
    printf("  local memory      %" PRIu64 " KiB; max work-group %zu\n", d.local_mem_bytes / 1024, d.max_work_group_size);
    printf("  fp16 / fp64       %s / %s\n", d.fp16 ? "yes" : "no", d.fp64 ? "yes" : "no");
    printf("  compiler          %s\n", d.compiler_available ? "yes" : "no (prebuilt binaries only)");
    printf("  est. peak         %.1f GFLOP/s (CUs x clock x lanes x 2; a ranking figure, not a measurement)\n",
           d.est_peak_gflops);
    if (run_tests) {
      char sel[32];
      snprintf(sel, sizeof sel, "%d:%d", d.platform_index, d.device_index);
      clnn_context_options o;
      clnn_context_options_init(&o);
      o.device = sel;
      clnn_context *ctx = NULL;
      s = clnn_context_create(&o, &ctx);
      if (s == CLNN_SUCCESS) s = clnn_context_selftest(ctx);
      if (s == CLNN_SUCCESS) printf("  self-test         ok (kernel built and ran, result checked)\n");
      else {
        printf("  self-test         FAILED: %s: %s\n", clnn_status_string(s), clnn_last_error());
        failures++;
      }
      clnn_context_destroy(ctx);
    }
  }
  return failures ? 1 : 0;
}
