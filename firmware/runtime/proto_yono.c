/* Frame layer and command dispatcher. Raw frame: type, seq, u16 len, payload, u32 CRC-32;
 * on the wire COBS(raw) followed by 0x00. Exactly one reply per command. */
#include <stddef.h>
#include <stdint.h>

#include "board.h"
#include "cobs.h"
#include "ext_storage.h"
#include "crc32.h"
#include "models.h"
#include "proto.h"
#include "yono_model.h"

#define HDR_BYTES 4u
#define CRC_BYTES 4u
#define RAW_MAX (HDR_BYTES + MAX_PAYLOAD + CRC_BYTES)
#define SEQ_BAD_FRAME 0xFFu

#define MAX_PAYLOAD_DEC 2048 /* MAX_PAYLOAD as a plain literal for STR() */
_Static_assert(MAX_PAYLOAD_DEC == MAX_PAYLOAD, "keep MAX_PAYLOAD_DEC in sync");

#define STR_(x) #x
#define STR(x) STR_(x)

/* Preload region (board.mk PRELOAD_BASE/PRELOAD_SIZE): test inputs QEMU's loader put in spare
 * memory outside the firmware's budgets, run by RUN_PRELOADED. Size 0 on boards without one. */
#ifdef YONO_PRELOAD_BASE
#define PRELOAD_BASE YONO_PRELOAD_BASE
#define PRELOAD_SIZE YONO_PRELOAD_SIZE
#else
#define PRELOAD_BASE 0u
#define PRELOAD_SIZE 0u
#endif
#define PRELOAD_FLAG_LOGITS 0x01u

/* Where the preload region's bytes are read: memory at PRELOAD_BASE (QEMU's PSRAM), or, with
 * board.mk PRELOAD_EXT_OFFSET (a real board's QSPI NOR, written once by the flasher), the
 * external-storage driver at that device offset; PRELOAD_BASE is then the region's address in
 * the flasher's (memory-mapped) view, which HELLO reports. */
static int preload_read(uint32_t off, uint8_t *dst, uint32_t len)
{
#ifdef YONO_PRELOAD_EXT_OFFSET
    static int ready; /* 0 not yet, 1 the driver answered, negative its error */
    if (ready == 0) {
        ready = ext_storage_init() == 0 ? 1 : -1;
    }
    return ready < 0 ? ready : ext_storage_read(YONO_PRELOAD_EXT_OFFSET + off, dst, len);
#else
    const uint8_t *src = (const uint8_t *)(uintptr_t)(PRELOAD_BASE + off);
    for (uint32_t i = 0; i < len; i++) {
        dst[i] = src[i];
    }
    return 0;
#endif
}

/* Composed at compile time from board.mk facts (-D), BUILD_HASH (-D) and the generated
 * MODELS_JSON, so HELLO costs no RAM; only the preload numbers are printed at run time, because
 * board.mk gives the base in hex, which JSON cannot carry. */
static const char hello_head[] =
    "{\"proto\":" STR(PROTO_VERSION) ",\"build\":\"" YONO_BUILD_HASH "\",\"board\":\"" YONO_BOARD_NAME
    "\",\"core\":\"" YONO_CORE "\",\"clock_hz\":" STR(YONO_CLOCK_HZ) ",\"timer\":\"" YONO_TIMER
    "\",\"timer_hz\":" STR(YONO_TIMER_HZ) ",\"max_payload\":" STR(MAX_PAYLOAD_DEC)
    ",\"input_buffer\":" STR(YONO_INPUT_BUFFER_BYTES) ",\"variant\":\"" YONO_VARIANT
    "\",\"ext_storage\":" STR(YONO_EXT_IMAGE_BYTES) ",\"preload\":";
static const char hello_base_key[] = ",\"preload_base\":";
static const char hello_tail[] = ",\"models\":" YONO_MODELS_JSON "}";
/* + two u32 in decimal (at most 10 digits each) */
_Static_assert(sizeof(hello_head) - 1u + sizeof(hello_base_key) - 1u + sizeof(hello_tail) - 1u + 20u <= MAX_PAYLOAD,
               "HELLO JSON exceeds MAX_PAYLOAD: too many models in one firmware");

static uint8_t rx[COBS_MAX_ENCODED(RAW_MAX)];
static uint8_t tx[RAW_MAX];
static uint8_t *const txp = tx + HDR_BYTES; /* reply payload */
static int8_t input_buf[YONO_INPUT_BUFFER_BYTES] __attribute__((aligned(4)));
static uint32_t input_len; /* bytes buffered so far */
/* The output vector of the last inference (INFER, or the last sample of RUN_PRELOADED), which
 * READ_OUTPUT returns in slices: valid until the next inference, as the interpreter leaves it. */
static const int8_t *last_out;
static uint32_t last_out_n;

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static void wr16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void wr32(uint8_t *p, uint32_t v)
{
    wr16(p, v);
    wr16(p + 2, v >> 16);
}

static void send(uint8_t type, uint8_t seq, uint32_t len)
{
    tx[0] = type;
    tx[1] = seq;
    wr16(tx + 2, len);
    wr32(tx + HDR_BYTES + len, crc32_ieee(tx, HDR_BYTES + len));
    cobs_encode_stream(tx, HDR_BYTES + len + CRC_BYTES, board_putc);
    board_putc(0u);
}

/* Small message builder (no printf): text and decimal numbers. */
static uint32_t put_str(uint32_t at, const char *s)
{
    while (*s && at < MAX_PAYLOAD) {
        txp[at++] = (uint8_t)*s++;
    }
    return at;
}
static uint32_t put_dec(uint32_t at, uint32_t v)
{
    char digits[10];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n && at < MAX_PAYLOAD) {
        txp[at++] = (uint8_t)digits[--n];
    }
    return at;
}

/* ERR payload: code, then "<msg>[<a><msg2><b>]" with a/b printed only when msg2 is given. */
static void send_err2(uint8_t seq, uint8_t code, const char *msg, uint32_t a, const char *msg2,
                      uint32_t b)
{
    txp[0] = code;
    uint32_t n = put_str(1u, msg);
    if (msg2) {
        n = put_dec(n, a);
        n = put_dec(put_str(n, msg2), b);
    }
    send(TYPE_ERR, seq, n);
}
static void send_err(uint8_t seq, uint8_t code, const char *msg)
{
    send_err2(seq, code, msg, 0u, NULL, 0u);
}

static void cmd_hello(uint8_t seq, uint32_t n)
{
    if (n != 0u) {
        send_err(seq, ERR_BAD_PAYLOAD, "HELLO takes no payload");
        return;
    }
    uint32_t len = put_dec(put_str(0u, hello_head), PRELOAD_SIZE);
    len = put_str(put_dec(put_str(len, hello_base_key), PRELOAD_BASE), hello_tail);
    send(CMD_HELLO | REPLY_FLAG, seq, len);
}

static void cmd_ping(uint8_t seq, const uint8_t *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        txp[i] = p[i];
    }
    send(CMD_PING | REPLY_FLAG, seq, n);
}

/* offset 0 starts a new input; offset <= buffered continues or re-sends (overwrites). */
static void cmd_chunk(uint8_t seq, const uint8_t *p, uint32_t n)
{
    if (n < 4u) {
        send_err(seq, ERR_BAD_PAYLOAD, "CHUNK needs u32 offset");
        return;
    }
    const uint32_t off = rd32(p);
    const uint32_t len = n - 4u;
    if (off > input_len) {
        send_err2(seq, ERR_BAD_PAYLOAD, "CHUNK offset ", off, " beyond buffered ", input_len);
        return;
    }
    if (off + len > YONO_INPUT_BUFFER_BYTES) {
        send_err2(seq, ERR_INPUT_OVERFLOW, "input overflow: ", off + len, " > buffer ",
                  YONO_INPUT_BUFFER_BYTES);
        return;
    }
    for (uint32_t i = 0; i < len; i++) {
        input_buf[off + i] = (int8_t)p[4u + i];
    }
    input_len = off + len;
    wr32(txp, input_len);
    send(CMD_CHUNK | REPLY_FLAG, seq, 4u);
}

static void cmd_infer(uint8_t seq, const uint8_t *p, uint32_t n)
{
    /* The optional CRC-32 of the input lets the host pipeline CHUNK and INFER without waiting
     * for the CHUNK's acknowledgement: a lost chunk can then never run a stale input. */
    if (n != 5u && n != 9u) {
        send_err(seq, ERR_BAD_PAYLOAD, "INFER payload is u8 model, u16 runs, u16 warmup[, u32 input crc]");
        return;
    }
    const uint32_t id = p[0], runs = rd16(p + 1), warmup = rd16(p + 3);
    if (id >= YONO_N_MODELS) {
        send_err2(seq, ERR_UNKNOWN_MODEL, "unknown model ", id, ", models: ", YONO_N_MODELS);
        return;
    }
    const yono_model_t *m = &yono_models[id];
    /* more than 255 outputs: the wide form (version 5), n_classes byte 0 then u16 predicted, u16 n.
     * Outputs that cannot travel with even one run are left out of the reply (version 7, 0xFE):
     * READ_OUTPUT returns them. */
    const uint32_t wide = m->classes > 255u ? 4u : 0u;
    const uint32_t inline_n = 3u + wide + m->classes + 2u + 4u <= MAX_PAYLOAD ? m->classes : 0u;
    const uint32_t ticks_at = 3u + wide + inline_n + 2u;
    const uint32_t max_runs = (MAX_PAYLOAD - ticks_at) / 4u;
    if (runs < 1u || runs > max_runs) {
        send_err2(seq, ERR_BAD_PAYLOAD, "runs ", runs, " not in 1..", max_runs);
        return;
    }
    if (!yono_model_ready(id)) {
        send_err(seq, ERR_NOT_LOADED, "model is in external storage and not loaded: SELECT it first");
        return;
    }
    if (input_len != m->input_bytes) {
        send_err2(seq, ERR_INPUT_SIZE, "input has ", input_len, " bytes, model needs ",
                  m->input_bytes);
        return;
    }
    if (n == 9u && crc32_ieee((const uint8_t *)input_buf, input_len) != rd32(p + 5)) {
        send_err(seq, ERR_INPUT_CRC, "input CRC-32 mismatch: re-upload");
        return;
    }
    const int8_t *logits = NULL;
    for (uint32_t i = 0; i < warmup; i++) {
        logits = yono_model_run(m, input_buf);
    }
    for (uint32_t i = 0; i < runs; i++) {
        board_marker_on(); /* marker hook: outside t0..t1, so ticks are unchanged */
        const uint64_t t0 = board_ticks();
        logits = yono_model_run(m, input_buf);
        const uint64_t dt = board_ticks() - t0;
        board_marker_off();
        wr32(txp + ticks_at + 4u * i, dt > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)dt);
    }
    const uint16_t best = yono_argmax_s8(logits, m->classes);
    last_out = logits;
    last_out_n = m->classes;
    txp[0] = (uint8_t)id;
    txp[1] = wide ? (inline_n ? 0xFFu : 0xFEu) : (uint8_t)best;
    txp[2] = wide ? 0u : (uint8_t)m->classes;
    if (wide) {
        wr16(txp + 3u, best);
        wr16(txp + 5u, (uint16_t)m->classes);
    }
    for (uint32_t i = 0; i < inline_n; i++) {
        txp[3u + wide + i] = (uint8_t)logits[i];
    }
    wr16(txp + 3u + wide + inline_n, runs);
    send(CMD_INFER | REPLY_FLAG, seq, ticks_at + 4u * runs);
}

/* SELECT: u8 model[, u16 repeat]. The switch runs `repeat` times inside one marker window. */
static void cmd_select(uint8_t seq, const uint8_t *p, uint32_t n)
{
    if (n != 1u && n != 3u) {
        send_err(seq, ERR_BAD_PAYLOAD, "SELECT payload is u8 model[, u16 repeat]");
        return;
    }
    const uint32_t id = p[0], repeat = n == 3u ? rd16(p + 1) : 1u;
    if (id >= YONO_N_MODELS) {
        send_err2(seq, ERR_UNKNOWN_MODEL, "unknown model ", id, ", models: ", YONO_N_MODELS);
        return;
    }
    if (repeat < 1u) {
        send_err(seq, ERR_BAD_PAYLOAD, "SELECT repeat must be >= 1");
        return;
    }
    if (yono_models[id].ext_bytes != 0u && yono_ext_check() != 0) {
        send_err(seq, ERR_STORAGE, yono_ext_check() == YONO_SWITCH_BAD_IMAGE
                                       ? "external storage holds no model image of this firmware (magic or image id mismatch)"
                                       : "external storage did not answer");
        return;
    }
    yono_switch_stats_t st = {0u, 0u, 0u};
    int rc = 0;
    board_marker_on();
    const uint64_t t0 = board_ticks();
    for (uint32_t i = 0; i < repeat && rc == 0; i++) {
        rc = yono_model_select(id, &st);
    }
    const uint64_t dt = board_ticks() - t0;
    board_marker_off();
    if (rc != 0) {
        send_err2(seq, ERR_STORAGE, "external storage read failed at ", yono_models[id].ext_addr, ", bytes ",
                  yono_models[id].ext_bytes);
        return;
    }
    txp[0] = (uint8_t)id;
    wr16(txp + 1, repeat);
    wr32(txp + 3, dt > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)dt);
    wr32(txp + 7, st.storage_ticks);
    wr32(txp + 11, st.storage_bytes);
    wr32(txp + 15, st.storage_reads);
    send(CMD_SELECT | REPLY_FLAG, seq, 19u);
}

/* RUN_PRELOADED: u8 model, u32 offset, u16 count, u8 flags. Runs `count` consecutive inputs of
 * the model's size from the preload region; each reply entry carries the CRC-32 of the bytes that
 * ran, so the host can prove they were the inputs it meant, and (version 7) the CRC-32 of the whole
 * output vector, so the host can compare every output element with its own without the bytes. */
static void cmd_run_preloaded(uint8_t seq, const uint8_t *p, uint32_t n)
{
    if (n != 8u) {
        send_err(seq, ERR_BAD_PAYLOAD, "RUN_PRELOADED payload is u8 model, u32 offset, u16 count, u8 flags");
        return;
    }
    const uint32_t id = p[0], off = rd32(p + 1), count = rd16(p + 5), flags = p[7];
    if ((flags & ~PRELOAD_FLAG_LOGITS) != 0u) {
        send_err2(seq, ERR_BAD_PAYLOAD, "unknown RUN_PRELOADED flags ", flags, ", known: ", PRELOAD_FLAG_LOGITS);
        return;
    }
    if (id >= YONO_N_MODELS) {
        send_err2(seq, ERR_UNKNOWN_MODEL, "unknown model ", id, ", models: ", YONO_N_MODELS);
        return;
    }
    const yono_model_t *m = &yono_models[id];
    const uint32_t entry = 10u + ((flags & PRELOAD_FLAG_LOGITS) ? m->classes : 0u);
    const uint32_t max_count = (MAX_PAYLOAD - 3u) / entry;
    if (count < 1u || count > max_count) {
        send_err2(seq, ERR_BAD_PAYLOAD, "count ", count, " not in 1..", max_count);
        return;
    }
    const uint64_t end = (uint64_t)off + (uint64_t)count * m->input_bytes;
    if (end > PRELOAD_SIZE) {
        send_err2(seq, ERR_INPUT_OVERFLOW, "preloaded samples end at ", end > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)end,
                  " > preload region bytes ", PRELOAD_SIZE);
        return;
    }
    if (!yono_model_ready(id)) {
        send_err(seq, ERR_NOT_LOADED, "model is in external storage and not loaded: SELECT it first");
        return;
    }
    /* Each input is copied into the aligned input buffer, as an upload would leave it: the
     * kernels may read it by words. The buffer then no longer holds an uploaded input. */
    input_len = 0u;
    uint8_t *out = txp + 3u;
    for (uint32_t s = 0; s < count; s++) {
        if (preload_read(off + s * m->input_bytes, (uint8_t *)input_buf, m->input_bytes) != 0) {
            send_err2(seq, ERR_STORAGE, "preload region read failed at ", off + s * m->input_bytes, ", bytes ", m->input_bytes);
            return;
        }
        board_marker_on(); /* one marker window per inference, as INFER */
        const int8_t *logits = yono_model_run(m, input_buf);
        board_marker_off();
        wr16(out, yono_argmax_s8(logits, m->classes));
        wr32(out + 2, crc32_ieee((const uint8_t *)input_buf, m->input_bytes));
        wr32(out + 6, crc32_ieee((const uint8_t *)logits, m->classes));
        out += 10u;
        last_out = logits;
        last_out_n = m->classes;
        if (flags & PRELOAD_FLAG_LOGITS) {
            for (uint32_t i = 0; i < m->classes; i++) {
                out[i] = (uint8_t)logits[i];
            }
            out += m->classes;
        }
    }
    txp[0] = (uint8_t)id;
    wr16(txp + 1, count);
    send(CMD_RUN_PRELOADED | REPLY_FLAG, seq, (uint32_t)(out - txp));
}

/* PRELOAD_CRC (version 6): u32 offset, u32 length -> the same two and the CRC-32 of that range
 * of the preload region, so the host can tell whether a persistent region (a board's QSPI NOR)
 * already holds its image before writing it again. */
static void cmd_preload_crc(uint8_t seq, const uint8_t *p, uint32_t n)
{
    if (n != 8u) {
        send_err(seq, ERR_BAD_PAYLOAD, "PRELOAD_CRC payload is u32 offset, u32 length");
        return;
    }
    const uint32_t off = rd32(p), len = rd32(p + 4);
    if ((uint64_t)off + len > PRELOAD_SIZE) {
        const uint64_t end = (uint64_t)off + len;
        send_err2(seq, ERR_INPUT_OVERFLOW, "range ends at ", end > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)end,
                  " > preload region bytes ", PRELOAD_SIZE);
        return;
    }
    uint32_t crc = 0u;
    uint8_t buf[256];
    for (uint32_t at = 0; at < len;) {
        const uint32_t k = len - at < sizeof buf ? len - at : (uint32_t)sizeof buf;
        if (preload_read(off + at, buf, k) != 0) {
            send_err2(seq, ERR_STORAGE, "preload region read failed at ", off + at, ", bytes ", k);
            return;
        }
        crc = crc32_update(crc, buf, k);
        at += k;
    }
    wr32(txp, off);
    wr32(txp + 4, len);
    wr32(txp + 8, crc);
    send(CMD_PRELOAD_CRC | REPLY_FLAG, seq, 12u);
}

/* READ_OUTPUT (version 7): u32 offset, u16 n. A slice of the last inference's output vector, so
 * that a vector of any length reaches the host in frames of at most MAX_PAYLOAD. */
static void cmd_read_output(uint8_t seq, const uint8_t *p, uint32_t n)
{
    if (n != 6u) {
        send_err(seq, ERR_BAD_PAYLOAD, "READ_OUTPUT payload is u32 offset, u16 n");
        return;
    }
    const uint32_t off = rd32(p), len = rd16(p + 4);
    if (last_out == NULL) {
        send_err(seq, ERR_BAD_PAYLOAD, "no inference has run: no output to read");
        return;
    }
    if (len > MAX_PAYLOAD - 6u || off > last_out_n || len > last_out_n - off) {
        send_err2(seq, ERR_BAD_PAYLOAD, "READ_OUTPUT slice ends at ", off + len, " beyond the outputs ", last_out_n);
        return;
    }
    wr32(txp, off);
    wr16(txp + 4, len);
    for (uint32_t i = 0; i < len; i++) {
        txp[6u + i] = (uint8_t)last_out[off + i];
    }
    send(CMD_READ_OUTPUT | REPLY_FLAG, seq, 6u + len);
}

static void dispatch(uint8_t type, uint8_t seq, const uint8_t *p, uint32_t n)
{
    switch (type) {
    case CMD_HELLO:
        cmd_hello(seq, n);
        break;
    case CMD_PING:
        cmd_ping(seq, p, n);
        break;
    case CMD_CHUNK:
        cmd_chunk(seq, p, n);
        break;
    case CMD_INFER:
        cmd_infer(seq, p, n);
        break;
    case CMD_SELECT:
        cmd_select(seq, p, n);
        break;
    case CMD_RUN_PRELOADED:
        cmd_run_preloaded(seq, p, n);
        break;
    case CMD_PRELOAD_CRC:
        cmd_preload_crc(seq, p, n);
        break;
    case CMD_READ_OUTPUT:
        cmd_read_output(seq, p, n);
        break;
    default:
        send_err2(seq, ERR_UNKNOWN_COMMAND, "unknown command type ", type, ", known: 1..", 8u);
        break;
    }
}

void proto_serve(void)
{
    for (;;) {
        /* Tight polling loop until the 0x00 delimiter; overlong frames are drained, then refused. */
        uint32_t n = 0;
        int overflow = 0;
        for (;;) {
            const uint8_t b = board_getc();
            if (b == 0u) {
                break;
            }
            if (n < sizeof(rx)) {
                rx[n++] = b;
            } else {
                overflow = 1;
            }
        }
        if (n == 0u && !overflow) {
            continue; /* empty frame: the host may send 0x00 to resynchronise */
        }
        if (overflow) {
            send_err(SEQ_BAD_FRAME, ERR_BAD_FRAME, "frame too long");
            continue;
        }
        const int32_t raw = cobs_decode_inplace(rx, n);
        if (raw < 0) {
            send_err(SEQ_BAD_FRAME, ERR_BAD_FRAME, "bad COBS");
            continue;
        }
        if ((uint32_t)raw < HDR_BYTES + CRC_BYTES) {
            send_err(SEQ_BAD_FRAME, ERR_BAD_FRAME, "frame too short");
            continue;
        }
        const uint32_t len = rd16(rx + 2);
        if (len > MAX_PAYLOAD || len + HDR_BYTES + CRC_BYTES != (uint32_t)raw) {
            send_err(SEQ_BAD_FRAME, ERR_BAD_FRAME, "bad length");
            continue;
        }
        if (crc32_ieee(rx, HDR_BYTES + len) != rd32(rx + HDR_BYTES + len)) {
            send_err(SEQ_BAD_FRAME, ERR_BAD_FRAME, "bad CRC");
            continue;
        }
        dispatch(rx[0], rx[1], rx + HDR_BYTES, len);
    }
}
