/* Pooling kernels, SPEC section 3. */
#include "yono_nn.h"

/* maxpool2d without padding: per output pixel, take the running max over the window rows,
 * walking all channels contiguously. */
void yono_maxpool2d_s8(const yono_layer_t *l, const int8_t *in, int8_t *out)
{
    const int32_t iw = l->in_w, c_n = l->in_c;
    const int32_t kh = l->kh, kw = l->kw;
    for (int32_t oy = 0; oy < (int32_t)l->out_h; oy++) {
        for (int32_t ox = 0; ox < (int32_t)l->out_w; ox++, out += c_n) {
            for (int32_t c = 0; c < c_n; c++) {
                out[c] = -128;
            }
            for (int32_t ky = 0; ky < kh; ky++) {
                const int8_t *x = in + ((oy * l->stride_h + ky) * iw + ox * l->stride_w) * c_n;
                for (int32_t kx = 0; kx < kw; kx++) {
                    for (int32_t c = 0; c < c_n; c++, x++) {
                        if (*x > out[c]) {
                            out[c] = *x;
                        }
                    }
                }
            }
        }
    }
}

/* avgpool_global: acc = sum_{h,w} (x - in_zp) per channel; the 1/(H*W) is in the multiplier. */
void yono_avgpool_global_s8(const yono_layer_t *l, const int8_t *in, int8_t *out)
{
    const int32_t c_n = l->in_c;
    const int32_t hw = (int32_t)l->in_h * l->in_w;
    for (int32_t c = 0; c < c_n; c++) {
        const int8_t *x = in + c;
        int32_t acc = 0;
        for (int32_t i = 0; i < hw; i++, x += c_n) {
            acc += *x;
        }
        if (l->arith != YONO_ARITH_YONO15) {
            out[c] = yono_tflite_average(acc, hw); /* TFLite: in_zp == out_zp, no rescaling */
            continue;
        }
        acc -= hw * (int32_t)l->in_zp;
        out[c] = yono_requant_clamp(acc, l->multiplier[0], l->shift[0], l->out_zp, -128, 127);
    }
}

/* avgpool2d without padding: acc = sum over the kh x kw window of (x - in_zp) per channel; the
 * 1/(kh*kw) and the scale ratio are in the multiplier. in_zp is subtracted once per window. */
void yono_avgpool2d_s8(const yono_layer_t *l, const int8_t *in, int8_t *out)
{
    const int32_t iw = l->in_w, c_n = l->in_c;
    const int32_t kh = l->kh, kw = l->kw;
    const int tflite = l->arith != YONO_ARITH_YONO15; /* TFLite: rounded mean, in_zp == out_zp */
    const int32_t zp_sum = tflite ? 0 : kh * kw * (int32_t)l->in_zp;
    for (int32_t oy = 0; oy < (int32_t)l->out_h; oy++) {
        for (int32_t ox = 0; ox < (int32_t)l->out_w; ox++) {
            const int8_t *base = in + (oy * l->stride_h * iw + ox * l->stride_w) * c_n;
            for (int32_t c = 0; c < c_n; c++) {
                int32_t acc = -zp_sum;
                for (int32_t ky = 0; ky < kh; ky++) {
                    const int8_t *x = base + ky * iw * c_n + c;
                    for (int32_t kx = 0; kx < kw; kx++, x += c_n) {
                        acc += *x;
                    }
                }
                *out++ = tflite ? yono_tflite_average(acc, kh * kw)
                                : yono_requant_clamp(acc, l->multiplier[0], l->shift[0], l->out_zp, -128, 127);
            }
        }
    }
}
