/* tests/test_log_threads.c — the log settings change safely while other threads log. Four threads
 * log at every level (through the internal clnn__log and through failing API calls, whose detail
 * is logged at debug level) while a fifth switches between two callbacks with their own user data
 * and levels, and off, thousands of times. Checked in the callbacks: each gets its own user
 * pointer, never a message above its level, and never runs after the switch away from it
 * returned (the setter then marks its user data dead); the callback is never entered by two
 * threads at once; a callback that logs gets its nested message; clnn_set_log_callback called
 * from inside a callback is ignored. Needs no device. tools/test-hardening.sh is where sanitizer
 * builds run; this file also builds alone with status.c for ThreadSanitizer:
 *   clang -fsanitize=thread -g -O1 -std=c11 -DCL_TARGET_OPENCL_VERSION=120 -Iinclude -Isrc -Icl \
 *     tests/test_log_threads.c src/runtime/status.c -lpthread */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define LOGGERS 4
#define SWITCHES 1500

typedef struct sink {
  const char *name;
  clnn_log_level max;
  atomic_int alive;   /* 0 once the setter has switched away from this sink */
  atomic_long calls, nested;
} sink;

static sink sink_a = {"A", CLNN_LOG_WARN, 0, 0, 0};
static sink sink_b = {"B", CLNN_LOG_DEBUG, 0, 0, 0};
static atomic_int inside;          /* threads inside a callback right now */
static atomic_int failures;
static atomic_int stop;

static void fail(const char *fmt, const char *a, int b) {
  if (atomic_fetch_add(&failures, 1) < 10) {
    fprintf(stderr, "FAIL: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n");
  }
}

static void callback(clnn_log_level level, const char *msg, void *user, sink *own) {
  if (atomic_fetch_add(&inside, 1) != 0) fail("callback %s entered while another thread was inside one", own->name, 0);
  if (user != own) fail("callback %s got another sink's user pointer (level %d)", own->name, (int)level);
  else if (!atomic_load(&own->alive)) fail("callback %s called after the switch away from it returned (level %d)",
                                           own->name, (int)level);
  if ((int)level > (int)own->max) fail("callback %s got a message above its level (level %d)", own->name, (int)level);
  if (!strncmp(msg, "nested", 6)) atomic_fetch_add(&own->nested, 1);
  atomic_fetch_add(&own->calls, 1);
  atomic_fetch_sub(&inside, 1);
  /* a callback that logs: the nested message must come back, without a deadlock */
  if (level == CLNN_LOG_ERROR && strncmp(msg, "nested", 6)) clnn__log(CLNN_LOG_ERROR, "nested from %s", own->name);
}
static void cb_a(clnn_log_level level, const char *msg, void *user) { callback(level, msg, user, &sink_a); }
static void cb_b(clnn_log_level level, const char *msg, void *user) { callback(level, msg, user, &sink_b); }

static void *logger(void *arg) {
  long id = (long)arg;
  for (long i = 0; !atomic_load(&stop); i++) {
    clnn_log_level level = (clnn_log_level)(i % 4);
    clnn__log(level, "thread %ld message %ld", id, i);
    if (i % 16 == 0) clnn__error(CLNN_ERROR_INVALID_ARGUMENT, "thread %ld: a failing call %ld", id, i);
  }
  return NULL;
}

static atomic_int set_inside_calls;
static void cb_sets(clnn_log_level level, const char *msg, void *user) {
  (void)level;
  (void)msg;
  (void)user;
  atomic_fetch_add(&set_inside_calls, 1);
  clnn_set_log_callback(NULL, CLNN_LOG_ERROR, NULL); /* must be ignored, not deadlock */
}

int main(void) {
  pthread_t th[LOGGERS];
  for (long i = 0; i < LOGGERS; i++) pthread_create(&th[i], NULL, logger, (void *)i);
  for (int i = 0; i < SWITCHES; i++) {
    sink *s = i % 3 == 0 ? &sink_a : i % 3 == 1 ? &sink_b : NULL;
    if (s) atomic_store(&s->alive, 1);
    long before = s ? atomic_load(&s->calls) : 0;
    clnn_set_log_callback(s == &sink_a ? cb_a : s == &sink_b ? cb_b : NULL, s ? s->max : CLNN_LOG_ERROR, s);
    /* let the loggers reach the new sink (at most about 20 ms per switch) */
    for (int w = 0; w < 200 && (s ? atomic_load(&s->calls) < before + 2 : w < 1); w++) {
      struct timespec ts = {0, 100000};
      nanosleep(&ts, NULL);
    }
    /* the previous sink is no longer called once the switch returned: "free" its user data */
    sink *prev = i % 3 == 0 ? NULL : i % 3 == 1 ? &sink_a : &sink_b;
    if (prev) atomic_store(&prev->alive, 0);
  }
  clnn_set_log_callback(NULL, CLNN_LOG_ERROR, NULL);
  atomic_store(&stop, 1);
  for (int i = 0; i < LOGGERS; i++) pthread_join(th[i], NULL);

  /* clnn_set_log_callback from inside the callback is ignored: the callback stays installed */
  clnn_set_log_callback(cb_sets, CLNN_LOG_ERROR, NULL);
  clnn__log(CLNN_LOG_ERROR, "first");
  clnn__log(CLNN_LOG_ERROR, "second");
  int set_calls = atomic_load(&set_inside_calls);
  clnn_set_log_callback(NULL, CLNN_LOG_ERROR, NULL);
  if (set_calls != 2) fail("a callback that calls clnn_set_log_callback: %s%d of 2 messages arrived", "", set_calls);

  long a = atomic_load(&sink_a.calls), b = atomic_load(&sink_b.calls);
  if (a == 0 || b == 0) fail("both callbacks must have received messages (%s, B got %d)", a ? "A did" : "A got none",
                             (int)b);
  if (atomic_load(&sink_a.nested) == 0 || atomic_load(&sink_b.nested) == 0)
    fail("nested messages from inside the callbacks must arrive (%s, B %d)",
         atomic_load(&sink_a.nested) ? "A did" : "A none", (int)atomic_load(&sink_b.nested));
  printf("%d switches while %d threads logged: callback A %ld messages (%ld nested), B %ld (%ld nested)\n", SWITCHES,
         LOGGERS, a, (long)atomic_load(&sink_a.nested), b, (long)atomic_load(&sink_b.nested));
  int f = atomic_load(&failures);
  printf("test_log_threads: %s (%d failures)\n", f ? "FAILED" : "passed", f);
  return f ? 1 : 0;
}
