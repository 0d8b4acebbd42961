/* int8 dot products shared by conv2d and dense: sum x[i]*w[i] for one or two weight rows.
 * On cores with the DSP extension (Cortex-M4/M7) four products are formed per two SMLADs; the
 * portable C path computes the same integers (exact math, any order). YONO_EMULATE_DSP runs
 * the SIMD path with C stand-ins for the intrinsics so the host tests can cover it. */
#ifndef YONO_DOT_S8_H
#define YONO_DOT_S8_H

#include <stdint.h>

#if defined(__ARM_FEATURE_DSP) && !defined(YONO_NO_DSP)
#include <arm_acle.h>
#define YONO_SIMD 1
#define yono_sxtb16(x) ((uint32_t)__sxtb16(x))
#define yono_smlad(a, b, acc) __smlad((a), (b), (acc))
/* bytes 1 and 3 sign-extended; GCC does not fold the rotate into SXTB16 by itself */
static inline uint32_t yono_sxtb16_ror8(uint32_t x)
{
    uint32_t r;
    __asm("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}
#elif defined(YONO_EMULATE_DSP)
#define YONO_SIMD 1
/* sign-extend bytes 0 and 2 into two halfwords */
static inline uint32_t yono_sxtb16(uint32_t x)
{
    return (uint32_t)(uint16_t)(int16_t)(int8_t)x | ((uint32_t)(uint16_t)(int16_t)(int8_t)(x >> 16) << 16);
}
/* acc + lo(a)*lo(b) + hi(a)*hi(b), halfwords signed */
static inline int32_t yono_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    return acc + (int32_t)(int16_t)a * (int16_t)b + (int32_t)(int16_t)(a >> 16) * (int16_t)(b >> 16);
}
static inline uint32_t yono_sxtb16_ror8(uint32_t x) { return yono_sxtb16((x >> 8) | (x << 24)); }
#else
#define YONO_SIMD 0
#endif

#if YONO_SIMD
static inline uint32_t yono_ld32(const int8_t *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4); /* unaligned word load (allowed on ARMv7E-M) */
    return v;
}
#endif

static inline int32_t yono_dot_s8(const int8_t *x, const int8_t *w, uint32_t n)
{
    int32_t acc = 0;
#if YONO_SIMD
    for (; n >= 4u; n -= 4u, x += 4, w += 4) {
        const uint32_t xv = yono_ld32(x), wv = yono_ld32(w);
        acc = yono_smlad(yono_sxtb16(xv), yono_sxtb16(wv), acc);
        acc = yono_smlad(yono_sxtb16_ror8(xv), yono_sxtb16_ror8(wv), acc);
    }
#else
    for (; n >= 4u; n -= 4u, x += 4, w += 4) {
        acc += (int32_t)x[0] * w[0] + (int32_t)x[1] * w[1] + (int32_t)x[2] * w[2] + (int32_t)x[3] * w[3];
    }
#endif
    for (; n > 0u; n--) {
        acc += (int32_t)*x++ * *w++;
    }
    return acc;
}

/* Two output channels at once: each x word is loaded and unpacked once for both. */
static inline void yono_dot2_s8(const int8_t *x, const int8_t *w0, const int8_t *w1, uint32_t n,
                                int32_t *acc0, int32_t *acc1)
{
    int32_t a0 = 0, a1 = 0;
#if YONO_SIMD
    for (; n >= 4u; n -= 4u, x += 4, w0 += 4, w1 += 4) {
        const uint32_t xv = yono_ld32(x);
        const uint32_t xe = yono_sxtb16(xv), xo = yono_sxtb16_ror8(xv);
        const uint32_t v0 = yono_ld32(w0), v1 = yono_ld32(w1);
        a0 = yono_smlad(xe, yono_sxtb16(v0), a0);
        a0 = yono_smlad(xo, yono_sxtb16_ror8(v0), a0);
        a1 = yono_smlad(xe, yono_sxtb16(v1), a1);
        a1 = yono_smlad(xo, yono_sxtb16_ror8(v1), a1);
    }
#endif
    for (; n > 0u; n--) {
        const int32_t xv = *x++;
        a0 += xv * *w0++;
        a1 += xv * *w1++;
    }
    *acc0 = a0;
    *acc1 = a1;
}

#endif
