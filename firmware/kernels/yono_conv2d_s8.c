/* conv2d, SPEC section 3. Per output pixel the window is gathered once into a column buffer
 * (im2col), padding filled with in_zp so it contributes (in_zp - in_zp) * w = 0; then every
 * output channel is one contiguous dot product of K = kh*kw*ic bytes against its filter
 * ([oc][kh][kw][ic] is exactly the column order), with in_zp hoisted into bias_eff
 * (bias - in_zp * sum(w)): exact in integer math. Windows that are already contiguous in the
 * input (kh == 1 or kw == in_w, fully inside) skip the copy. */
#include "yono_nn.h"
#include "yono_dot_s8.h"

static void gather_window(const yono_layer_t *l, const int8_t *in, int32_t iy0, int32_t ix0,
                          int8_t *col)
{
    const int32_t ih = l->in_h, iw = l->in_w, ic = l->in_c;
    const int8_t pad = l->in_zp;
    for (int32_t ky = 0; ky < l->kh; ky++) {
        const int32_t iy = iy0 + ky;
        for (int32_t kx = 0; kx < l->kw; kx++) {
            const int32_t ix = ix0 + kx;
            if (iy < 0 || iy >= ih || ix < 0 || ix >= iw) {
                for (int32_t c = 0; c < ic; c++) {
                    *col++ = pad;
                }
            } else {
                const int8_t *x = in + (iy * iw + ix) * ic;
                for (int32_t c = 0; c < ic; c++) {
                    *col++ = *x++;
                }
            }
        }
    }
}

static inline __attribute__((always_inline)) void conv2d(const yono_layer_t *l, const int8_t *in, int8_t *out,
                                                         int8_t *scratch, const int yono15)
{
    const int32_t ih = l->in_h, iw = l->in_w, ic = l->in_c;
    const int32_t oc_n = l->out_c, kh = l->kh, kw = l->kw;
    const uint32_t k = (uint32_t)(kh * kw * ic);
    const int32_t out_zp = l->out_zp, lo = l->act_min, hi = l->act_max;
    const int32_t *bias = l->bias_eff;
    const int16_t *mult = l->multiplier;
    const int8_t *shift = l->shift;

    for (int32_t oy = 0; oy < (int32_t)l->out_h; oy++) {
        const int32_t iy0 = oy * l->stride_h - l->pad_top;
        for (int32_t ox = 0; ox < (int32_t)l->out_w; ox++) {
            const int32_t ix0 = ox * l->stride_w - l->pad_left;
            const int inside = iy0 >= 0 && ix0 >= 0 && iy0 + kh <= ih && ix0 + kw <= iw;
            const int8_t *col;
            if (inside && (kh == 1 || kw == iw)) {
                col = in + (iy0 * iw + ix0) * ic;
            } else {
                gather_window(l, in, iy0, ix0, scratch);
                col = scratch;
            }
            const int8_t *w = l->weights;
            int32_t oc = 0;
            for (; oc + 1 < oc_n; oc += 2, w += 2 * k) {
                int32_t a0, a1;
                yono_dot2_s8(col, w, w + k, k, &a0, &a1);
                *out++ = yono_rq_as(yono15, l, mult, shift, bias[oc] + a0, oc, out_zp, lo, hi);
                *out++ = yono_rq_as(yono15, l, mult, shift, bias[oc + 1] + a1, oc + 1, out_zp, lo, hi);
            }
            if (oc < oc_n) {
                const int32_t a = bias[oc] + yono_dot_s8(col, w, k);
                *out++ = yono_rq_as(yono15, l, mult, shift, a, oc, out_zp, lo, hi);
            }
        }
    }
}

void yono_conv2d_s8(const yono_layer_t *l, const int8_t *in, int8_t *out, int8_t *scratch)
{
    if (l->arith == YONO_ARITH_YONO15) {
        conv2d(l, in, out, scratch, 1);
    } else {
        conv2d(l, in, out, scratch, 0);
    }
}
