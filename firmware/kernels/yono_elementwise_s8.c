/* Element-wise ops of graph-era models. lut: a 256-entry table. add, SPEC section 3: TFLite's int8 ADD (tensorflow/lite/kernels/internal/reference/integer_ops/add.h).
 * Each input's (q - zp) * 2^left_shift is rescaled to the common scale (multiplier/shift [0], [1]),
 * the two are summed in int32 and rescaled to the output ([2]); MultiplyByQuantizedMultiplier of the
 * model's arithmetic (shifts <= 0). */
#include "yono_nn.h"

void yono_add_s8(const yono_layer_t *l, const int8_t *in, const int8_t *in2, int8_t *out)
{
    const uint32_t n = (uint32_t)l->out_h * l->out_w * l->out_c;
    const int32_t zp1 = l->in_zp, zp2 = l->in2_zp, out_zp = l->out_zp, lo = l->act_min, hi = l->act_max;
    const int32_t m1 = l->multiplier_q31[0], m2 = l->multiplier_q31[1], mo = l->multiplier_q31[2];
    const int32_t s1 = l->shift[0], s2 = l->shift[1], so = l->shift[2];
    const uint8_t arith = l->arith;
    const int32_t scale = (int32_t)1 << l->left_shift;
    for (uint32_t i = 0; i < n; i++) {
        const int32_t a = (int32_t)yono_tflite_mbqm(arith, ((int32_t)in[i] - zp1) * scale, m1, s1);
        const int32_t b = (int32_t)yono_tflite_mbqm(arith, ((int32_t)in2[i] - zp2) * scale, m2, s2);
        int64_t y = yono_tflite_mbqm(arith, a + b, mo, so) + out_zp;
        if (y < lo) {
            y = lo;
        }
        if (y > hi) {
            y = hi;
        }
        out[i] = (int8_t)y;
    }
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

void yono_mul_s8(const yono_layer_t *l, const int8_t *in, const int8_t *in2, int8_t *out)
{
    const uint32_t n = (uint32_t)l->out_h * l->out_w * l->out_c;
    const int32_t zp1 = l->in_zp, zp2 = l->in2_zp, out_zp = l->out_zp, lo = l->act_min, hi = l->act_max;
    const int32_t m = l->multiplier_q31[0], s = l->shift[0];
    for (uint32_t i = 0; i < n; i++) {
        int64_t y = yono_tflite_mbqm(l->arith, ((int32_t)in[i] - zp1) * ((int32_t)in2[i] - zp2), m, s) + out_zp;
        if (y < lo) {
            y = lo;
        }
        if (y > hi) {
            y = hi;
        }
        out[i] = (int8_t)y;
    }
}
