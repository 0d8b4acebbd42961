/* Host-side driver for the firmware kernels (test/firmware/kernels.test.ts compiles it with the
 * host gcc together with the firmware/kernels C files). Reads whitespace-separated integers on stdin:
 *
 *   layer <op> <arith> <in_h in_w in_c> <out_h out_w out_c> <kh kw stride_h stride_w pad_top pad_left>
 *         <depth_multiplier> <in_zp out_zp act_min act_max> <n_w w...> <n_b bias...>
 *         <n_m mult...> <n_s shift...> <n_x input...> <n_x2 input2...> <in2_zp left_shift>
 *         <in2_h in2_w in2_c>                 -> prints the output tensor (input2, in2 shape: add/mul/concat)
 *   requant <acc> <M> <s> <out_zp> <lo> <hi>  -> prints clamp(out_zp + requant(...))
 *   tflrequant <arith> <acc> <M> <shift> <out_zp> <lo> <hi> -> the same in a tflite-* arithmetic
 *   tflrandom <n> <seed>                      -> yono_rq (tflite-double/-single) against a literal
 *                                                transcription of TFLite's code on n random values
 *   random <n> <seed>                         -> compares kernels with a naive SPEC transcription
 *                                                on n random layers/values; prints "mismatches K"
 *   pqrandom <n> <seed>                       -> n random conv2d_pq / dense_pq layers (random shared
 *                                                codebook, indices, geometry): the direct path, the
 *                                                table path and the rule's choice (yono_layer_run)
 *                                                against the naive conv2d/dense of the decoded weights;
 *                                                scratch exactly as sized, guarded; prints
 *                                                "mismatches K table T" (T = layers the rule sent to
 *                                                the table path)
 * op: 0 conv2d, 1 maxpool2d, 2 avgpool_global, 3 dense, 4 depthwise_conv2d, 5 avgpool2d, 8 add, 9 lut,
 * 10 concat, 11 mul, 12 mean
 * (same numbers as yono_op_t). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yono_nn.h"
#include "pq_random.h"

static long rd(void)
{
    long v;
    if (scanf("%ld", &v) != 1) {
        fprintf(stderr, "driver: bad input\n");
        exit(2);
    }
    return v;
}

/* bias_eff as harness/modeltools/codegen.ts computes it */
static void fill_bias_eff(const yono_layer_t *l, int32_t *be)
{
    const int32_t oc = l->out_c;
    const int32_t k = l->op == YONO_OP_DENSE ? l->in_c : l->kh * l->kw * l->in_c;
    for (int32_t c = 0; c < oc; c++) {
        int32_t sum = 0;
        for (int32_t j = 0; j < k; j++) {
            sum += l->weights[c * k + j];
        }
        be[c] = l->bias[c] - l->in_zp * sum;
    }
}

static void naive_depthwise(const yono_layer_t *l, const int8_t *x, int8_t *y)
{
    for (int oy = 0; oy < l->out_h; oy++)
        for (int ox = 0; ox < l->out_w; ox++)
            for (int oc = 0; oc < l->out_c; oc++) {
                int32_t acc = l->bias[oc];
                const int ic = oc / l->depth_multiplier;
                for (int ky = 0; ky < l->kh; ky++)
                    for (int kx = 0; kx < l->kw; kx++) {
                        int iy = oy * l->stride_h - l->pad_top + ky, ix = ox * l->stride_w - l->pad_left + kx;
                        if (iy < 0 || iy >= l->in_h || ix < 0 || ix >= l->in_w) continue;
                        acc += (x[(iy * l->in_w + ix) * l->in_c + ic] - l->in_zp) * l->weights[(ky * l->kw + kx) * l->out_c + oc];
                    }
                *y++ = (int8_t)pq_spec_requant_clamp(acc, l->multiplier[oc], l->shift[oc], l->out_zp, l->act_min, l->act_max);
            }
}

static void naive_avgpool2d(const yono_layer_t *l, const int8_t *x, int8_t *y)
{
    for (int oy = 0; oy < l->out_h; oy++)
        for (int ox = 0; ox < l->out_w; ox++)
            for (int c = 0; c < l->out_c; c++) {
                int32_t acc = 0;
                for (int ky = 0; ky < l->kh; ky++)
                    for (int kx = 0; kx < l->kw; kx++)
                        acc += x[((oy * l->stride_h + ky) * l->in_w + ox * l->stride_w + kx) * l->in_c + c] - l->in_zp;
                *y++ = (int8_t)pq_spec_requant_clamp(acc, l->multiplier[0], l->shift[0], l->out_zp, -128, 127);
            }
}

static uint32_t rng_state;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}
static int32_t rnd_in(int32_t lo, int32_t hi) { return lo + (int32_t)(rnd() % (uint32_t)(hi - lo + 1)); }

static int random_checks(long n)
{
    long bad = 0;
    /* requant: extremes of acc, M and s */
    for (long i = 0; i < n * 1000; i++) {
        int32_t acc = (i % 7 == 0) ? (int32_t)rnd() : rnd_in(-300000, 300000);
        int32_t m = rnd_in(16384, 32767), s = rnd_in(1, 46), zp = rnd_in(-128, 127);
        int32_t lo = rnd_in(-128, 127), hi = rnd_in(lo, 127);
        if (yono_requant_clamp(acc, m, s, zp, lo, hi) != pq_spec_requant_clamp(acc, m, s, zp, lo, hi)) {
            if (bad++ < 5) printf("requant acc=%d M=%d s=%d zp=%d\n", acc, m, s, zp);
        }
    }
    /* conv2d: random shapes, strides and paddings against the naive loop */
    static int8_t x[4096], y[4096], y2[4096], w[8192], scratch[1024];
    static int32_t b[64], be[64];
    static int16_t mu[64];
    static int8_t sh[64];
    for (long t = 0; t < n; t++) {
        yono_layer_t l = {0};
        l.op = YONO_OP_CONV2D;
        l.kh = (uint8_t)rnd_in(1, 4); l.kw = (uint8_t)rnd_in(1, 4);
        l.stride_h = (uint8_t)rnd_in(1, 3); l.stride_w = (uint8_t)rnd_in(1, 3);
        l.pad_top = (uint8_t)rnd_in(0, l.kh - 1); l.pad_left = (uint8_t)rnd_in(0, l.kw - 1);
        l.in_h = (uint16_t)rnd_in(l.kh, 9); l.in_w = (uint16_t)rnd_in(l.kw, 9); l.in_c = (uint16_t)rnd_in(1, 9);
        l.out_h = (uint16_t)((l.in_h + l.pad_top - 1) / l.stride_h + 1);
        l.out_w = (uint16_t)((l.in_w + l.pad_left - 1) / l.stride_w + 1);
        l.out_c = (uint16_t)rnd_in(1, 7);
        l.in_zp = (int8_t)rnd_in(-128, 127); l.out_zp = (int8_t)rnd_in(-128, 127);
        l.act_min = (int8_t)rnd_in(-128, 0); l.act_max = (int8_t)rnd_in(0, 127);
        int32_t k = l.kh * l.kw * l.in_c;
        for (int32_t i = 0; i < l.out_c * k; i++) w[i] = (int8_t)rnd_in(-128, 127);
        for (int32_t i = 0; i < l.in_h * l.in_w * l.in_c; i++) x[i] = (int8_t)rnd_in(-128, 127);
        for (int32_t c = 0; c < l.out_c; c++) {
            b[c] = rnd_in(-100000, 100000); mu[c] = (int16_t)rnd_in(16384, 32767); sh[c] = (int8_t)rnd_in(14, 24);
        }
        l.weights = w; l.bias = b; l.bias_eff = be; l.multiplier = mu; l.shift = sh;
        fill_bias_eff(&l, be);
        size_t n_out = (size_t)l.out_h * l.out_w * l.out_c;
        yono_conv2d_s8(&l, x, y, scratch);
        pq_naive_conv(&l, l.weights, x, y2); /* the SPEC reference of pq_random.h */
        if (memcmp(y, y2, n_out) != 0) {
            if (bad++ < 5) printf("conv k=%dx%d s=%dx%d p=%d,%d in=%dx%dx%d\n", l.kh, l.kw, l.stride_h, l.stride_w,
                                  l.pad_top, l.pad_left, l.in_h, l.in_w, l.in_c);
        }
    }
    /* depthwise_conv2d and avgpool2d through the dispatcher, random geometry */
    static int32_t acc[256];
    for (long t = 0; t < n; t++) {
        yono_layer_t l = {0};
        const int dw = (t & 1) == 0;
        l.op = dw ? YONO_OP_DEPTHWISE_CONV2D : YONO_OP_AVGPOOL2D;
        l.kh = (uint8_t)rnd_in(1, 4); l.kw = (uint8_t)rnd_in(1, 4);
        l.stride_h = (uint8_t)rnd_in(1, 3); l.stride_w = (uint8_t)rnd_in(1, 3);
        l.in_h = (uint16_t)rnd_in(l.kh, 9); l.in_w = (uint16_t)rnd_in(l.kw, 9); l.in_c = (uint16_t)rnd_in(1, 9);
        l.in_zp = (int8_t)rnd_in(-128, 127); l.out_zp = (int8_t)rnd_in(-128, 127);
        if (dw) {
            l.depth_multiplier = (uint8_t)rnd_in(1, 3);
            l.pad_top = (uint8_t)rnd_in(0, l.kh - 1); l.pad_left = (uint8_t)rnd_in(0, l.kw - 1);
            l.out_h = (uint16_t)((l.in_h + l.pad_top - 1) / l.stride_h + 1);
            l.out_w = (uint16_t)((l.in_w + l.pad_left - 1) / l.stride_w + 1);
            l.out_c = (uint16_t)(l.in_c * l.depth_multiplier);
            l.act_min = (int8_t)rnd_in(-128, 0); l.act_max = (int8_t)rnd_in(0, 127);
            for (int32_t i = 0; i < l.kh * l.kw * l.out_c; i++) w[i] = (int8_t)rnd_in(-128, 127);
            for (int32_t c = 0; c < l.out_c; c++) {
                b[c] = rnd_in(-100000, 100000); mu[c] = (int16_t)rnd_in(16384, 32767); sh[c] = (int8_t)rnd_in(10, 20);
            }
        } else {
            l.out_h = (uint16_t)((l.in_h - l.kh) / l.stride_h + 1);
            l.out_w = (uint16_t)((l.in_w - l.kw) / l.stride_w + 1);
            l.out_c = l.in_c;
            mu[0] = (int16_t)rnd_in(16384, 32767); sh[0] = (int8_t)rnd_in(14, 20);
        }
        for (int32_t i = 0; i < l.in_h * l.in_w * l.in_c; i++) x[i] = (int8_t)rnd_in(-128, 127);
        l.weights = w; l.bias = b; l.multiplier = mu; l.shift = sh;
        size_t n_out = (size_t)l.out_h * l.out_w * l.out_c;
        if (yono_layer_run(&l, x, y, (int8_t *)acc) != 0) bad++;
        if (dw) {
            naive_depthwise(&l, x, y2);
        } else {
            naive_avgpool2d(&l, x, y2);
        }
        if (memcmp(y, y2, n_out) != 0) {
            if (bad++ < 5) printf("%s k=%dx%d s=%dx%d in=%dx%dx%d\n", dw ? "depthwise" : "avgpool2d", l.kh, l.kw,
                                  l.stride_h, l.stride_w, l.in_h, l.in_w, l.in_c);
        }
    }
    printf("mismatches %ld\n", bad);
    return bad != 0;
}

/* TFLite's code, transcribed literally (tensorflow/lite/kernels/internal/common.h, gemmlowp
 * fixedpoint.h), with its 64-bit division: the independent side of the tflite-* requant checks. */
static int32_t tfl_srdhm(int32_t a, int32_t b)
{
    const int overflow = a == b && a == INT32_MIN;
    const int64_t a_64 = a, b_64 = b;
    const int64_t ab_64 = a_64 * b_64;
    const int32_t nudge = ab_64 >= 0 ? (1 << 30) : (1 - (1 << 30));
    const int32_t ab_x2_high32 = (int32_t)((ab_64 + nudge) / (1ll << 31));
    return overflow ? INT32_MAX : ab_x2_high32;
}
static int32_t tfl_rdbpot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)((1ll << exponent) - 1);
    const int32_t zero = 0, one = 1;
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + ((x < zero) ? one : zero);
    return (x >> exponent) + ((remainder > threshold) ? one : zero);
}
static int32_t tfl_mbqm_double(int32_t x, int32_t qm, int shift)
{
    const int left_shift = shift > 0 ? shift : 0;
    const int right_shift = shift > 0 ? 0 : -shift;
    return tfl_rdbpot(tfl_srdhm((int32_t)((uint32_t)x * (1u << left_shift)), qm), right_shift);
}
static int32_t tfl_mbqm_single(int32_t x, int32_t qm, int shift)
{
    const int64_t total_shift = 31 - shift;
    const int64_t round = (int64_t)1 << (total_shift - 1);
    int64_t result = x * (int64_t)qm + round;
    result = result >> total_shift;
    return (int32_t)result;
}

static int tflite_random_checks(long n)
{
    long bad = 0;
    for (long i = 0; i < n; i++) {
        const uint8_t arith = (uint8_t)(1 + (i & 1));
        int32_t acc = (i % 5 == 0) ? (int32_t)rnd() : rnd_in(-2000000, 2000000);
        if (i % 97 == 0) acc = INT32_MIN + (int32_t)(rnd() % 3u);
        int32_t m = (i % 13 == 0) ? 0 : (int32_t)(0x40000000u + (rnd() & 0x3fffffffu));
        if (i % 29 == 0) m = INT32_MAX;
        int32_t sh = (m == 0) ? 0 : rnd_in(-31, 4);
        /* a left shift must not overflow int32 (TFLite: undefined there) */
        if (sh > 0 && (acc > (INT32_MAX >> sh) || acc < (INT32_MIN >> sh))) acc >>= sh;
        const int32_t zp = rnd_in(-128, 127), lo = rnd_in(-128, 0), hi = rnd_in(0, 127);
        int64_t want = arith == YONO_ARITH_TFLITE_DOUBLE ? (int64_t)tfl_mbqm_double(acc, m, sh) : (int64_t)tfl_mbqm_single(acc, m, sh);
        if (arith == YONO_ARITH_TFLITE_SINGLE && (want != (int64_t)(int32_t)want)) continue;
        want += zp;
        want = want < lo ? lo : want > hi ? hi : want;
        yono_layer_t l = {0};
        int32_t m31[1] = {m};
        int8_t s8[1] = {(int8_t)sh};
        l.arith = arith;
        l.multiplier_q31 = m31;
        l.shift = s8;
        if (yono_rq(&l, acc, 0, zp, lo, hi) != want) {
            if (bad++ < 5) printf("arith=%d acc=%d M=%d s=%d zp=%d\n", arith, acc, m, sh, zp);
        }
    }
    printf("mismatches %ld\n", bad);
    return bad != 0;
}

int main(void)
{
    char cmd[32];
    if (scanf("%31s", cmd) != 1) return 2;
    if (strcmp(cmd, "requant") == 0) {
        int32_t acc = (int32_t)rd(), m = (int32_t)rd(), s = (int32_t)rd(), zp = (int32_t)rd(), lo = (int32_t)rd(), hi = (int32_t)rd();
        printf("%d\n", yono_requant_clamp(acc, m, s, zp, lo, hi));
        return 0;
    }
    if (strcmp(cmd, "tflrequant") == 0) { /* <arith 1|2> <acc> <M> <shift> <out_zp> <lo> <hi> */
        yono_layer_t l = {0};
        int32_t m31[1];
        int8_t sh[1];
        l.arith = (uint8_t)rd();
        const int32_t acc = (int32_t)rd();
        m31[0] = (int32_t)rd();
        sh[0] = (int8_t)rd();
        const int32_t zp = (int32_t)rd(), lo = (int32_t)rd(), hi = (int32_t)rd();
        l.multiplier_q31 = m31;
        l.shift = sh;
        printf("%d\n", yono_rq(&l, acc, 0, zp, lo, hi));
        return 0;
    }
    if (strcmp(cmd, "tflrandom") == 0) { /* <n> <seed>: yono_rq against TFLite's own code */
        long n = rd();
        rng_state = (uint32_t)rd() | 1u;
        return tflite_random_checks(n);
    }
    if (strcmp(cmd, "random") == 0) {
        long n = rd();
        rng_state = (uint32_t)rd() | 1u;
        return random_checks(n);
    }
    if (strcmp(cmd, "pqrandom") == 0) {
        long n = rd();
        rng_state = (uint32_t)rd() | 1u;
        pq_rng = (uint32_t)rng_state;
        pq_check_result_t r;
        pq_random_checks(n, &r);
        if (r.bad) printf("first bad layer: %s\n", r.first_bad);
        printf("mismatches %ld table %ld\n", r.bad, r.tabled);
        return r.bad != 0;
    }
    if (strcmp(cmd, "layer") != 0) return 2;
    yono_layer_t l = {0};
    l.op = (uint8_t)rd();
    l.arith = (uint8_t)rd();
    l.in_h = (uint16_t)rd(); l.in_w = (uint16_t)rd(); l.in_c = (uint16_t)rd();
    l.out_h = (uint16_t)rd(); l.out_w = (uint16_t)rd(); l.out_c = (uint16_t)rd();
    l.kh = (uint8_t)rd(); l.kw = (uint8_t)rd(); l.stride_h = (uint8_t)rd(); l.stride_w = (uint8_t)rd();
    l.pad_top = (uint8_t)rd(); l.pad_left = (uint8_t)rd(); l.depth_multiplier = (uint8_t)rd();
    l.in_zp = (int8_t)rd(); l.out_zp = (int8_t)rd(); l.act_min = (int8_t)rd(); l.act_max = (int8_t)rd();
    long nw = rd();
    int8_t *w = malloc((size_t)nw + 1);
    for (long i = 0; i < nw; i++) w[i] = (int8_t)rd();
    long nb = rd();
    int32_t *b = malloc(sizeof(int32_t) * ((size_t)nb + 1)), *be = malloc(sizeof(int32_t) * ((size_t)nb + 1));
    for (long i = 0; i < nb; i++) b[i] = (int32_t)rd();
    long nm = rd();
    int16_t *m = malloc(sizeof(int16_t) * ((size_t)nm + 1));
    int32_t *m31 = malloc(sizeof(int32_t) * ((size_t)nm + 1));
    for (long i = 0; i < nm; i++) {
        const long v = rd();
        m[i] = (int16_t)v;
        m31[i] = (int32_t)v;
    }
    long ns = rd();
    int8_t *s = malloc((size_t)ns + 1);
    for (long i = 0; i < ns; i++) s[i] = (int8_t)rd();
    long nx = rd();
    int8_t *x = malloc((size_t)nx + 1);
    for (long i = 0; i < nx; i++) x[i] = (int8_t)rd();
    long nx2 = rd();
    int8_t *x2 = malloc((size_t)nx2 + 1);
    for (long i = 0; i < nx2; i++) x2[i] = (int8_t)rd();
    l.in2_zp = (int8_t)rd();
    l.left_shift = (uint8_t)rd();
    l.in2_h = (uint16_t)rd(); l.in2_w = (uint16_t)rd(); l.in2_c = (uint16_t)rd();
    l.weights = nw > 0 ? w : NULL; /* add/mul: a constant second operand when given */
    l.bias = b; l.bias_eff = be; l.shift = s;
    if (l.arith == YONO_ARITH_YONO15) {
        l.multiplier = m;
    } else {
        l.multiplier_q31 = m31;
    }
    if (nb > 0 && (l.op == YONO_OP_CONV2D || l.op == YONO_OP_DENSE)) fill_bias_eff(&l, be);
    size_t n_out = yono_layer_out_bytes(&l);
    int8_t *y = malloc(n_out + 1);
    int8_t *scratch = malloc(yono_layer_scratch_bytes(&l) + 4); /* malloc: aligned for int32 */
    if (yono_layer_run2(&l, x, nx2 > 0 ? x2 : NULL, y, scratch) != 0) return 3;
    for (size_t i = 0; i < n_out; i++) printf(i ? " %d" : "%d", y[i]);
    printf("\n");
    return 0;
}
