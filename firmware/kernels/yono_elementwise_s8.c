/* Element-wise ops of graph-era models and TFLite's MEAN. lut: a 256-entry table. add, SPEC section 3: TFLite's int8 ADD (tensorflow/lite/kernels/internal/reference/integer_ops/add.h).
 * Each input's (q - zp) * 2^left_shift is rescaled to the common scale (multiplier/shift [0], [1]),
 * the two are summed in int32 and rescaled to the output ([2]); MultiplyByQuantizedMultiplier of the
 * model's arithmetic (shifts <= 0). */
#include <stddef.h>

#include "yono_nn.h"

/* Strides of the second input of add/mul over (h, w, c) of the output: 0 along a broadcast dimension
 * (size 1), so one index walks a full-shape or a broadcast in2 alike. in2 dimensions of 0 (a layer
 * table without them) mean the output's shape. */
static void in2_strides(const yono_layer_t *l, uint32_t *sh, uint32_t *sw, uint32_t *sc)
{
    const uint32_t h2 = l->in2_h ? l->in2_h : l->out_h, w2 = l->in2_w ? l->in2_w : l->out_w, c2 = l->in2_c ? l->in2_c : l->out_c;
    *sc = c2 == 1u ? 0u : 1u;
    *sw = w2 == 1u ? 0u : c2;
    *sh = h2 == 1u ? 0u : w2 * c2;
}

static inline int8_t clamp8(int64_t y, int32_t lo, int32_t hi)
{
    if (y < lo) {
        y = lo;
    }
    if (y > hi) {
        y = hi;
    }
    return (int8_t)y;
}

/* add or mul over the output's (h, w, c), the second input read through its broadcast strides; a
 * constant second operand (l->weights, SPEC section 2) replaces in2. Called with a constant `add`, so
 * each entry point gets its own loop (no per-element branch). */
static inline __attribute__((always_inline)) void binary_s8(const yono_layer_t *l, const int8_t *in, const int8_t *in2, int8_t *out, const int add)
{
    if (l->weights != NULL) {
        in2 = l->weights;
    }
    const int32_t zp1 = l->in_zp, zp2 = l->in2_zp, out_zp = l->out_zp, lo = l->act_min, hi = l->act_max;
    const int32_t m1 = l->multiplier_q31[0], s1 = l->shift[0];
    const int32_t m2 = add ? l->multiplier_q31[1] : 0, s2 = add ? l->shift[1] : 0;
    const int32_t mo = add ? l->multiplier_q31[2] : 0, so = add ? l->shift[2] : 0;
    const uint8_t arith = l->arith;
    const int32_t scale = add ? (int32_t)1 << l->left_shift : 1;
    uint32_t sh, sw, sc;
    in2_strides(l, &sh, &sw, &sc);
    for (uint32_t h = 0; h < l->out_h; h++) {
        for (uint32_t w = 0; w < l->out_w; w++) {
            const int8_t *x2 = in2 + h * sh + w * sw;
            for (uint32_t c = 0; c < l->out_c; c++) {
                const int32_t d1 = (int32_t)*in++ - zp1, d2 = (int32_t)x2[c * sc] - zp2;
                int64_t y;
                if (add) {
                    const int32_t a = (int32_t)yono_tflite_mbqm(arith, d1 * scale, m1, s1);
                    const int32_t b = (int32_t)yono_tflite_mbqm(arith, d2 * scale, m2, s2);
                    y = yono_tflite_mbqm(arith, a + b, mo, so);
                } else {
                    y = yono_tflite_mbqm(arith, d1 * d2, m1, s1);
                }
                *out++ = clamp8(y + out_zp, lo, hi);
            }
        }
    }
}

void yono_add_s8(const yono_layer_t *l, const int8_t *in, const int8_t *in2, int8_t *out)
{
    binary_s8(l, in, in2, out, 1);
}

void yono_mul_s8(const yono_layer_t *l, const int8_t *in, const int8_t *in2, int8_t *out)
{
    binary_s8(l, in, in2, out, 0);
}

void yono_lut_s8(const yono_layer_t *l, const int8_t *in, int8_t *out)
{
    const uint32_t n = (uint32_t)l->out_h * l->out_w * l->out_c;
    const int8_t *t = l->weights + 128;
    for (uint32_t i = 0; i < n; i++) {
        out[i] = t[in[i]];
    }
}

void yono_concat_s8(const yono_layer_t *l, const int8_t *in, const int8_t *in2, int8_t *out)
{
    const uint32_t pixels = (uint32_t)l->out_h * l->out_w, c1 = l->in_c, c2 = (uint32_t)l->out_c - l->in_c;
    for (uint32_t p = 0; p < pixels; p++) {
        for (uint32_t c = 0; c < c1; c++) {
            *out++ = *in++;
        }
        for (uint32_t c = 0; c < c2; c++) {
            *out++ = *in2++;
        }
    }
}

/* TFLite Micro's EvalIntegerMean: one quantization in and out (multiplier 0) -> reference_ops::Mean,
 * the int32 sum of the int8 values divided by n with C's truncation; else QuantizedMeanOrSum:
 * MBQM(sum - n * in_zp) with the multiplier that already holds 1/n, plus out_zp, clamped. */
void yono_mean_s8(const yono_layer_t *l, const int8_t *in, int8_t *out)
{
    const int32_t c_n = l->in_c, n = (int32_t)l->in_h * l->in_w;
    const int32_t m = l->multiplier_q31[0], s = l->shift[0];
    for (int32_t c = 0; c < c_n; c++) {
        const int8_t *x = in + c;
        int32_t sum = 0;
        for (int32_t i = 0; i < n; i++, x += c_n) {
            sum += *x;
        }
        out[c] = m == 0 ? clamp8(sum / n, -128, 127) : clamp8(yono_tflite_mbqm(l->arith, sum - n * (int32_t)l->in_zp, m, s) + l->out_zp, -128, 127);
    }
}
