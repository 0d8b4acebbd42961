/* conv2d_pq / dense_pq (firmware/SPEC.md section 4): conv2d and dense whose weights are never
 * materialised. Output channel oc's weight row is row/d chunks; chunk j is the codeword
 * pq_codebook[idx(oc, j) * d ..], read straight from flash while the dot product walks the
 * im2col column (the column order [kh][kw][ic] is the row order, so chunk j multiplies
 * column bytes [j*d, (j+1)*d)). Arithmetic is the int8 kernels' (exact integer sums, in_zp in
 * the effective bias, stored as int16 << pq_bias_shift: yono_pq_bias()), so the result equals the
 * int8 layer the pq layer decodes to, bit for bit. Two output channels per pass share the column.
 *
 * Two ways through a layer, chosen by yono_pq_table_d() (yono_nn.h, the rule of SPEC section 4):
 *  - direct: each chunk's codeword is located through its index (nibble extract, address) and
 *    unpacked for the multiply, per output channel and per output pixel;
 *  - table (conv2d_pq, 4-bit indices, d = 2 or 4): once per layer call the codebook is expanded
 *    into a table with one entry per possible index byte (the two codewords of the byte's two
 *    chunks, 2d weights, already sign-extended into the halfword pairs SMLAD takes); once per
 *    pixel the column is unpacked the same way. Each index byte then costs one byte load, one
 *    address computation, d/2 double-word loads and d SMLADs: no nibble extraction, no unpacking
 *    of weights. The table depends on the codebook only (256 * 4d bytes of scratch), so no decoded
 *    layer is ever held in RAM. */
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
    return yono_pq_row_bytes(s, l->pq_bits);
}

/* All output channels of one position: x is the row-ordered input (column or dense input). */
static void pq_outputs(const yono_layer_t *l, const int8_t *x, uint32_t row, int8_t *out)
{
    const uint32_t s = row / l->pq_d, rb = pq_row_bytes(l, s);
    const int32_t n = l->out_c, out_zp = l->out_zp, lo = l->act_min, hi = l->act_max;
    const uint8_t *ix = l->pq_indices;
    int32_t oc = 0;
    for (; oc + 1 < n; oc += 2, ix += 2u * rb) {
        int32_t a0, a1;
        pq_row2(l, x, ix, ix + rb, s, &a0, &a1);
        *out++ = yono_requant_clamp(yono_pq_bias(l, oc) + a0, l->multiplier[oc], l->shift[oc], out_zp, lo, hi);
        *out++ = yono_requant_clamp(yono_pq_bias(l, oc + 1) + a1, l->multiplier[oc + 1], l->shift[oc + 1], out_zp, lo, hi);
    }
    if (oc < n) {
        int32_t a0, a1;
        pq_row2(l, x, ix, ix, s, &a0, &a1); /* last odd channel: second lane repeats it */
        *out++ = yono_requant_clamp(yono_pq_bias(l, oc) + a0, l->multiplier[oc], l->shift[oc], out_zp, lo, hi);
    }
}

/* im2col of one output pixel, padding = in_zp (contributes (in_zp - in_zp) * w = 0). The same as
 * conv2d's gather_window and kept as a private copy on purpose: sharing it (an inline header, tried
 * 2026-11-22) changed GCC's register allocation in these hot loops and cost up to 9 % instructions. */
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

/* ---- table path (SPEC section 4) ---------------------------------------------------------- */

/* SXTB16 / SMLAD, or their portable C equivalents (same integers) on cores without the DSP
 * extension, so the table path exists (and is tested) in both builds. */
#if YONO_SIMD
#define pq_sx_e(w) yono_sxtb16(w)
#define pq_sx_o(w) yono_sxtb16_ror8(w)
#define pq_mac(a, b, acc) yono_smlad((a), (b), (acc))
static inline uint32_t pq_ld32(const int8_t *p) { return yono_ld32(p); }
#else
static inline uint32_t pq_sx_e(uint32_t x)
{
    return (uint32_t)(uint16_t)(int16_t)(int8_t)x | ((uint32_t)(uint16_t)(int16_t)(int8_t)(x >> 16) << 16);
}
static inline uint32_t pq_sx_o(uint32_t x) { return pq_sx_e(x >> 8); }
static inline int32_t pq_mac(uint32_t a, uint32_t b, int32_t acc)
{
    return acc + (int32_t)(int16_t)a * (int16_t)b + (int32_t)(int16_t)(a >> 16) * (int16_t)(b >> 16);
}
static inline uint32_t pq_ld32(const int8_t *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}
#endif

/* Entry b of the table: the 2d weights of index byte b (codeword b & 15 for the even chunk, then
 * codeword b >> 4 for the odd one) as d words, each 4 weights w0..w3 stored as the pair
 * (w0, w2), (w1, w3) of sign-extended halfwords: the layout pq_unpack gives the column. Entries
 * naming a codeword >= k are never used by a valid index (they hold zeros in its place). Built
 * from 16 per-codeword word pairs u[c], so each entry is two or four stores. */
static void pq_table_build(const int8_t *cb, uint32_t d, uint32_t k, uint32_t *tab)
{
    uint32_t u[16][2];
    if (k == 0u || k > 16u) {
        k = 16u;
    }
    for (uint32_t c = 0; c < 16u; c++) {
        if (c >= k) {
            u[c][0] = u[c][1] = 0u;
        } else if (d == 2u) { /* the codeword's two weights, each as a low halfword */
            u[c][0] = (uint16_t)(int16_t)cb[2u * c];
            u[c][1] = (uint16_t)(int16_t)cb[2u * c + 1u];
        } else { /* d == 4: the codeword's word unpacked */
            const uint32_t w = pq_ld32(cb + 4u * c);
            u[c][0] = pq_sx_e(w);
            u[c][1] = pq_sx_o(w);
        }
    }
    for (uint32_t hi = 0; hi < 16u; hi++) {
        const uint32_t h0 = u[hi][0], h1 = u[hi][1];
        if (d == 2u) { /* (lo w0, hi w0), (lo w1, hi w1) */
            for (uint32_t lo = 0; lo < 16u; lo++, tab += 2) {
                tab[0] = u[lo][0] | (h0 << 16);
                tab[1] = u[lo][1] | (h1 << 16);
            }
        } else {
            for (uint32_t lo = 0; lo < 16u; lo++, tab += 4) {
                tab[0] = u[lo][0];
                tab[1] = u[lo][1];
                tab[2] = h0;
                tab[3] = h1;
            }
        }
    }
}

/* The column (row bytes, row even) as rb * d words in the entry layout, zero beyond row (the
 * padding of an odd chunk count meets the pad nibble's codeword with zeros: product 0). */
static void pq_unpack(const int8_t *col, uint32_t row, uint32_t n_words, uint32_t *xu)
{
    uint32_t *const end = xu + n_words;
    for (uint32_t i = 0; i + 4u <= row; i += 4u) {
        const uint32_t w = pq_ld32(col + i);
        *xu++ = pq_sx_e(w);
        *xu++ = pq_sx_o(w);
    }
    if (row & 2u) { /* d = 2 and an odd chunk count: the last chunk fills half a word */
        const uint32_t w = (uint32_t)(uint8_t)col[row - 2u] | ((uint32_t)(uint8_t)col[row - 1u] << 8);
        *xu++ = pq_sx_e(w);
        *xu++ = pq_sx_o(w);
    }
    while (xu < end) {
        *xu++ = 0u;
    }
}

/* Two output channels over one unpacked column; d words per index byte (entries 4d bytes apart).
 * Words are fetched in pairs (LDRD). */
typedef uint64_t pq_u64_w __attribute__((may_alias, aligned(8))); /* two words, 8-byte aligned (the scratch layout) */
#if defined(__ARM_FEATURE_DSP) && !defined(YONO_NO_DSP)
/* one LDRD with an immediate offset (GCC splits a 64-bit load into two LDRs otherwise); p is
 * evaluated once */
#define pq_ld64(p, off) __extension__({                                                                \
    const uint8_t *const b_ = (const uint8_t *)(p);                                                    \
    uint32_t lo_, hi_;                                                                                 \
    __asm("ldrd %0, %1, [%2, #%c3]" : "=r"(lo_), "=r"(hi_)                                             \
          : "r"(b_), "i"(off), "m"(*(const pq_u64_w *)(const void *)(b_ + (off))));                    \
    (uint64_t)lo_ | ((uint64_t)hi_ << 32);                                                             \
})
#else
#define pq_ld64(p, off) (*(const pq_u64_w *)(const void *)((const uint8_t *)(p) + (off)))
#endif
#define PQ_LO(v) ((uint32_t)(v))
#define PQ_HI(v) ((uint32_t)((v) >> 32))

static void pq_tab2_d2(const uint32_t *xu, const uint8_t *i0, const uint8_t *i1, const uint32_t *tab, uint32_t rb,
                       int32_t *acc0, int32_t *acc1)
{
    int32_t a0 = *acc0, a1 = *acc1;
    const uint8_t *t8 = (const uint8_t *)tab;
    for (const uint8_t *end = i0 + rb; i0 < end; xu += 2) {
        const uint64_t x = pq_ld64(xu, 0);
        const uint64_t e0 = pq_ld64(t8 + ((uint32_t)*i0++ << 3), 0);
        const uint64_t e1 = pq_ld64(t8 + ((uint32_t)*i1++ << 3), 0);
        a0 = pq_mac(PQ_LO(x), PQ_LO(e0), a0);
        a0 = pq_mac(PQ_HI(x), PQ_HI(e0), a0);
        a1 = pq_mac(PQ_LO(x), PQ_LO(e1), a1);
        a1 = pq_mac(PQ_HI(x), PQ_HI(e1), a1);
    }
    *acc0 = a0;
    *acc1 = a1;
}

static void pq_tab2_d4(const uint32_t *xu, const uint8_t *i0, const uint8_t *i1, const uint32_t *tab, uint32_t rb,
                       int32_t *acc0, int32_t *acc1)
{
    int32_t a0 = *acc0, a1 = *acc1;
    const uint8_t *t8 = (const uint8_t *)tab;
    for (const uint8_t *end = i0 + rb; i0 < end; xu += 4) {
        const uint8_t *p0 = t8 + ((uint32_t)*i0++ << 4), *p1 = t8 + ((uint32_t)*i1++ << 4);
        uint64_t x = pq_ld64(xu, 0), e0 = pq_ld64(p0, 0), e1 = pq_ld64(p1, 0);
        a0 = pq_mac(PQ_LO(x), PQ_LO(e0), a0);
        a0 = pq_mac(PQ_HI(x), PQ_HI(e0), a0);
        a1 = pq_mac(PQ_LO(x), PQ_LO(e1), a1);
        a1 = pq_mac(PQ_HI(x), PQ_HI(e1), a1);
        x = pq_ld64(xu, 8);
        e0 = pq_ld64(p0, 8);
        e1 = pq_ld64(p1, 8);
        a0 = pq_mac(PQ_LO(x), PQ_LO(e0), a0);
        a0 = pq_mac(PQ_HI(x), PQ_HI(e0), a0);
        a1 = pq_mac(PQ_LO(x), PQ_LO(e1), a1);
        a1 = pq_mac(PQ_HI(x), PQ_HI(e1), a1);
    }
    *acc0 = a0;
    *acc1 = a1;
}

/* All output channels of one pixel from its unpacked column (d = D, a constant in each call). */
static inline void pq_tab_outputs(const yono_layer_t *l, const uint32_t *xu, const uint32_t *tab, uint32_t rb,
                                  uint32_t D, int8_t *out)
{
    const int32_t n = l->out_c, out_zp = l->out_zp, lo = l->act_min, hi = l->act_max;
    const int16_t *mult = l->multiplier;
    const int8_t *shift = l->shift;
    const uint8_t *ix = l->pq_indices;
    int32_t oc = 0;
    for (; oc + 1 < n; oc += 2, ix += 2u * rb) {
        int32_t a0 = yono_pq_bias(l, oc), a1 = yono_pq_bias(l, oc + 1);
        if (D == 2u) {
            pq_tab2_d2(xu, ix, ix + rb, tab, rb, &a0, &a1);
        } else {
            pq_tab2_d4(xu, ix, ix + rb, tab, rb, &a0, &a1);
        }
        *out++ = yono_requant_clamp(a0, mult[oc], shift[oc], out_zp, lo, hi);
        *out++ = yono_requant_clamp(a1, mult[oc + 1], shift[oc + 1], out_zp, lo, hi);
    }
    if (oc < n) { /* last odd channel: second lane repeats it */
        int32_t a0 = yono_pq_bias(l, oc), a1 = 0;
        if (D == 2u) {
            pq_tab2_d2(xu, ix, ix, tab, rb, &a0, &a1);
        } else {
            pq_tab2_d4(xu, ix, ix, tab, rb, &a0, &a1);
        }
        *out++ = yono_requant_clamp(a0, mult[oc], shift[oc], out_zp, lo, hi);
    }
}

static void pq_conv2d_table(const yono_layer_t *l, const int8_t *in, int8_t *out, int8_t *scratch)
{
    const int32_t ih = l->in_h, iw = l->in_w, ic = l->in_c, kh = l->kh, kw = l->kw;
    const uint32_t d = l->pq_d, row = (uint32_t)(kh * kw * ic), rb = yono_pq_row_bytes(row / d, 4u);
    /* scratch, from its first 8-byte boundary: table (256 * d words) | unpacked column (rb * d
     * words) | gathered column (rb * 2d bytes) */
    uint32_t *const tab = (uint32_t *)(void *)(scratch + ((8u - ((uintptr_t)scratch & 7u)) & 7u));
    uint32_t *const xu = tab + 256u * d;
    int8_t *const colbuf = (int8_t *)(xu + rb * d);
    pq_table_build(l->pq_codebook, d, l->pq_k, tab);
    for (int32_t oy = 0; oy < (int32_t)l->out_h; oy++) {
        const int32_t iy0 = oy * l->stride_h - l->pad_top;
        for (int32_t ox = 0; ox < (int32_t)l->out_w; ox++, out += l->out_c) {
            const int32_t ix0 = ox * l->stride_w - l->pad_left;
            const int inside = iy0 >= 0 && ix0 >= 0 && iy0 + kh <= ih && ix0 + kw <= iw;
            const int8_t *col;
            if (inside && (kh == 1 || kw == iw)) {
                col = in + (iy0 * iw + ix0) * ic; /* window already contiguous */
            } else {
                pq_gather(l, in, iy0, ix0, colbuf);
                col = colbuf;
            }
            pq_unpack(col, row, rb * d, xu);
            if (d == 2u) {
                pq_tab_outputs(l, xu, tab, rb, 2u, out);
            } else {
                pq_tab_outputs(l, xu, tab, rb, 4u, out);
            }
        }
    }
}

/* ---- direct path ------------------------------------------------------------------------------ */

static void pq_conv2d_direct(const yono_layer_t *l, const int8_t *in, int8_t *out, int8_t *scratch)
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

void yono_conv2d_pq_s8_path(const yono_layer_t *l, const int8_t *in, int8_t *out, int8_t *scratch, int table)
{
    if (table && l->pq_bits == 4u && (l->pq_d == 2u || l->pq_d == 4u)) {
        pq_conv2d_table(l, in, out, scratch);
    } else {
        pq_conv2d_direct(l, in, out, scratch);
    }
}

void yono_conv2d_pq_s8(const yono_layer_t *l, const int8_t *in, int8_t *out, int8_t *scratch)
{
    yono_conv2d_pq_s8_path(l, in, out, scratch, yono_pq_table_d(l) != 0u);
}

void yono_dense_pq_s8(const yono_layer_t *l, const int8_t *in, int8_t *out)
{
    pq_outputs(l, in, l->in_c, out);
}
