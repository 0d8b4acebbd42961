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
    /* External-storage models (the int8-ext baseline, SPEC section 5): the parameter tables are
     * ext_bytes at ext_addr in the storage device and the layers point into yono_ext_slot.
     * ext_bytes == 0: the model lives in internal flash and is always ready. */
    uint32_t ext_addr;
    uint32_t ext_bytes;
    /* Graph models (SPEC section 2, layer "inputs"): per layer 3 byte offsets into the arena: first
     * input, second input (add), output; YONO_PLAN_INPUT = the model input. Planned statically by the
     * code generator from the tensors' lifetimes. NULL: a chain, run through the ping-pong buffers. */
    const uint32_t *plan;
} yono_model_t;

#define YONO_PLAN_INPUT 0xFFFFFFFFu

/* What a switch cost in external storage (totals over the repeats of one SELECT). */
typedef struct {
    uint32_t storage_ticks; /* timer ticks spent inside ext_storage_read */
    uint32_t storage_bytes;
    uint32_t storage_reads;
} yono_switch_stats_t;

/* Makes model id the active one; an external model is copied into the SRAM slot. Adds its
 * storage costs to *st. 0 on success, YONO_SWITCH_* on failure (no model is loaded then). */
#define YONO_SWITCH_STORAGE_ERROR (-1)
#define YONO_SWITCH_BAD_IMAGE (-2)
int yono_model_select(uint32_t id, yono_switch_stats_t *st);

/* Checks the external image header once (magic, image id); 0 when fine or not needed. */
int yono_ext_check(void);

/* 1 when model id can run now (internal, or external and loaded). */
int yono_model_ready(uint32_t id);

/* Runs every layer of m on input (never written), ping-ponging through the static arena (a chain)
 * or at the planned offsets (a graph model).
 * Returns the logits (classes int8 values, valid until the next run). */
const int8_t *yono_model_run(const yono_model_t *m, const int8_t *input);

/* First index of the maximum. */
uint16_t yono_argmax_s8(const int8_t *x, uint32_t n);

#endif
