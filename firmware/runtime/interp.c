/* Layer-table interpreter over two static ping-pong activation buffers. Layer i writes buffer
 * (i & 1); the generator sizes each buffer to the largest output written to it over all models,
 * so oversized models fail at link time rather than at run time. Graph models (m->plan) read and
 * write their tensors at offsets the generator planned from the tensors' lifetimes. */
#include <stddef.h>

#include "yono_model.h"
#include "models.h"

/* one block: the two ping-pong buffers of chains, or the planned tensors of graph models (the
 * generator makes A + B at least every graph model's planned arena) */
static int8_t arena[YONO_ARENA_A_BYTES + YONO_ARENA_B_BYTES] __attribute__((aligned(4)));
#define arena_a arena
#define arena_b (arena + YONO_ARENA_A_BYTES)
/* per-layer scratch (conv2d im2col column, depthwise int32 accumulators): the largest over all
 * models. Declared as int32_t so the depthwise kernel may use it as int32 storage. */
static int32_t scratch[(YONO_SCRATCH_BYTES + 3) / 4];

const int8_t *yono_model_run(const yono_model_t *m, const int8_t *input)
{
    const int8_t *x = input;
    if (m->plan != NULL) {
        for (uint32_t i = 0; i < m->n_layers; i++) {
            const uint32_t *p = m->plan + 3u * i;
            const int8_t *in = p[0] == YONO_PLAN_INPUT ? input : arena + p[0];
            const int8_t *in2 = p[1] == YONO_PLAN_INPUT ? input : arena + p[1];
            int8_t *y = arena + p[2];
            (void)yono_layer_run2(&m->layers[i], in, in2, y, (int8_t *)scratch);
            x = y;
        }
        return x;
    }
    for (uint32_t i = 0; i < m->n_layers; i++) {
        int8_t *y = (i & 1u) ? arena_b : arena_a;
        (void)yono_layer_run(&m->layers[i], x, y, (int8_t *)scratch);
        x = y;
    }
    return x;
}

uint16_t yono_argmax_s8(const int8_t *x, uint32_t n)
{
    uint32_t best = 0;
    for (uint32_t i = 1; i < n; i++) {
        if (x[i] > x[best]) {
            best = i;
        }
    }
    return (uint16_t)best;
}
