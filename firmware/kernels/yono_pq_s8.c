/* conv2d_pq / dense_pq (firmware/SPEC.md section 4): conv2d and dense whose weights are never
 * materialised. Output channel oc's weight row is row/d chunks; chunk j is the codeword
 * pq_codebook[idx(oc, j) * d ..], read straight from flash while the dot product walks the
 * im2col column (the column order [kh][kw][ic] is the row order, so chunk j multiplies
 * column bytes [j*d, (j+1)*d)). Arithmetic is the int8 kernels' (exact integer sums, in_zp in
 * bias_eff computed by the code generator from the decoded weights), so the result equals the
 * int8 layer the pq layer decodes to, bit for bit. Two output channels per pass share the column. */
#include "yono_nn.h"
#include "yono_dot_s8.h"

/* 8-bit indices: one byte per chunk. d is a compile-time constant in the specialised calls so the
 * inner dot product unrolls completely. */
static inline void pq_row2_u8(const int8_t *x, const uint8_t *i0, const uint8_t *i1, const int8_t *cb,
                              uint32_t d, uint32_t s, int32_t *acc0, int32_t *acc1)
{
    int32_t a0 = 0, a1 = 0;
    for (uint32_t j = 0; j < s; j++, x += d) {
        int32_t t0, t1;
        yono_dot2_s8(x, cb + (uint32_t)i0[j] * d, cb + (uint32_t)i1[j] * d, d, &t0, &t1);
        a0 += t0;
        a1 += t1;
    }
    *acc0 = a0;
    *acc1 = a1;
}

#if YONO_SIMD
/* d = 8, 8-bit indices (the default): both codewords' two words are loaded straight from flash and
 * multiplied with the column word unpacked once for both channels; no inner loop, no temporaries. */
static inline void pq_row2_u8_d8(const int8_t *x, const uint8_t *i0, const uint8_t *i1, const int8_t *cb,
                                 uint32_t s, int32_t *acc0, int32_t *acc1)
{
    int32_t a0 = 0, a1 = 0;
    for (uint32_t j = 0; j < s; j++, x += 8) {
        const int8_t *w0 = cb + ((uint32_t)i0[j] << 3), *w1 = cb + ((uint32_t)i1[j] << 3);
        for (uint32_t h = 0; h < 8u; h += 4u) {
            const uint32_t xv = yono_ld32(x + h);
            const uint32_t xe = yono_sxtb16(xv), xo = yono_sxtb16_ror8(xv);
            const uint32_t v0 = yono_ld32(w0 + h), v1 = yono_ld32(w1 + h);
            a0 = yono_smlad(xe, yono_sxtb16(v0), a0);
            a0 = yono_smlad(xo, yono_sxtb16_ror8(v0), a0);
            a1 = yono_smlad(xe, yono_sxtb16(v1), a1);
            a1 = yono_smlad(xo, yono_sxtb16_ror8(v1), a1);
        }
    }
    *acc0 = a0;
    *acc1 = a1;
}
#endif

/* 4-bit indices: chunk 2m in the low nibble of byte m, chunk 2m+1 in the high nibble. */
static inline void pq_row2_u4(const int8_t *x, const uint8_t *i0, const uint8_t *i1, const int8_t *cb,
                              uint32_t d, uint32_t s, int32_t *acc0, int32_t *acc1)
{
    int32_t a0 = 0, a1 = 0;
    for (uint32_t j = 0; j < s; j++, x += d) {
        const uint32_t sh = (j & 1u) * 4u;
        const uint32_t k0 = ((uint32_t)i0[j >> 1] >> sh) & 15u, k1 = ((uint32_t)i1[j >> 1] >> sh) & 15u;
        int32_t t0, t1;
        yono_dot2_s8(x, cb + k0 * d, cb + k1 * d, d, &t0, &t1);
        a0 += t0;
        a1 += t1;
    }
    *acc0 = a0;
    *acc1 = a1;
}

#if YONO_SIMD
/* 4-bit indices, d = 4 (the zoo's large layers): one index byte = two chunks = 8 column bytes; each
 * codeword is one word loaded straight from flash, the column words are unpacked once for both
 * channels. Per 8 weights and channel: 1 index byte, 2 codeword words, 4 unpacks, 4 dual MACs. */
static inline void pq_quad_d4(uint32_t xe, uint32_t xo, const int8_t *w, int32_t *a)
{
    const uint32_t v = yono_ld32(w);
    *a = yono_smlad(xe, yono_sxtb16(v), *a);
    *a = yono_smlad(xo, yono_sxtb16_ror8(v), *a);
}

static inline void pq_row2_u4_d4(const int8_t *x, const uint8_t *i0, const uint8_t *i1, const int8_t *cb,
                                 uint32_t s, int32_t *acc0, int32_t *acc1)
{
    int32_t a0 = 0, a1 = 0;
    uint32_t m = 0;
    for (; m < (s >> 1); m++, x += 8) {
        const uint32_t b0 = i0[m], b1 = i1[m];
        const uint32_t xa = yono_ld32(x), xb = yono_ld32(x + 4);
        const uint32_t xae = yono_sxtb16(xa), xao = yono_sxtb16_ror8(xa);
        const uint32_t xbe = yono_sxtb16(xb), xbo = yono_sxtb16_ror8(xb);
        pq_quad_d4(xae, xao, cb + ((b0 & 15u) << 2), &a0);
        pq_quad_d4(xbe, xbo, cb + ((b0 >> 4) << 2), &a0);
        pq_quad_d4(xae, xao, cb + ((b1 & 15u) << 2), &a1);
        pq_quad_d4(xbe, xbo, cb + ((b1 >> 4) << 2), &a1);
    }
    if (s & 1u) { /* odd chunk count: the last chunk is the low nibble of the last byte */
        const uint32_t xa = yono_ld32(x);
        const uint32_t xae = yono_sxtb16(xa), xao = yono_sxtb16_ror8(xa);
        pq_quad_d4(xae, xao, cb + ((i0[m] & 15u) << 2), &a0);
        pq_quad_d4(xae, xao, cb + ((i1[m] & 15u) << 2), &a1);
    }
    *acc0 = a0;
    *acc1 = a1;
}

/* Two d = 2 codewords (the chunks of one index byte) as one word matching 4 column bytes. */
static inline uint32_t pq_pair_d2(const int8_t *cb, uint32_t b)
{
    uint16_t lo, hi;
    __builtin_memcpy(&lo, cb + ((b & 15u) << 1), 2);
    __builtin_memcpy(&hi, cb + ((b >> 4) << 1), 2);
    return (uint32_t)lo | ((uint32_t)hi << 16);
}

/* 4-bit indices, d = 2 (small and first layers): one index byte = 4 column bytes = one word. */
static inline void pq_row2_u4_d2(const int8_t *x, const uint8_t *i0, const uint8_t *i1, const int8_t *cb,
                                 uint32_t s, int32_t *acc0, int32_t *acc1)
{
    int32_t a0 = 0, a1 = 0;
    uint32_t m = 0;
    for (; m < (s >> 1); m++, x += 4) {
        const uint32_t xv = yono_ld32(x);
        const uint32_t xe = yono_sxtb16(xv), xo = yono_sxtb16_ror8(xv);
        const uint32_t v0 = pq_pair_d2(cb, i0[m]), v1 = pq_pair_d2(cb, i1[m]);
        a0 = yono_smlad(xe, yono_sxtb16(v0), a0);
        a0 = yono_smlad(xo, yono_sxtb16_ror8(v0), a0);
        a1 = yono_smlad(xe, yono_sxtb16(v1), a1);
        a1 = yono_smlad(xo, yono_sxtb16_ror8(v1), a1);
    }
    if (s & 1u) {
        const int8_t *w0 = cb + ((i0[m] & 15u) << 1), *w1 = cb + ((i1[m] & 15u) << 1);
        a0 += (int32_t)x[0] * w0[0] + (int32_t)x[1] * w0[1];
        a1 += (int32_t)x[0] * w1[0] + (int32_t)x[1] * w1[1];
    }
    *acc0 = a0;
    *acc1 = a1;
}
#endif

static void pq_row2(const yono_layer_t *l, const int8_t *x, const uint8_t *i0, const uint8_t *i1, uint32_t s,
                    int32_t *a0, int32_t *a1)
{
    const int8_t *cb = l->pq_codebook;
    if (l->pq_bits == 8u) {
        switch (l->pq_d) {
        case 4:
            pq_row2_u8(x, i0, i1, cb, 4u, s, a0, a1);
            return;
        case 8:
#if YONO_SIMD
            pq_row2_u8_d8(x, i0, i1, cb, s, a0, a1);
#else
            pq_row2_u8(x, i0, i1, cb, 8u, s, a0, a1);
#endif
            return;
        case 16:
            pq_row2_u8(x, i0, i1, cb, 16u, s, a0, a1);
            return;
        default:
            pq_row2_u8(x, i0, i1, cb, l->pq_d, s, a0, a1);
            return;
        }
    }
    switch (l->pq_d) {
    case 2:
#if YONO_SIMD
        pq_row2_u4_d2(x, i0, i1, cb, s, a0, a1);
#else
        pq_row2_u4(x, i0, i1, cb, 2u, s, a0, a1);
#endif
        return;
    case 4:
#if YONO_SIMD
        pq_row2_u4_d4(x, i0, i1, cb, s, a0, a1);
#else
        pq_row2_u4(x, i0, i1, cb, 4u, s, a0, a1);
#endif
        return;
    case 8:
        pq_row2_u4(x, i0, i1, cb, 8u, s, a0, a1);
        return;
    default:
        pq_row2_u4(x, i0, i1, cb, l->pq_d, s, a0, a1);
        return;
    }
}

/* Bytes of one packed index row. */
static inline uint32_t pq_row_bytes(const yono_layer_t *l, uint32_t s)
{
    return l->pq_bits == 8u ? s : (s + 1u) / 2u;
}

/* All output channels of one position: x is the row-ordered input (column or dense input). */
static void pq_outputs(const yono_layer_t *l, const int8_t *x, uint32_t row, int8_t *out)
{
    const uint32_t s = row / l->pq_d, rb = pq_row_bytes(l, s);
    const int32_t n = l->out_c, out_zp = l->out_zp, lo = l->act_min, hi = l->act_max;
    const int32_t *bias = l->bias_eff;
    const uint8_t *ix = l->pq_indices;
    int32_t oc = 0;
    for (; oc + 1 < n; oc += 2, ix += 2u * rb) {
        int32_t a0, a1;
        pq_row2(l, x, ix, ix + rb, s, &a0, &a1);
        *out++ = yono_requant_clamp(bias[oc] + a0, l->multiplier[oc], l->shift[oc], out_zp, lo, hi);
        *out++ = yono_requant_clamp(bias[oc + 1] + a1, l->multiplier[oc + 1], l->shift[oc + 1], out_zp, lo, hi);
    }
    if (oc < n) {
        int32_t a0, a1;
        pq_row2(l, x, ix, ix, s, &a0, &a1); /* last odd channel: second lane repeats it */
        *out++ = yono_requant_clamp(bias[oc] + a0, l->multiplier[oc], l->shift[oc], out_zp, lo, hi);
    }
}

/* im2col of one output pixel, padding = in_zp (contributes (in_zp - in_zp) * w = 0). */
static void pq_gather(const yono_layer_t *l, const int8_t *in, int32_t iy0, int32_t ix0, int8_t *col)
{
    const int32_t ih = l->in_h, iw = l->in_w, ic = l->in_c;
    for (int32_t ky = 0; ky < l->kh; ky++) {
        const int32_t iy = iy0 + ky;
        for (int32_t kx = 0; kx < l->kw; kx++) {
            const int32_t ix = ix0 + kx;
            if (iy < 0 || iy >= ih || ix < 0 || ix >= iw) {
                for (int32_t c = 0; c < ic; c++) {
                    *col++ = l->in_zp;
                }
            } else {
                const int8_t *p = in + (iy * iw + ix) * ic;
                for (int32_t c = 0; c < ic; c++) {
                    *col++ = *p++;
                }
            }
        }
    }
}

void yono_conv2d_pq_s8(const yono_layer_t *l, const int8_t *in, int8_t *out, int8_t *scratch)
{
    const int32_t ih = l->in_h, iw = l->in_w, ic = l->in_c, kh = l->kh, kw = l->kw;
    const uint32_t row = (uint32_t)(kh * kw * ic);
    const uint32_t step = l->out_c;
    for (int32_t oy = 0; oy < (int32_t)l->out_h; oy++) {
        const int32_t iy0 = oy * l->stride_h - l->pad_top;
        for (int32_t ox = 0; ox < (int32_t)l->out_w; ox++, out += step) {
            const int32_t ix0 = ox * l->stride_w - l->pad_left;
            const int inside = iy0 >= 0 && ix0 >= 0 && iy0 + kh <= ih && ix0 + kw <= iw;
            const int8_t *col;
            if (inside && (kh == 1 || kw == iw)) {
                col = in + (iy0 * iw + ix0) * ic; /* window already contiguous */
            } else {
                pq_gather(l, in, iy0, ix0, scratch);
                col = scratch;
            }
            pq_outputs(l, col, row, out);
        }
    }
}

void yono_dense_pq_s8(const yono_layer_t *l, const int8_t *in, int8_t *out)
{
    pq_outputs(l, in, l->in_c, out);
}
