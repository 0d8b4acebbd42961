/* Model switching (SPEC section 1, SELECT; section 5, external storage). A model in internal
 * flash is always ready: selecting it only changes which tables the interpreter reads. A model
 * in external storage is copied whole into the one SRAM slot its layer tables point into. */
#include "board.h"
#include "models.h"
#include "yono_model.h"

#if YONO_EXT_SLOT_BYTES > 0
#include "ext_storage.h"
#endif

static volatile uint32_t active_id;
static volatile int32_t loaded_ext = -1; /* model whose blob the slot holds, -1 = none */

#if YONO_EXT_SLOT_BYTES > 0
static int ext_state; /* 0 unchecked, 1 good, negative = the error it gave */

static uint32_t rd32le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

int yono_ext_check(void)
{
    if (ext_state == 0) {
        uint8_t hdr[16];
        if (ext_storage_init() != 0 || ext_storage_read(0u, hdr, sizeof hdr) != 0) {
            ext_state = YONO_SWITCH_STORAGE_ERROR;
        } else if (hdr[0] != 'Y' || hdr[1] != 'E' || hdr[2] != 'X' || hdr[3] != 'T' ||
                   rd32le(hdr + 4) != YONO_EXT_IMAGE_ID) {
            ext_state = YONO_SWITCH_BAD_IMAGE;
        } else {
            ext_state = 1;
        }
    }
    return ext_state < 0 ? ext_state : 0;
}
#else
int yono_ext_check(void)
{
    return 0;
}
#endif

int yono_model_select(uint32_t id, yono_switch_stats_t *st)
{
    const yono_model_t *m = &yono_models[id];
    if (m->ext_bytes != 0u) {
#if YONO_EXT_SLOT_BYTES > 0
        loaded_ext = -1; /* the slot is about to be overwritten */
        const uint64_t t0 = board_ticks();
        const int rc = ext_storage_read(m->ext_addr, (uint8_t *)yono_ext_slot, m->ext_bytes);
        st->storage_ticks += (uint32_t)(board_ticks() - t0);
        st->storage_bytes += m->ext_bytes;
        st->storage_reads += 1u;
        if (rc != 0) {
            return YONO_SWITCH_STORAGE_ERROR;
        }
        loaded_ext = (int32_t)id;
#else
        (void)st;
        return YONO_SWITCH_STORAGE_ERROR;
#endif
    }
    active_id = id;
    return 0;
}

int yono_model_ready(uint32_t id)
{
    return yono_models[id].ext_bytes == 0u || loaded_ext == (int32_t)id;
}
