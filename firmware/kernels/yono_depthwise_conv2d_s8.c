/* depthwise_conv2d, SPEC section 3. Weights are [kh][kw][oc], so for one window tap the filter
 * values of all output channels are contiguous, as are the input channels at one pixel: per
 * output pixel the kernel walks the taps inside the input and adds (x - in_zp) * w into one
 * int32 accumulator per output channel (in scratch). Padding taps are skipped: they hold in_zp,
 * i.e. contribute exactly 0. */
#include "yono_nn.h"

static inline __attribute__((always_inline)) void depthwise(const yono_layer_t *l, const int8_t *in, int8_t *out,
                                                            int32_t *acc, const int yono15)
{
    const int32_t ih = l->in_h, iw = l->in_w, ic_n = l->in_c, oc_n = l->out_c;
    const int32_t kh = l->kh, kw = l->kw, dm = l->depth_multiplier;
    const int32_t in_zp = l->in_zp, out_zp = l->out_zp, lo = l->act_min, hi = l->act_max;
    const int16_t *mult = l->multiplier;
    const int8_t *shift = l->shift;

    for (int32_t oy = 0; oy < (int32_t)l->out_h; oy++) {
        const int32_t iy0 = oy * l->stride_h - l->pad_top;
        for (int32_t ox = 0; ox < (int32_t)l->out_w; ox++) {
            const int32_t ix0 = ox * l->stride_w - l->pad_left;
            for (int32_t oc = 0; oc < oc_n; oc++) {
                acc[oc] = l->bias[oc];
            }
            for (int32_t ky = 0; ky < kh; ky++) {
                const int32_t iy = iy0 + ky;
                if (iy < 0 || iy >= ih) {
                    continue;
                }
                for (int32_t kx = 0; kx < kw; kx++) {
                    const int32_t ix = ix0 + kx;
                    if (ix < 0 || ix >= iw) {
                        continue;
                    }
                    const int8_t *x = in + (iy * iw + ix) * ic_n;
                    const int8_t *w = l->weights + (ky * kw + kx) * oc_n;
                    if (dm == 1) {
                        for (int32_t c = 0; c < ic_n; c++) {
                            acc[c] += ((int32_t)x[c] - in_zp) * w[c];
                        }
                    } else {
                        int32_t *a = acc;
                        for (int32_t c = 0; c < ic_n; c++) {
                            const int32_t v = (int32_t)x[c] - in_zp;
                            for (int32_t d = 0; d < dm; d++) {
                                *a++ += v * *w++;
                            }
                        }
                    }
                }
            }
            for (int32_t oc = 0; oc < oc_n; oc++) {
                *out++ = yono_rq_as(yono15, l, mult, shift, acc[oc], oc, out_zp, lo, hi);
            }
        }
    }
}

void yono_depthwise_conv2d_s8(const yono_layer_t *l, const int8_t *in, int8_t *out, int32_t *acc)
{
    if (l->arith == YONO_ARITH_YONO15) {
        depthwise(l, in, out, acc, 1);
    } else {
        depthwise(l, in, out, acc, 0);
    }
}
