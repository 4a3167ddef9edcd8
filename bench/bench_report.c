/* bench/bench_report.c — clnn-bench's output: JSON writer, --reference-file loading and applying,
 * and the printed table. Included by clnn_bench.c after the case table; not compiled on its own. */

/* ============================================================================================== */
/* output                                                                                         */
/* ============================================================================================== */

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
    else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
    else fputc(ch, f);
  }
  fputc('"', f);
}

static void json_num(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, "%.6g", v);
  else fprintf(f, "null");
}

/* ---- --reference-file: times of another reference (e.g. PyTorch on this machine) ----------- */
/* Format (tab-separated; bench/torch_reference.py writes it):
 *   clnn-bench-reference 1
 *   name<TAB>torch-cuda                 short name for the reference column
 *   about<TAB>free text                 what ran, printed above the table
 *   <case><TAB><pass><TAB><median_ms><TAB><min_ms>   pass "any": every pass of that case
 * Blank lines and lines starting with '#' are ignored. */
typedef struct ref_row {
  char name[48], pass[32];
  double med_ms, min_ms;
} ref_row;
static struct {
  char name[32], about[512];
  ref_row *rows;
  int n;
} ref_file;

static void load_reference_file(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) die("--reference-file: cannot open %s", path);
  char line[1024];
  int lineno = 0, cap = 0;
  snprintf(ref_file.name, sizeof ref_file.name, "file");
  while (fgets(line, sizeof line, f)) {
    lineno++;
    size_t len = strlen(line);
    if (len == sizeof line - 1 && line[len - 1] != '\n') die("%s:%d: line too long", path, lineno);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
    if (lineno == 1) {
      if (strcmp(line, "clnn-bench-reference 1"))
        die("%s: not a clnn-bench reference file (first line must be \"clnn-bench-reference 1\")", path);
      continue;
    }
    if (!len || line[0] == '#') continue;
    char *f1 = line, *f2 = strchr(f1, '\t');
    if (!f2) die("%s:%d: expected tab-separated fields", path, lineno);
    *f2++ = 0;
    if (!strcmp(f1, "name")) {
      if (!*f2 || strlen(f2) >= sizeof ref_file.name) die("%s:%d: name must be 1-%zu characters", path, lineno, sizeof ref_file.name - 1);
      snprintf(ref_file.name, sizeof ref_file.name, "%s", f2);
      continue;
    }
    if (!strcmp(f1, "about")) {
      snprintf(ref_file.about, sizeof ref_file.about, "%s", f2);
      continue;
    }
    char *f3 = strchr(f2, '\t'), *f4 = f3 ? strchr(f3 + 1, '\t') : NULL;
    if (!f3 || !f4) die("%s:%d: a row is <case> <pass> <median_ms> <min_ms>", path, lineno);
    *f3++ = 0;
    *f4++ = 0;
    char *end1, *end2;
    double med = strtod(f3, &end1), mn = strtod(f4, &end2);
    if (end1 == f3 || *end1 || end2 == f4 || *end2 || !(med > 0) || !(mn > 0) || mn > med * (1 + 1e-9))
      die("%s:%d: times must be positive numbers with min <= median", path, lineno);
    if (strlen(f1) >= sizeof ref_file.rows[0].name || strlen(f2) >= sizeof ref_file.rows[0].pass)
      die("%s:%d: case or pass name too long", path, lineno);
    if (ref_file.n == cap) {
      cap = cap ? 2 * cap : 64;
      ref_file.rows = realloc(ref_file.rows, sizeof *ref_file.rows * (size_t)cap);
      if (!ref_file.rows) die("out of host memory");
    }
    ref_row *r = &ref_file.rows[ref_file.n++];
    snprintf(r->name, sizeof r->name, "%s", f1);
    snprintf(r->pass, sizeof r->pass, "%s", f2);
    r->med_ms = med;
    r->min_ms = mn;
  }
  fclose(f);
  if (lineno == 0) die("%s: empty file", path);
}

/* Puts the file's times in the reference columns of every row it has (exact pass, else "any");
 * rows it lacks keep the host reference, and are listed on stderr. */
static void apply_reference_file(void) {
  for (int i = 0; i < num_results; i++) {
    result *r = &results[i];
    if (!strcmp(r->pass, "-")) continue;
    const ref_row *hit = NULL;
    for (int j = 0; j < ref_file.n && !hit; j++)
      if (!strcmp(ref_file.rows[j].name, r->name) && !strcmp(ref_file.rows[j].pass, r->pass)) hit = &ref_file.rows[j];
    for (int j = 0; j < ref_file.n && !hit; j++)
      if (!strcmp(ref_file.rows[j].name, r->name) && !strcmp(ref_file.rows[j].pass, "any")) hit = &ref_file.rows[j];
    if (!hit) {
      fprintf(stderr, "clnn-bench: %s has no row for %s %s; that row keeps %s\n", opt.reference_file, r->name,
              r->pass, r->ref_name[0] ? r->ref_name : "no reference");
      continue;
    }
    snprintf(r->ref_name, sizeof r->ref_name, "%s", ref_file.name);
    r->ref_ms = hit->med_ms;
    r->ref_min_ms = hit->min_ms;
    r->ref_rate = r->work / (hit->med_ms * 1e-3) / 1e9;
    set_ratios(r);
  }
}

static void write_json(const char *path, const clnn_device_info *info, const char *tuned, const char *cmdline,
                       double total_s) {
  FILE *f = fopen(path, "w");
  if (!f) die("cannot write %s", path);
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  fprintf(f, "{\n  \"tool\": \"clnn-bench\", \"clnn_version\": \"%s\",\n  \"command\": ", CLNN_VERSION_STRING);
  json_str(f, cmdline);
  fprintf(f, ",\n  \"device\": ");
  json_str(f, info->name);
  fprintf(f, ", \"platform\": ");
  json_str(f, info->platform_name);
  fprintf(f, ", \"driver\": ");
  json_str(f, info->driver_version);
  fprintf(f, ", \"compute_units\": %u, \"host\": ", info->compute_units);
  json_str(f, host);
  fprintf(f, ", \"load_average_start\": ");
  json_num(f, load_start);
  fprintf(f, ", \"load_average_end\": ");
  json_num(f, load_end);
  fprintf(f, ",\n  \"tuned\": ");
  json_str(f, tuned);
  fprintf(f, ",\n  \"blas\": ");
  json_str(f, openblas_get_config());
  if (opt.reference_file) {
    fprintf(f, ",\n  \"reference_file\": {\"path\": ");
    json_str(f, opt.reference_file);
    fprintf(f, ", \"name\": ");
    json_str(f, ref_file.name);
    fprintf(f, ", \"about\": ");
    json_str(f, ref_file.about);
    fprintf(f, "}");
  }
  fprintf(f, ",\n  \"peak\": {\"fma_gflops\": ");
  json_num(f, peak_gflops);
  fprintf(f, ", \"fma_gflops_median\": ");
  json_num(f, peak_gflops_med);
  fprintf(f, ", \"fma_kernel\": \"%s\", \"copy_gbs\": ", peak_fma_kernel);
  json_num(f, peak_gbs);
  fprintf(f, ", \"copy_gbs_median\": ");
  json_num(f, peak_gbs_med);
  fprintf(f, ", \"copy_kernel\": \"%s\", \"launch_us\": ", peak_copy_kernel);
  json_num(f, launch_us);
  fprintf(f, "},\n");
  fprintf(f, "  \"conventions\": \"GEMM 2*M*N*K; conv per pass 2*N*K*P*Q*(C/groups)*R*S (direct FLOPs); LSTM forward "
             "8*H*(H+I)*N*T, backward 2x forward; memory-bound: bytes read + written; time = OpenCL profiling "
             "(marker END to marker END) median and minimum; ratio = reference minimum / clnn minimum, ratio_median = "
             "reference median / clnn median\",\n");
  fprintf(f, "  \"runs\": %d, \"warmup\": %d, \"total_seconds\": %.1f,\n  \"results\": [\n", opt.runs, opt.warmup,
          total_s);
  for (int i = 0; i < num_results; i++) {
    const result *r = &results[i];
    fprintf(f, "    {\"case\": ");
    json_str(f, r->name);
    fprintf(f, ", \"pass\": ");
    json_str(f, r->pass);
    fprintf(f, ", \"path\": ");
    json_str(f, r->path);
    fprintf(f, ", \"runs\": %d, \"warmup\": %d, \"median_ms\": ", r->runs, r->warmup);
    json_num(f, r->med_ms);
    fprintf(f, ", \"min_ms\": ");
    json_num(f, r->min_ms);
    fprintf(f, ", \"wall_median_ms\": ");
    json_num(f, r->wall_ms);
    fprintf(f, ", \"unit\": ");
    json_str(f, r->unit);
    fprintf(f, ", \"work\": ");
    json_num(f, r->work);
    fprintf(f, ", \"rate\": ");
    json_num(f, r->rate);
    fprintf(f, ", \"pct_peak\": ");
    json_num(f, r->pct_peak);
    fprintf(f, ", \"reference\": ");
    json_str(f, r->ref_name);
    fprintf(f, ", \"ref_median_ms\": ");
    json_num(f, r->ref_ms);
    fprintf(f, ", \"ref_min_ms\": ");
    json_num(f, r->ref_min_ms);
    fprintf(f, ", \"ref_rate\": ");
    json_num(f, r->ref_rate);
    fprintf(f, ", \"ratio\": ");
    json_num(f, r->ratio);
    fprintf(f, ", \"ratio_median\": ");
    json_num(f, r->ratio_median);
    fprintf(f, ", \"cold_ms\": ");
    json_num(f, r->cold_ms);
    fprintf(f, ", \"builds\": %llu, \"build_s\": ", r->builds);
    json_num(f, r->build_s);
    fprintf(f, ", \"cache_hits\": %llu, \"rel_error\": ", r->hits);
    json_num(f, r->check);
    fprintf(f, ", \"note\": ");
    json_str(f, r->note);
    fprintf(f, "}%s\n", i + 1 < num_results ? "," : "");
  }
  fprintf(f, "  ]\n}\n");
  fclose(f);
}

static void print_table(const clnn_device_info *info, const char *tuned, double total_s) {
  printf("\nclnn-bench %s on %s (%s, driver %s), %u compute units\n", CLNN_VERSION_STRING, info->name,
         info->platform_name, info->driver_version, info->compute_units);
  printf("tuned parameters: %s\n", tuned);
  printf("host reference: %s\n", openblas_get_config());
  if (opt.reference_file)
    printf("reference file: %s: %s%s%s\n", opt.reference_file, ref_file.name, ref_file.about[0] ? ", " : "",
           ref_file.about);
  if (load_start >= 0)
    printf("host load average (1 min): %.2f at the start, %.2f at the end (other work on the machine slows "
           "both sides)\n", load_start, load_end);
  printf("measured peak: %.1f GFLOP/s FMA (%s; median %.1f), %.1f GB/s copy (%s; median %.1f); "
         "kernel launch %.0f us (enqueue to finish, one work-item)\n",
         peak_gflops, peak_fma_kernel, peak_gflops_med, peak_gbs, peak_copy_kernel, peak_gbs_med, launch_us);
  printf("time: median of OpenCL profiling time (marker to marker) over the runs; wall = median enqueue + clFinish;\n"
         "ratio = reference min / clnn min, ratio_med = reference median / clnn median (> 1: clnn faster);\n"
         "cold = first call incl. kernel builds/cache loads\n\n");
  printf("%-18s %-16s %-40s %9s %9s %9s %9s %-7s %6s  %-16s %9s %9s %9s %6s %9s  %9s %-12s %s\n", "case", "pass",
         "path", "median_ms", "min_ms", "wall_ms", "rate", "unit", "%peak", "reference", "ref_ms", "ref_min", "ref_rate",
         "ratio", "ratio_med", "cold_ms", "compile", "check");
  for (int i = 0; i < num_results; i++) {
    const result *r = &results[i];
    if (!strcmp(r->pass, "-")) {
      printf("%-18s %s\n", r->name, r->note);
      continue;
    }
    char compile[48] = "-";
    if (r->builds || r->hits) snprintf(compile, sizeof compile, "%llub %.2fs %lluhit", r->builds, r->build_s, r->hits);
    char check[24] = "-";
    if (r->check >= 0) snprintf(check, sizeof check, "%s %.1e", r->check < 1e-3 ? "ok" : "MISMATCH", r->check);
    else if (r->check != r->check) snprintf(check, sizeof check, "MISMATCH nan");
    printf("%-18s %-16s %-40.40s %9.3f %9.3f %9.3f %9.1f %-7s %5.1f%%  %-16s %9.3f %9.3f %9.1f %6.2f %9.2f  %9.1f %-12s "
           "%s\n",
           r->name, r->pass, r->path, r->med_ms, r->min_ms, r->wall_ms, r->rate, r->unit, r->pct_peak,
           r->ref_name[0] ? r->ref_name : "-", r->ref_ms, r->ref_min_ms, r->ref_rate, r->ratio, r->ratio_median,
           r->cold_ms, compile, check);
  }
  printf("\n%d result rows in %.1f s (runs %d, warm-up %d%s)\n", num_results, total_s, opt.runs, opt.warmup,
         opt.budget > 0 ? ", fewer for long passes (--budget)" : "");
}
