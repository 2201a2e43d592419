/*
 * Native reference for bench/run.mjs: dice, bce and the seed focal loss in
 * plain C, built with `gcc -O3 -march=native` (no -ffast-math: libm's scalar
 * logf / powf, IEEE float semantics). Per-element math in float, sums in
 * double. The sums use 8 independent accumulators, which lets the compiler
 * vectorize the pure-arithmetic loops (dice) without reassociating anything.
 *
 * Usage: losses DATA.bin [--min-time MS] [--min-reps K] [--max-time MS]
 *                        [--warmup MS] [--only dice,bce,focal,read]
 * DATA.bin (written by bench/data.mjs toBinary): "SEGLBIN1", uint32 N,
 * uint32 L, float32 target[N*L], float32 pred[N*L], float32 logits[N*L].
 * `read` (not a loss) times a plain read of both arrays: the memory ceiling.
 * Prints one JSON object on stdout: per loss median / min / first-call ms,
 * repetitions and the loss value.
 */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LANES 8

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

/* Keras: p' = clip(p, 1e-7f, 1 - 1e-7f = 0.99999988f); mean of -(t ln p' + (1-t) ln(1-p')). */
__attribute__((noipa)) static double bce(const float *t, const float *p, size_t n_img, size_t len) {
  const size_t n = n_img * len;
  const float eps = 1e-7f, hi = 1.0f - 1e-7f;
  double acc[LANES] = {0};
  size_t i = 0;
  for (; i + LANES <= n; i += LANES) {
    for (int k = 0; k < LANES; k++) {
      float q = p[i + k];
      q = q < eps ? eps : (q > hi ? hi : q);
      const float y = t[i + k];
      acc[k] -= (double)(y * logf(q) + (1.0f - y) * logf(1.0f - q));
    }
  }
  double s = 0;
  for (; i < n; i++) {
    float q = p[i];
    q = q < eps ? eps : (q > hi ? hi : q);
    s -= (double)(t[i] * logf(q) + (1.0f - t[i]) * logf(1.0f - q));
  }
  for (int k = 0; k < LANES; k++) s += acc[k];
  return s / (double)n;
}

/* Dice loss per image, smooth 1: mean over images of 1 - (2I + 1)/(St + Sp + 1). */
__attribute__((noipa)) static double dice(const float *t, const float *p, size_t n_img, size_t len) {
  double loss = 0;
  for (size_t img = 0; img < n_img; img++) {
    const float *a = t + img * len, *b = p + img * len;
    double ai[LANES] = {0}, at[LANES] = {0}, ap[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= len; i += LANES) {
      for (int k = 0; k < LANES; k++) {
        ai[k] += (double)a[i + k] * (double)b[i + k];
        at[k] += (double)a[i + k];
        ap[k] += (double)b[i + k];
      }
    }
    double inter = 0, st = 0, sp = 0;
    for (; i < len; i++) {
      inter += (double)a[i] * (double)b[i];
      st += a[i];
      sp += b[i];
    }
    for (int k = 0; k < LANES; k++) {
      inter += ai[k];
      st += at[k];
      sp += ap[k];
    }
    loss += 1.0 - (2.0 * inter + 1.0) / (st + sp + 1.0);
  }
  return loss / (double)n_img;
}

/* The seed focal loss: pt1 = p where t == 1 else 1, pt0 = p where t == 0 else 0,
 * both clipped to [1e-3, 0.999]; sum of -a (1-pt1)^g ln pt1 - (1-a) pt0^g ln(1-pt0). */
static inline float clipf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

__attribute__((noipa)) static double focal(const float *t, const float *p, size_t n_img, size_t len) {
  const size_t n = n_img * len;
  const float g = 0.75f, a = 0.25f, lo = 1e-3f, hi = 0.999f;
  double acc[LANES] = {0};
  size_t i = 0;
  for (; i + LANES <= n; i += LANES) {
    for (int k = 0; k < LANES; k++) {
      const float y = t[i + k], q = p[i + k];
      const float pt1 = clipf(y == 1.0f ? q : 1.0f, lo, hi);
      const float pt0 = clipf(y == 0.0f ? q : 0.0f, lo, hi);
      acc[k] -= (double)(a * powf(1.0f - pt1, g) * logf(pt1));
      acc[k] -= (double)((1.0f - a) * powf(pt0, g) * logf(1.0f - pt0));
    }
  }
  double s = 0;
  for (; i < n; i++) {
    const float y = t[i], q = p[i];
    const float pt1 = clipf(y == 1.0f ? q : 1.0f, lo, hi);
    const float pt0 = clipf(y == 0.0f ? q : 0.0f, lo, hi);
    s -= (double)(a * powf(1.0f - pt1, g) * logf(pt1));
    s -= (double)((1.0f - a) * powf(pt0, g) * logf(1.0f - pt0));
  }
  for (int k = 0; k < LANES; k++) s += acc[k];
  return s;
}

/* Not a loss: reads both arrays once (sum in 16 float lanes each, vectorized).
 * The time a kernel needs just to read its 2 x 4 bytes per element from wherever
 * the data sits (L3 or DRAM) on this machine: a practical ceiling for dice. */
__attribute__((noipa)) static double read2(const float *t, const float *p, size_t n_img, size_t len) {
  const size_t n = n_img * len;
  float a[16] = {0}, b[16] = {0};
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int k = 0; k < 16; k++) {
      a[k] += t[i + k];
      b[k] += p[i + k];
    }
  double s = 0;
  for (; i < n; i++) s += t[i] + p[i];
  for (int k = 0; k < 16; k++) s += (double)a[k] + b[k];
  return s;
}

typedef double (*loss_fn)(const float *, const float *, size_t, size_t);

static int cmp_double(const void *x, const void *y) {
  const double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s DATA.bin [--min-time MS] [--min-reps K] [--max-time MS] [--warmup MS] [--only a,b]\n",
            argv[0]);
    return 2;
  }
  double min_time = 1000, max_time = 3000, warmup = 250;
  int min_reps = 5;
  const char *only = "dice,bce,focal";
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--min-time")) min_time = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--max-time")) max_time = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--warmup")) warmup = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--min-reps")) min_reps = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--only")) only = argv[i + 1];
    else {
      fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }

  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  char magic[8];
  uint32_t hdr[2];
  if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "SEGLBIN1", 8) || fread(hdr, 4, 2, f) != 2) {
    fprintf(stderr, "%s: not a SEGLBIN1 file\n", argv[1]);
    return 1;
  }
  const size_t n_img = hdr[0], len = hdr[1], n = n_img * len;
  float *t = aligned_alloc(64, ((n * 4 + 63) / 64) * 64);
  float *p = aligned_alloc(64, ((n * 4 + 63) / 64) * 64);
  if (!t || !p || fread(t, 4, n, f) != n || fread(p, 4, n, f) != n) {
    fprintf(stderr, "%s: short file or out of memory\n", argv[1]);
    return 1;
  }
  fclose(f);

  static const struct { const char *name; loss_fn fn; } losses[] = {{"dice", dice}, {"bce", bce}, {"focal", focal}, {"read", read2}};
  const int max_reps = 100000;
  double *times = malloc(sizeof(double) * max_reps);
  printf("{\"compiler\":\"gcc %s\",\"n\":%zu,\"images\":%zu,\"results\":{", __VERSION__, n, n_img);
  int first = 1;
  for (size_t li = 0; li < sizeof losses / sizeof losses[0]; li++) {
    /* --only: comma-separated names */
    const char *nm = losses[li].name;
    const size_t nl = strlen(nm);
    int wanted = 0;
    for (const char *s = only; *s;) {
      const char *e = strchr(s, ',');
      const size_t l = e ? (size_t)(e - s) : strlen(s);
      if (l == nl && !strncmp(s, nm, l)) wanted = 1;
      if (!e) break;
      s = e + 1;
    }
    if (!wanted) continue;

    volatile double sink;
    double t0 = now_ms();
    double value = losses[li].fn(t, p, n_img, len);
    const double cold = now_ms() - t0;
    /* warm-up: at least one more call, then until `warmup` ms */
    t0 = now_ms();
    do sink = losses[li].fn(t, p, n_img, len);
    while (now_ms() - t0 < warmup);
    int reps = 0;
    const double start = now_ms();
    for (;;) {
      const double a = now_ms();
      sink = losses[li].fn(t, p, n_img, len);
      times[reps++] = now_ms() - a;
      const double el = now_ms() - start;
      if (reps >= min_reps && el >= min_time) break;
      if (reps >= 3 && el >= max_time) break;
      if (reps >= max_reps) break;
    }
    (void)sink;
    qsort(times, reps, sizeof(double), cmp_double);
    const double median = reps % 2 ? times[reps / 2] : 0.5 * (times[reps / 2 - 1] + times[reps / 2]);
    printf("%s\"%s\":{\"median_ms\":%.6f,\"min_ms\":%.6f,\"cold_ms\":%.6f,\"reps\":%d,\"value\":%.17g}", first ? "" : ",",
           nm, median, times[0], cold, reps, value);
    first = 0;
    fflush(stdout);
  }
  printf("}}\n");
  free(times);
  free(t);
  free(p);
  return 0;
}
