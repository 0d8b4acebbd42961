/* The op interface: one entry point for every layer kind. */
#include <stddef.h>

#include "yono_nn.h"

int yono_layer_run(const yono_layer_t *l, const int8_t *in, int8_t *out, int8_t *scratch)
{
    return yono_layer_run2(l, in, NULL, out, scratch);
}

int yono_layer_run2(const yono_layer_t *l, const int8_t *in, const int8_t *in2, int8_t *out, int8_t *scratch)
{
    switch ((yono_op_t)l->op) {
    case YONO_OP_MUL:
        if (in2 == NULL && l->weights == NULL) {
            return -1;
        }
        yono_mul_s8(l, in, in2, out);
        return 0;
    case YONO_OP_CONCAT:
        if (in2 == NULL) {
            return -1;
        }
        yono_concat_s8(l, in, in2, out);
        return 0;
    case YONO_OP_MEAN:
        yono_mean_s8(l, in, out);
        return 0;
    case YONO_OP_LUT:
        yono_lut_s8(l, in, out);
        return 0;
    case YONO_OP_ADD:
        if (in2 == NULL && l->weights == NULL) {
            return -1;
        }
        yono_add_s8(l, in, in2, out);
        return 0;
    case YONO_OP_CONV2D:
        yono_conv2d_s8(l, in, out, scratch);
        return 0;
    case YONO_OP_MAXPOOL2D:
        yono_maxpool2d_s8(l, in, out);
        return 0;
    case YONO_OP_AVGPOOL_GLOBAL:
        yono_avgpool_global_s8(l, in, out);
        return 0;
    case YONO_OP_DENSE:
        yono_dense_s8(l, in, out);
        return 0;
    case YONO_OP_DEPTHWISE_CONV2D:
        /* scratch is 4-byte aligned int32 storage (see yono_layer_run's contract) */
        yono_depthwise_conv2d_s8(l, in, out, (int32_t *)(void *)scratch);
        return 0;
    case YONO_OP_AVGPOOL2D:
        yono_avgpool2d_s8(l, in, out);
        return 0;
    case YONO_OP_CONV2D_PQ:
        yono_conv2d_pq_s8(l, in, out, scratch);
        return 0;
    case YONO_OP_DENSE_PQ:
        yono_dense_pq_s8(l, in, out);
        return 0;
    }
    return -1;
}
