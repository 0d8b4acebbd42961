/* A model as the code generator emits it (firmware/generated/models.c). */
#ifndef YONO_MODEL_H
#define YONO_MODEL_H

#include <stdint.h>
#include "yono_nn.h"

typedef struct {
    const char *name;
    const yono_layer_t *layers;
    uint16_t n_layers;
    uint16_t classes;     /* = out_c of the last layer (logits) */
    uint32_t input_bytes; /* H*W*C of the input tensor */
} yono_model_t;

/* Runs every layer of m on input (never written), ping-ponging through the static arena.
 * Returns the logits (classes int8 values, valid until the next run). */
const int8_t *yono_model_run(const yono_model_t *m, const int8_t *input);

/* First index of the maximum. */
uint8_t yono_argmax_s8(const int8_t *x, uint32_t n);

#endif
