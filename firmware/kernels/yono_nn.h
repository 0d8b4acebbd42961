/* int8 reference kernels (CMSIS-NN style names) behind one layer descriptor.
 * Arithmetic is exactly firmware/SPEC.md section 3; kernels are plain portable C so the
 * same files are unit-tested natively (test/firmware/). */
#ifndef YONO_NN_H
#define YONO_NN_H

#include <stdint.h>

typedef enum {
    YONO_OP_CONV2D = 0,
    YONO_OP_MAXPOOL2D = 1,
    YONO_OP_AVGPOOL_GLOBAL = 2,
    YONO_OP_DENSE = 3,
    YONO_OP_DEPTHWISE_CONV2D = 4,
    YONO_OP_AVGPOOL2D = 5,
    /* YONO product quantization (SPEC section 4): weights decoded on the fly from shared codebooks */
    YONO_OP_CONV2D_PQ = 6,
    YONO_OP_DENSE_PQ = 7,
    /* TFLite's int8 ADD of two tensors (graph models, tflite-* arithmetic; SPEC section 3) */
    YONO_OP_ADD = 8,
    /* element-wise 256-entry table (weights = table, y = table[x + 128]; TFLite's int8 LOGISTIC) */
    YONO_OP_LUT = 9,
    /* channel concatenation of two inputs (graph models): in_c channels of in, out_c - in_c of in2 */
    YONO_OP_CONCAT = 10,
    /* TFLite's int8 MUL of two tensors (graph models, tflite-* arithmetic): in2_zp, multiplier_q31[0], shift[0] */
    YONO_OP_MUL = 11,
    /* TFLite Micro's int8 MEAN over H and W (tflite-*): multiplier_q31[0] == 0: trunc(sum / n); else
     * out_zp + MBQM(sum - n * in_zp, multiplier_q31[0], shift[0]) (SPEC section 3) */
    YONO_OP_MEAN = 12,
} yono_op_t;

/* Requant arithmetic of a layer (SPEC section 3): the model's `arithmetic`. */
typedef enum {
    YONO_ARITH_YONO15 = 0,        /* 15-bit multiplier, one rounding (yono-int8/1) */
    YONO_ARITH_TFLITE_DOUBLE = 1, /* TFLite MultiplyByQuantizedMultiplier, double rounding */
    YONO_ARITH_TFLITE_SINGLE = 2, /* TFLITE_SINGLE_ROUNDING (XNNPACK) */
} yono_arith_t;

/* One layer. Tensors are NHWC (N=1) int8. For dense: in_c = in_features, out_c = out_features
 * and all h/w are 1. Per-channel arrays have out_c entries except avgpool_global and avgpool2d
 * (1 entry). */
typedef struct {
    uint8_t op; /* yono_op_t */
    uint8_t kh, kw, stride_h, stride_w, pad_top, pad_left;
    uint8_t depth_multiplier; /* depthwise_conv2d: out_c = in_c * depth_multiplier */
    int8_t in_zp, out_zp, act_min, act_max;
    uint16_t in_h, in_w, in_c;
    uint16_t out_h, out_w, out_c;
    const int8_t *weights;     /* [oc][kh][kw][ic], [out][in] or depthwise [kh][kw][oc] */
    const int32_t *bias;       /* SPEC bias (conv2d/dense keep it for reference and use bias_eff; pq: NULL) */
    const int32_t *bias_eff;   /* conv2d/dense: bias - in_zp * sum(w[oc]) (code generator); else NULL */
    union {
        const int16_t *multiplier;     /* yono15: 16384 <= M < 32768 */
        const int32_t *multiplier_q31; /* tflite-*: 0 or 2^30 <= M < 2^31 */
    };
    const int8_t *shift;       /* yono15: 1 <= s <= 46; tflite-*: TFLite's exponent, -31..30 */
    /* conv2d_pq/dense_pq (else NULL/0): output channel oc's row (kh*kw*in_c or in_features
     * weights) is row/pq_d chunks; chunk j = codeword idx(oc, j) = pq_codebook[idx*pq_d ..].
     * Indices are packed per row (rows byte-aligned): 8 bits, or 4 bits (even j low nibble). */
    const int8_t *pq_codebook;  /* shared by all models, in flash */
    const uint8_t *pq_indices;
    uint8_t pq_d, pq_bits;
    uint8_t pq_k; /* codewords in pq_codebook (4-bit books: <= 16; 0 for 8-bit books with k > 255) */
    /* effective bias (bias - in_zp * sum of the decoded w[oc]) = pq_bias_eff[oc] << pq_bias_shift:
     * half the flash of an int32 table; compression snapped the bias so this is exact */
    uint8_t pq_bias_shift;
    uint8_t arith; /* yono_arith_t */
    int8_t in2_zp;      /* add: the second input's zero point */
    uint8_t left_shift; /* add: both inputs are scaled by 2^left_shift first (TFLite: 20) */
    uint16_t in2_h, in2_w, in2_c; /* add/mul: the second input's shape; a dimension of 1 broadcasts */
    const int16_t *pq_bias_eff;
} yono_layer_t;

/* A pq layer's effective bias of output channel oc (multiplied, not shifted: negative values). */
static inline int32_t yono_pq_bias(const yono_layer_t *l, int32_t oc)
{
    return (int32_t)l->pq_bias_eff[oc] * (int32_t)(1u << l->pq_bias_shift);
}

/* requant(acc, M, s) = floor((acc*M + 2^(s-1)) / 2^s), exact in 64 bits (|acc*M| < 2^46). */
static inline int64_t yono_requant(int32_t acc, int32_t m, int32_t s)
{
    /* >> on a negative int64 is an arithmetic shift (floor) with GCC/Clang */
    return ((int64_t)acc * m + ((int64_t)1 << (s - 1))) >> s;
}

/* clamp(out_zp + requant(acc, M, s), lo, hi) without 64-bit rounding adds or compares:
 * floor((a + 2^(s-1)) / 2^s) == (floor(a / 2^(s-1)) + 1) >> 1 for integer a (a = acc*M), and
 * q = floor(a / 2^(s-1)) is saturated to +-2^29 first: beyond that every result clamps anyway
 * (|out_zp|, |lo|, |hi| <= 128). Bit-identical to the SPEC formula (tested natively). */
static inline int8_t yono_requant_clamp(int32_t acc, int32_t m, int32_t s, int32_t out_zp,
                                        int32_t lo, int32_t hi)
{
    const int64_t q64 = ((int64_t)acc * m) >> (s - 1);
    int32_t q;
    if (q64 > (1 << 29)) {
        q = 1 << 29;
    } else if (q64 < -(1 << 29)) {
        q = -(1 << 29);
    } else {
        q = (int32_t)q64;
    }
    int32_t y = ((q + 1) >> 1) + out_zp;
    if (y < lo) {
        y = lo;
    }
    if (y > hi) {
        y = hi;
    }
    return (int8_t)y;
}

/* TFLite's MultiplyByQuantizedMultiplier(acc, m, shift) with double rounding (TFLite Micro
 * reference kernels; CMSIS-NN arm_nn_requantize). SaturatingRoundingDoublingHighMul for m >= 0:
 * trunc((a*m + nudge) / 2^31) with nudge 2^30 or 1 - 2^30 equals floor((a*m + 2^30) / 2^31), an
 * arithmetic shift (no 64-bit division; a = m = INT32_MIN cannot occur). RoundingDivideByPOT:
 * x / 2^e rounded half away from zero. acc * 2^left wraps in int32 as TFLite's does. */
static inline int32_t yono_tflite_requant_double(int32_t acc, int32_t m, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    const int32_t a = (int32_t)((uint32_t)acc << left);
    const int32_t x = (int32_t)(((int64_t)a * m + ((int64_t)1 << 30)) >> 31);
    const int32_t mask = (int32_t)((1u << right) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> right) + (remainder > threshold ? 1 : 0);
}

/* TFLite's MultiplyByQuantizedMultiplier with TFLITE_SINGLE_ROUNDING: floor((acc*m + 2^(t-1)) / 2^t),
 * t = 31 - shift (1..62). The int64 result is clamped by the caller. */
static inline int64_t yono_tflite_requant_single(int32_t acc, int32_t m, int32_t shift)
{
    const int32_t t = 31 - shift;
    return ((int64_t)acc * m + ((int64_t)1 << (t - 1))) >> t;
}

/* clamp(out_zp + requant(acc) of output channel ch, lo, hi) in the layer's arithmetic (SPEC 3).
 * The sum out_zp + requant is formed in 64 bits: never wraps. */
static inline int8_t yono_rq(const yono_layer_t *l, int32_t acc, int32_t ch, int32_t out_zp, int32_t lo, int32_t hi)
{
    if (l->arith == YONO_ARITH_YONO15) {
        return yono_requant_clamp(acc, l->multiplier[ch], l->shift[ch], out_zp, lo, hi);
    }
    const int64_t r = l->arith == YONO_ARITH_TFLITE_DOUBLE
                          ? (int64_t)yono_tflite_requant_double(acc, l->multiplier_q31[ch], l->shift[ch])
                          : yono_tflite_requant_single(acc, l->multiplier_q31[ch], l->shift[ch]);
    int64_t y = r + out_zp;
    if (y < lo) {
        y = lo;
    }
    if (y > hi) {
        y = hi;
    }
    return (int8_t)y;
}

/* MultiplyByQuantizedMultiplier of a tflite-* arithmetic, unclamped (int64 for single rounding). */
static inline int64_t yono_tflite_mbqm(uint8_t arith, int32_t x, int32_t m, int32_t shift)
{
    return arith == YONO_ARITH_TFLITE_DOUBLE ? (int64_t)yono_tflite_requant_double(x, m, shift)
                                             : yono_tflite_requant_single(x, m, shift);
}

/* TFLite's int8 average (tflite-* pools, SPEC section 3): sum / n rounded half away from zero. */
static inline int8_t yono_tflite_average(int32_t sum, int32_t n)
{
    int32_t y = sum > 0 ? (sum + n / 2) / n : (sum - n / 2) / n;
    if (y < -128) {
        y = -128;
    }
    if (y > 127) {
        y = 127;
    }
    return (int8_t)y;
}

/* scratch: at least kh*kw*in_c bytes (the im2col column of one output pixel) */
void yono_conv2d_s8(const yono_layer_t *l, const int8_t *in, int8_t *out, int8_t *scratch);
void yono_dense_s8(const yono_layer_t *l, const int8_t *in, int8_t *out);
void yono_maxpool2d_s8(const yono_layer_t *l, const int8_t *in, int8_t *out);
void yono_avgpool_global_s8(const yono_layer_t *l, const int8_t *in, int8_t *out);
/* scratch: out_c int32 accumulators (4 * out_c bytes, 4-byte aligned) */
void yono_depthwise_conv2d_s8(const yono_layer_t *l, const int8_t *in, int8_t *out, int32_t *scratch);
void yono_avgpool2d_s8(const yono_layer_t *l, const int8_t *in, int8_t *out);
/* add (SPEC section 3): out = TFLite's int8 ADD of in and in2 (out_h*out_w*out_c elements; in2 has
 * in2_h*in2_w*in2_c, a dimension of 1 repeating: TFLite's broadcast). weights != NULL: a constant
 * second operand of that shape, in2 is ignored (may be NULL). */
void yono_add_s8(const yono_layer_t *l, const int8_t *in, const int8_t *in2, int8_t *out);
/* lut: out[i] = l->weights[in[i] + 128] over out_h*out_w*out_c elements */
void yono_lut_s8(const yono_layer_t *l, const int8_t *in, int8_t *out);
/* mul: out = TFLite's int8 MUL of in and in2 (out_h*out_w*out_c elements; in2 broadcast as add's) */
void yono_mul_s8(const yono_layer_t *l, const int8_t *in, const int8_t *in2, int8_t *out);
/* mean: per channel over in_h*in_w (TFLite Micro's int8 MEAN of the spatial axes) */
void yono_mean_s8(const yono_layer_t *l, const int8_t *in, int8_t *out);
/* concat: per pixel (out_h*out_w) in_c bytes of in, then out_c - in_c bytes of in2 */
void yono_concat_s8(const yono_layer_t *l, const int8_t *in, const int8_t *in2, int8_t *out);
/* PQ twins of conv2d/dense (yono_pq_s8.c): same arithmetic on the decoded weights, effective bias
 * from yono_pq_bias(); scratch as conv2d. No decoded layer is ever held in RAM. */
void yono_conv2d_pq_s8(const yono_layer_t *l, const int8_t *in, int8_t *out, int8_t *scratch);
void yono_dense_pq_s8(const yono_layer_t *l, const int8_t *in, int8_t *out);
/* conv2d_pq with the path forced (tests): table != 0 takes the table path whenever the layer's
 * index layout has one (4-bit indices, d = 2 or 4; scratch then yono_pq_table_scratch_bytes),
 * else the direct path. yono_conv2d_pq_s8 passes yono_pq_table_d(l) != 0. Same output. */
void yono_conv2d_pq_s8_path(const yono_layer_t *l, const int8_t *in, int8_t *out, int8_t *scratch, int table);

/* Bytes of one packed pq index row of s chunks (rows byte-aligned, SPEC section 4). */
static inline uint32_t yono_pq_row_bytes(uint32_t s, uint32_t bits)
{
    return bits == 8u ? s : (s + 1u) / 2u;
}

/* The pq table path (SPEC section 4): a conv2d_pq layer with 4-bit indices and d = 2 or 4 whose
 * index bytes are read at least YONO_PQ_TABLE_MIN_READS times per call, i.e.
 * out_h * out_w * out_c * ceil(row / (2d)) >= YONO_PQ_TABLE_MIN_READS (row = kh*kw*in_c), expands
 * the codebook into a 256-entry table once per call. Returns d for such a layer, else 0.
 * harness/modeltools/codegen.ts (scratchBytes) applies the same rule. */
#define YONO_PQ_TABLE_MIN_READS 512u
static inline uint32_t yono_pq_table_d(const yono_layer_t *l)
{
    if (l->op != YONO_OP_CONV2D_PQ || l->pq_bits != 4u || (l->pq_d != 2u && l->pq_d != 4u)) {
        return 0u;
    }
    const uint32_t rb = yono_pq_row_bytes((uint32_t)l->kh * l->kw * l->in_c / l->pq_d, 4u);
    return (uint32_t)l->out_h * l->out_w * l->out_c * rb >= YONO_PQ_TABLE_MIN_READS ? l->pq_d : 0u;
}

/* Scratch of the table path for d and row: up to 4 bytes to reach an 8-byte boundary, the table
 * (256 entries of 4d bytes), the pixel's column unpacked (4d bytes per index byte) and the gathered
 * column padded to whole index bytes (2d bytes per index byte). */
static inline uint32_t yono_pq_table_scratch_bytes(uint32_t d, uint32_t row)
{
    const uint32_t rb = yono_pq_row_bytes(row / d, 4u);
    return 4u + 1024u * d + 6u * d * rb;
}

/* Dispatch on l->op; returns 0, or -1 for an unknown op. scratch: yono_layer_scratch_bytes(l)
 * bytes, 4-byte aligned. */
int yono_layer_run(const yono_layer_t *l, const int8_t *in, int8_t *out, int8_t *scratch);
/* The same for a layer of a graph model: in2 is the second input of an add, mul or concat (else
 * ignored; add/mul with a constant operand in weights need none). */
int yono_layer_run2(const yono_layer_t *l, const int8_t *in, const int8_t *in2, int8_t *out, int8_t *scratch);

/* Scratch bytes a layer needs (harness/modeltools/codegen.ts computes the same). */
static inline uint32_t yono_layer_scratch_bytes(const yono_layer_t *l)
{
    switch (l->op) {
    case YONO_OP_CONV2D:
        return (uint32_t)l->kh * l->kw * l->in_c; /* im2col column of one output pixel */
    case YONO_OP_CONV2D_PQ: {
        const uint32_t row = (uint32_t)l->kh * l->kw * l->in_c, d = yono_pq_table_d(l);
        return d != 0u ? yono_pq_table_scratch_bytes(d, row) : row; /* table path, else the column */
    }
    case YONO_OP_DEPTHWISE_CONV2D:
        return 4u * l->out_c; /* int32 accumulator per output channel */
    default:
        return 0u;
    }
}

/* Output size in bytes of a layer. */
static inline uint32_t yono_layer_out_bytes(const yono_layer_t *l)
{
    return (uint32_t)l->out_h * l->out_w * l->out_c;
}

#endif
