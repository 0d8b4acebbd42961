/* Random conv2d_pq / dense_pq layers checked against the naive conv2d/dense of their decoded weights
 * (SPEC section 4): the direct path, the table path and the rule's choice (yono_layer_run), each
 * with a scratch of exactly the advertised size inside guard bytes (and misaligned to 4 mod 8 on
 * every other layer). Header-only and libc-free so that the same checks run natively
 * (kernel_driver.c: plain C and the emulated DSP path) and on the emulated Cortex-M4 itself
 * (pq_target.c: the real SXTB16/SMLAD/LDRD code). */
#ifndef YONO_TEST_PQ_RANDOM_H
#define YONO_TEST_PQ_RANDOM_H

#include <stdint.h>

#include "yono_nn.h"

static uint32_t pq_rng = 1u;
static uint32_t pq_rnd(void)
{
    pq_rng ^= pq_rng << 13;
    pq_rng ^= pq_rng >> 17;
    pq_rng ^= pq_rng << 5;
    return pq_rng;
}
static int32_t pq_rnd_in(int32_t lo, int32_t hi) { return lo + (int32_t)(pq_rnd() % (uint32_t)(hi - lo + 1)); }

/* SPEC section 3 requant + clamp, literally (64-bit) */
static int32_t pq_spec_requant_clamp(int32_t acc, int32_t m, int32_t s, int32_t zp, int32_t lo, int32_t hi)
{
    int64_t y = zp + (((int64_t)acc * m + ((int64_t)1 << (s - 1))) >> s);
    return (int32_t)(y < lo ? lo : y > hi ? hi : y);
}

/* naive conv2d of SPEC section 3 (a dense layer is the 1x1 conv of one pixel) */
static void pq_naive_conv(const yono_layer_t *l, const int8_t *w, const int8_t *x, int8_t *y)
{
    for (int oy = 0; oy < l->out_h; oy++)
        for (int ox = 0; ox < l->out_w; ox++)
            for (int oc = 0; oc < l->out_c; oc++) {
                int32_t acc = l->bias[oc];
                for (int ky = 0; ky < l->kh; ky++)
                    for (int kx = 0; kx < l->kw; kx++) {
                        int iy = oy * l->stride_h - l->pad_top + ky, ix = ox * l->stride_w - l->pad_left + kx;
                        if (iy < 0 || iy >= l->in_h || ix < 0 || ix >= l->in_w) continue;
                        for (int ic = 0; ic < l->in_c; ic++)
                            acc += (x[(iy * l->in_w + ix) * l->in_c + ic] - l->in_zp) *
                                   w[((oc * l->kh + ky) * l->kw + kx) * l->in_c + ic];
                    }
                *y++ = (int8_t)pq_spec_requant_clamp(acc, l->multiplier[oc], l->shift[oc], l->out_zp, l->act_min, l->act_max);
            }
}

/* Packs one row's indices (4-bit: chunk 2m in the low nibble of byte m; 8-bit: one byte each). */
static uint32_t pq_pack_row(const uint32_t *idx, uint32_t s, uint32_t bits, uint8_t *dst)
{
    if (bits == 8u) {
        for (uint32_t j = 0; j < s; j++) dst[j] = (uint8_t)idx[j];
        return s;
    }
    const uint32_t rb = (s + 1u) / 2u;
    for (uint32_t j = 0; j < rb; j++) dst[j] = 0;
    for (uint32_t j = 0; j < s; j++) dst[j >> 1] |= (uint8_t)(idx[j] << ((j & 1u) * 4u));
    return rb;
}

#define PQ_GUARD 64u
/* A scratch of n bytes at 8-byte offset mis (0 or 4) inside buf (8-byte aligned), guards 0x5a. */
static int8_t *pq_guarded_scratch(uint32_t n, uint32_t mis, int8_t *buf)
{
    for (uint32_t i = 0; i < n + 2u * PQ_GUARD + 8u; i++) buf[i] = 0x5a;
    return buf + PQ_GUARD + mis;
}
static int pq_guard_broken(uint32_t n, const int8_t *p)
{
    for (uint32_t i = 1; i <= PQ_GUARD - 8u; i++) {
        if (p[-(int32_t)i] != 0x5a || p[n + i - 1u] != 0x5a) return 1;
    }
    return 0;
}

static int pq_differs(const int8_t *a, const int8_t *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (a[i] != b[i]) return 1;
    }
    return 0;
}

typedef struct {
    long bad;         /* layers (x paths) that differ from the naive result or broke a guard */
    long tabled;      /* layers the rule (yono_pq_table_d) sent to the table path */
    char first_bad[96]; /* "path op d bits k kh kw in_h in_w in_c out_c" of the first failure */
} pq_check_result_t;

static char *pq_put_u(char *p, uint32_t v)
{
    char t[12];
    int n = 0;
    do {
        t[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n) *p++ = t[--n];
    *p++ = ' ';
    return p;
}

static void pq_note(pq_check_result_t *r, const char *path, const yono_layer_t *l, uint32_t k)
{
    if (r->bad++ != 0) return;
    char *p = r->first_bad;
    while (*path) *p++ = *path++;
    *p++ = ' ';
    const uint32_t v[] = {l->op, l->pq_d, l->pq_bits, k, l->kh, l->kw, l->in_h, l->in_w, l->in_c, l->out_c};
    for (uint32_t i = 0; i < sizeof v / sizeof v[0]; i++) p = pq_put_u(p, v[i]);
    p[-1] = 0;
}

static void pq_random_checks(long n, pq_check_result_t *r)
{
    static int8_t x[8192], y[65536], y2[65536], w[65536], cb[256 * 8];
    static uint8_t ix[16384];
    static uint32_t idx[4096];
    static int32_t b[64], be[64];
    static int16_t be16[64];
    static int16_t mu[64];
    static int8_t sh[64];
    static int64_t scratch_store[(16384 + 2 * PQ_GUARD + 16) / 8];
    int8_t *const sbuf = (int8_t *)scratch_store;
    static const uint32_t ds[] = {2, 4, 2, 4, 2, 4, 1, 3, 8};
    r->bad = 0;
    r->tabled = 0;
    r->first_bad[0] = 0;
    for (long t = 0; t < n; t++) {
        yono_layer_t l = {0};
        const int dense = (t % 5) == 4;
        l.op = dense ? YONO_OP_DENSE_PQ : YONO_OP_CONV2D_PQ;
        uint32_t d, row;
        do {
            if (dense) {
                l.kh = l.kw = 1;
                l.in_c = (uint16_t)pq_rnd_in(1, 300);
            } else if ((t & 7) == 3) { /* the zoo's kws_dscnn first layer: 10x4 on one channel */
                l.kh = 10;
                l.kw = 4;
                l.in_c = 1;
            } else {
                l.kh = (uint8_t)pq_rnd_in(1, 4);
                l.kw = (uint8_t)pq_rnd_in(1, 5);
                l.in_c = (uint16_t)pq_rnd_in(1, 32);
            }
            d = ds[pq_rnd() % (sizeof ds / sizeof ds[0])];
            row = (uint32_t)l.kh * l.kw * l.in_c;
        } while (row % d != 0u || row > 512u);
        l.stride_h = l.stride_w = 1;
        if (!dense) {
            l.stride_h = (uint8_t)pq_rnd_in(1, 3);
            l.stride_w = (uint8_t)pq_rnd_in(1, 3);
            l.pad_top = (uint8_t)pq_rnd_in(0, l.kh - 1);
            l.pad_left = (uint8_t)pq_rnd_in(0, l.kw - 1);
            l.in_h = (uint16_t)pq_rnd_in(l.kh, l.kh + 6);
            l.in_w = (uint16_t)pq_rnd_in(l.kw, l.kw + 6);
            l.out_h = (uint16_t)((l.in_h + l.pad_top - 1) / l.stride_h + 1);
            l.out_w = (uint16_t)((l.in_w + l.pad_left - 1) / l.stride_w + 1);
        } else {
            l.in_h = l.in_w = l.out_h = l.out_w = 1;
        }
        l.out_c = (uint16_t)pq_rnd_in(1, 40);
        const uint32_t bits = (t % 7) == 6 ? 8u : 4u;
        const uint32_t k = bits == 8u ? (uint32_t)pq_rnd_in(2, 256 / (int32_t)d) : (uint32_t)pq_rnd_in(2, 16);
        for (uint32_t i = 0; i < k * d; i++) cb[i] = (int8_t)pq_rnd_in(-127, 127);
        l.pq_codebook = cb;
        l.pq_d = (uint8_t)d;
        l.pq_bits = (uint8_t)bits;
        l.pq_k = (uint8_t)(k > 255u ? 0u : k);
        const uint32_t s = row / d;
        uint8_t *ip = ix;
        for (uint32_t oc = 0; oc < l.out_c; oc++) {
            for (uint32_t j = 0; j < s; j++) {
                idx[j] = pq_rnd() % k;
                for (uint32_t q = 0; q < d; q++) w[oc * row + j * d + q] = cb[idx[j] * d + q];
            }
            ip += pq_pack_row(idx, s, bits, ip);
        }
        l.pq_indices = ix;
        l.in_zp = (int8_t)pq_rnd_in(-128, 127);
        l.out_zp = (int8_t)pq_rnd_in(-128, 127);
        l.act_min = (int8_t)pq_rnd_in(-128, 0);
        l.act_max = (int8_t)pq_rnd_in(0, 127);
        for (uint32_t i = 0; i < (uint32_t)l.in_h * l.in_w * l.in_c; i++) x[i] = (int8_t)pq_rnd_in(-128, 127);
        int32_t be_max = 0;
        for (uint32_t c = 0; c < l.out_c; c++) {
            b[c] = pq_rnd_in(-100000, 100000);
            mu[c] = (int16_t)pq_rnd_in(16384, 32767);
            sh[c] = (int8_t)pq_rnd_in(14, 24);
            int32_t sum = 0; /* effective bias from the decoded weights, as the code generator computes it */
            for (uint32_t j = 0; j < row; j++) sum += w[c * row + j];
            be[c] = b[c] - l.in_zp * sum;
            if (be[c] > be_max) be_max = be[c];
            if (-be[c] > be_max) be_max = -be[c];
        }
        /* stored as int16 << shift; the reference bias is the one the stored value stands for
         * (what compression's snapping does) */
        uint8_t bshift = 0;
        while ((be_max >> bshift) > 32767) bshift++;
        for (uint32_t c = 0; c < l.out_c; c++) {
            be16[c] = (int16_t)(be[c] / (1 << bshift));
            b[c] += be16[c] * (1 << bshift) - be[c];
        }
        l.bias = b;
        l.bias_eff = 0;
        l.pq_bias_eff = be16;
        l.pq_bias_shift = bshift;
        l.multiplier = mu;
        l.shift = sh;
        const uint32_t n_out = (uint32_t)l.out_h * l.out_w * l.out_c;
        pq_naive_conv(&l, w, x, y2);
        /* the rule's choice through the dispatcher, scratch exactly yono_layer_scratch_bytes */
        const uint32_t need = yono_layer_scratch_bytes(&l);
        int8_t *sp = pq_guarded_scratch(need, (uint32_t)(t & 1) * 4u, sbuf);
        for (uint32_t i = 0; i < n_out; i++) y[i] = 0x11;
        if (yono_layer_run(&l, x, y, sp) != 0 || pq_differs(y, y2, n_out) || pq_guard_broken(need, sp)) {
            pq_note(r, "rule", &l, k);
        }
        if (yono_pq_table_d(&l) != 0u) r->tabled++;
        if (dense) continue;
        /* both paths forced; the table path gets exactly yono_pq_table_scratch_bytes */
        for (int table = 0; table <= 1; table++) {
            const int has_table = bits == 4u && (d == 2u || d == 4u);
            const uint32_t sz = table && has_table ? yono_pq_table_scratch_bytes(d, row) : row;
            sp = pq_guarded_scratch(sz, (uint32_t)((t >> 1) & 1) * 4u, sbuf);
            for (uint32_t i = 0; i < n_out; i++) y[i] = 0x11;
            yono_conv2d_pq_s8_path(&l, x, y, sp, table);
            if (pq_differs(y, y2, n_out) || pq_guard_broken(sz, sp)) pq_note(r, table ? "table" : "direct", &l, k);
        }
    }
}

#endif
