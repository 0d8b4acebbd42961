/* dense (fully connected), SPEC section 3: the input is the previous tensor flattened (h,w,c),
 * which is simply its memory order. in_zp is hoisted into bias_eff; two outputs per pass. */
#include "yono_nn.h"
#include "yono_dot_s8.h"

static inline __attribute__((always_inline)) void dense(const yono_layer_t *l, const int8_t *in, int8_t *out, const int yono15)
{
    const uint32_t n_in = l->in_c;
    const int32_t n_out = l->out_c;
    const int32_t out_zp = l->out_zp, lo = l->act_min, hi = l->act_max;
    const int32_t *bias = l->bias_eff;
    const int8_t *w = l->weights;
    const int16_t *mult = l->multiplier;
    const int8_t *shift = l->shift;
    int32_t o = 0;
    for (; o + 1 < n_out; o += 2, w += 2 * n_in) {
        int32_t a0, a1;
        yono_dot2_s8(in, w, w + n_in, n_in, &a0, &a1);
        out[o] = yono_rq_as(yono15, l, mult, shift, bias[o] + a0, o, out_zp, lo, hi);
        out[o + 1] = yono_rq_as(yono15, l, mult, shift, bias[o + 1] + a1, o + 1, out_zp, lo, hi);
    }
    if (o < n_out) {
        const int32_t a = bias[o] + yono_dot_s8(in, w, n_in);
        out[o] = yono_rq_as(yono15, l, mult, shift, a, o, out_zp, lo, hi);
    }
}

void yono_dense_s8(const yono_layer_t *l, const int8_t *in, int8_t *out)
{
    if (l->arith == YONO_ARITH_YONO15) {
        dense(l, in, out, 1);
    } else {
        dense(l, in, out, 0);
    }
}
