/* MLPerf Tiny front end (PROTO=mlperf_tiny): the EEMBC-derived text protocol of the MLPerf Tiny
 * benchmark API (mlcommons/tiny benchmark/api), so the official runner can drive this firmware.
 * Commands end with '%', replies are "m-..." / "e-[...]" lines ending in "\r\n", and every command
 * ends with "m-ready". One model per firmware: MLPERF_MODEL (index into the generated model
 * table) runs on the bytes loaded with `db`, taken as the model's int8 input tensor.
 * Reply strings follow benchmark/api/internally_implemented.{h,cpp} and the reference
 * submitter_implemented.cpp; where ours differ (refusals the reference does not make) they are
 * e-[...] lines so a host sees one clear error. */
#include <stddef.h>
#include <stdint.h>

#include "board.h"
#include "models.h"
#include "proto.h"
#include "yono_model.h"

#ifndef YONO_MLPERF_MODEL
#define YONO_MLPERF_MODEL 0
#endif
#ifndef YONO_MLPERF_PROFILE
#define YONO_MLPERF_PROFILE ""
#endif
/* EE_CFG_ENERGY_MODE (make MLPERF_ENERGY=1): timestamps are edges on the timestamp pin (the GPIO
 * marker) for the energy monitor instead of m-lap-us lines; the host then runs the link at the
 * rig's (energy-mode) baud and sends 26 bytes per db line. */
#ifndef YONO_MLPERF_ENERGY
#define YONO_MLPERF_ENERGY 0
#endif
_Static_assert(YONO_MLPERF_MODEL < YONO_N_MODELS, "MLPERF_MODEL is not an index into the generated model table");

#define CMD_SIZE 80u /* EE_CMD_SIZE: longer commands keep only their first 80 characters */
#define FW_VERSION "ULPMark for tinyML Firmware V0.0.1" /* EE_FW_VERSION, printed by profile% */
#define VENDOR "yono-hil" /* TH_VENDOR_NAME_STRING of this submitter */

static char cmd_buf[CMD_SIZE + 1u];
static uint32_t cmd_pos;

/* The db buffer is the model input itself; only the model's input_bytes of it are usable. */
static int8_t db_buf[YONO_INPUT_BUFFER_BYTES] __attribute__((aligned(4)));
static uint32_t db_size; /* N of the last accepted `db load N` */
static uint32_t db_pos;  /* bytes loaded since */

static const int8_t *last_logits; /* output of the last inference, NULL before the first */

static const float out_scale[YONO_N_MODELS] = YONO_OUTPUT_SCALES;

/* ---- output (no printf: strings and numbers straight to the UART) ---- */

static void put_str(const char *s)
{
    while (*s) {
        board_putc((uint8_t)*s++);
    }
}

static void put_u32(uint32_t v)
{
    char d[10];
    int n = 0;
    do {
        d[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n) {
        board_putc((uint8_t)d[--n]);
    }
}

static void put_i32(int32_t v)
{
    if (v < 0) {
        board_putc('-');
        put_u32(0u - (uint32_t)v);
    } else {
        put_u32((uint32_t)v);
    }
}

static void put_hex2(uint8_t b)
{
    static const char hex[] = "0123456789abcdef";
    board_putc((uint8_t)hex[b >> 4]);
    board_putc((uint8_t)hex[b & 15u]);
}

/* A probability in [0, 1] as "0.dddddd": the reference image-classification th_results prints
 * "%0.3f"; six decimals keep two classes whose int8 logits differ from printing as a tie (the
 * host takes the first argmax, as of the int8 logits). */
static void put_prob6(float p)
{
    const uint32_t micro = (uint32_t)(p * 1000000.0f + 0.5f);
    put_u32(micro / 1000000u);
    board_putc('.');
    for (uint32_t d = 100000u; d > 0u; d /= 10u) {
        board_putc((uint8_t)('0' + micro / d % 10u));
    }
}

/* e^x for x <= 0: 2^k e^r with |r| <= ln2/2 and a degree-6 Taylor polynomial (relative error
 * < 3e-7); no libm in this firmware. */
static float exp_nonpositive(float x)
{
    if (x < -87.0f) {
        return 0.0f;
    }
    const float ln2 = 0.693147181f;
    const int32_t k = (int32_t)(x / ln2 - 0.5f); /* x <= 0: rounds to nearest */
    const float r = x - (float)k * ln2;
    const float poly = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6.0f + r * (1.0f / 24.0f + r * (1.0f / 120.0f + r * (1.0f / 720.0f))))));
    union {
        float f;
        uint32_t u;
    } scale;
    scale.u = (uint32_t)(k + 127) << 23; /* 2^k, k >= -126 */
    return poly * scale.f;
}

static void put_line(const char *s)
{
    put_str(s);
    put_str("\r\n");
}

/* ---- the submitter hooks (th_*) ---- */

#if YONO_MLPERF_ENERGY
/* Energy mode: th_timestamp drives the timestamp pin. With MARKER=pulse (LPM01A rigs) every call
 * is one low pulse, the reference submitter's timestampPin 0 -> 1 that the LPM01A reports as an
 * event; with a level marker the calls alternate high/low, so the level is high between the two
 * stamps of an infer (the QEMU boards, level-marker instruments). */
static uint32_t stamps;

static void th_timestamp(void)
{
    if (stamps++ & 1u) {
        board_marker_off();
    } else {
        board_marker_on();
    }
}
#else
/* EE_MSG_TIMESTAMP "m-lap-us-%lu": the board timer in microseconds, as a 32-bit unsigned long
 * (wraps after ~71 min, like the reference's us_ticker_read()). */
static void th_timestamp(void)
{
    const uint64_t us = board_ticks() * 1000000u / (uint64_t)YONO_TIMER_HZ;
    put_str("m-lap-us-");
    put_u32((uint32_t)us);
    put_str("\r\n");
}
#endif

static const yono_model_t *model(void) { return &yono_models[YONO_MLPERF_MODEL]; }

/* The fp32 output vector of th_results: the reference models end in a softmax, and the runner
 * normalizes the vector by its sum before top-1 and AUC, so the scores must be probabilities.
 * Our models end in logits (a trailing TFLite SOFTMAX is dropped on import): softmax of the
 * dequantized logits, s * (q - zp), on the device. */
static void th_results(void)
{
    if (!last_logits) {
        put_line("e-[No results: no inference has run]");
        return;
    }
    const uint32_t n = model()->classes;
    const float s = out_scale[YONO_MLPERF_MODEL];
    int8_t top = last_logits[0];
    for (uint32_t i = 1; i < n; i++) {
        top = last_logits[i] > top ? last_logits[i] : top;
    }
    float sum = 0.0f;
    for (uint32_t i = 0; i < n; i++) {
        sum += exp_nonpositive(s * (float)((int32_t)last_logits[i] - top));
    }
    put_str("m-results-[");
    for (uint32_t i = 0; i < n; i++) {
        put_prob6(exp_nonpositive(s * (float)((int32_t)last_logits[i] - top)) / sum);
        if (i + 1u < n) {
            board_putc(',');
        }
    }
    put_str("]\r\n");
}

/* ---- parsing helpers (strtok with " ", atoi, ee_hexdec) ---- */

/* Next space-separated token of *p (NUL-terminated in place), NULL when none is left. */
static char *next_token(char **p)
{
    char *s = *p;
    while (*s == ' ') {
        s++;
    }
    if (*s == '\0') {
        *p = s;
        return NULL;
    }
    char *t = s;
    while (*s && *s != ' ') {
        s++;
    }
    if (*s) {
        *s++ = '\0';
    }
    *p = s;
    return t;
}

static int streq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

/* atoi: optional sign and leading digits; saturates instead of overflowing. */
static int32_t parse_int(const char *s)
{
    int neg = 0;
    if (*s == '-' || *s == '+') {
        neg = *s++ == '-';
    }
    int32_t v = 0;
    while (*s >= '0' && *s <= '9') {
        const int32_t d = *s++ - '0';
        v = v > (INT32_MAX - d) / 10 ? INT32_MAX : v * 10 + d;
    }
    return neg ? -v : v;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* ---- commands ---- */

static void cmd_db_load(char *arg)
{
    if (!arg) {
        put_line("e-[Command 'db load' requires the # of bytes]");
        return;
    }
    const int32_t n = parse_int(arg);
    if (n <= 0) {
        put_line("e-[Command 'db load' must be >0 bytes]");
        return;
    }
    db_pos = 0u;
    /* The reference prints a plain (non e-) line here and goes on; we refuse: nothing is expected. */
    if ((uint32_t)n > model()->input_bytes) {
        db_size = 0u;
        put_str("e-[Supplied buffer size ");
        put_i32(n);
        put_str(" exceeds maximum of ");
        put_u32(model()->input_bytes);
        put_str("]\r\n");
        return;
    }
    db_size = (uint32_t)n;
    put_str("m-[Expecting ");
    put_u32(db_size);
    put_str(" bytes]\r\n");
}

/* "db print": m-buffer- lines of 8 bytes, "-" separated. */
static void cmd_db_print(void)
{
    for (uint32_t i = 0; i < db_size; i++) {
        if (i % 8u == 0u) {
            put_str("m-buffer-");
        }
        put_hex2((uint8_t)db_buf[i]);
        put_str((i + 1u) % 8u == 0u || i + 1u == db_size ? "\r\n" : "-");
    }
}

/* "db <hex>": two digits per byte, appended until db load's N bytes are in, then m-load-done. */
static void cmd_db_hex(const char *hex)
{
    uint32_t len = 0;
    while (len < CMD_SIZE && hex[len]) {
        len++;
    }
    if (len & 1u) {
        put_line("e-[Insufficent number of hex digits]"); /* sic, the reference's wording */
        return;
    }
    for (uint32_t i = 0; i < len; i += 2u) {
        const int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1u]);
        if (hi < 0 || lo < 0) {
            put_str("e-[Invalid hex digit '");
            board_putc((uint8_t)hex[i]);
            board_putc((uint8_t)hex[i + 1u]);
            put_str("']\r\n");
            return;
        }
        /* The reference writes past N here; we refuse (and so never overrun the buffer). */
        if (db_pos >= db_size) {
            put_line("e-[db: no bytes expected; send 'db load N' first]");
            return;
        }
        db_buf[db_pos++] = (int8_t)((hi << 4) | lo);
        if (db_pos == db_size) {
            put_line("m-load-done");
            return; /* the rest of the digits is disregarded, as in the reference */
        }
    }
}

static void cmd_db(char **rest)
{
    char *sub = next_token(rest);
    if (!sub) {
        put_line("e-[Command 'db' requires a subcommand]");
    } else if (streq(sub, "load")) {
        cmd_db_load(next_token(rest));
    } else if (streq(sub, "print")) {
        cmd_db_print();
    } else {
        cmd_db_hex(sub);
    }
}

static void run_model(void) { last_logits = yono_model_run(model(), db_buf); }

/* "infer N W" (defaults 1 and 10): warmups, then N timed runs between two m-lap-us stamps. */
static void cmd_infer(char **rest)
{
    uint32_t n = 1u, w = 10u;
    char *a = next_token(rest);
    if (a) {
        const int32_t i = parse_int(a);
        if (i <= 0) {
            put_line("e-[Inference iterations must be >0]");
            return;
        }
        n = (uint32_t)i;
        a = next_token(rest);
        if (a) {
            const int32_t j = parse_int(a);
            if (j < 0) {
                put_line("e-[Inference warmup must be >=0]");
                return;
            }
            w = (uint32_t)j;
        }
    }
    /* th_load_tensor: the reference prints a warning and runs anyway; we refuse to run a
     * partial or stale input. */
    if (db_pos != model()->input_bytes) {
        put_str("e-[Input db has ");
        put_u32(db_pos);
        put_str(" elements, expected ");
        put_u32(model()->input_bytes);
        put_str("]\r\n");
        return;
    }
    if (!yono_model_ready(YONO_MLPERF_MODEL)) {
        yono_switch_stats_t st = {0u, 0u, 0u};
        if (yono_ext_check() != 0 || yono_model_select(YONO_MLPERF_MODEL, &st) != 0) {
            put_line("e-[Model could not be loaded from external storage]");
            return;
        }
    }
    put_str("m-warmup-start-");
    put_u32(w);
    put_str("\r\n");
    while (w-- > 0u) {
        run_model();
    }
    put_line("m-warmup-done");
    put_str("m-infer-start-");
    put_u32(n);
    put_str("\r\n");
    th_timestamp();
#if !YONO_MLPERF_ENERGY
    board_marker_on(); /* th_pre: the power monitor's window (in energy mode the stamps are the window) */
#endif
    while (n-- > 0u) {
        run_model();
    }
#if !YONO_MLPERF_ENERGY
    board_marker_off(); /* th_post */
#endif
    th_timestamp();
    put_line("m-infer-done");
    th_results();
}

static void cmd_help(void)
{
    put_line(FW_VERSION);
    put_line("");
    put_line("help         : Print this information");
    put_line("name         : Print the name of the device");
    put_line("timestamp    : Generate a timestamp");
    put_line("db SUBCMD    : Manipulate a generic byte buffer");
    put_line("  load N     : Allocate N bytes and set load counter");
    put_line("  db HH[HH]* : Load 8-bit hex byte(s) until N bytes");
    put_line("  print      : Print the buffer as hex");
    put_line("infer N [W=10]: Load input, execute N inferences after W warmup loops");
    put_line("results      : Return the result fp32 vector");
}

static void dispatch(char *line)
{
    char *rest = line;
    char *tok = next_token(&rest);
    if (!tok) {
        /* an empty command: only the prompt (the reference would read a NULL token) */
    } else if (streq(tok, "name")) {
        put_line("m-name-dut-[" VENDOR "]"); /* EE_MSG_NAME "m-name-%s-[%s]" with EE_DEVICE_NAME "dut" */
    } else if (streq(tok, "timestamp")) {
        th_timestamp();
    } else if (streq(tok, "profile")) {
        put_line("m-profile-[" FW_VERSION "]");
        put_str("m-model-[");
        put_str(sizeof(YONO_MLPERF_PROFILE) > 1u ? YONO_MLPERF_PROFILE : model()->name);
        put_str("]\r\n");
    } else if (streq(tok, "help")) {
        cmd_help();
    } else if (streq(tok, "db")) {
        cmd_db(&rest);
    } else if (streq(tok, "infer")) {
        cmd_infer(&rest);
    } else if (streq(tok, "results")) {
        th_results();
    } else {
        put_str("e-[Unknown command: ");
        put_str(tok);
        put_str("]\r\n");
    }
    put_str("m-ready\r\n");
}

void proto_serve(void)
{
    /* ee_benchmark_initialize: th_timestamp_initialize prints the mode and a first stamp. In energy
     * mode the boot stamp is left out: no monitor captures then (the host starts a capture per
     * infer), and on a level marker it would invert the level of every later window. */
#if YONO_MLPERF_ENERGY
    put_line("m-timestamp-mode-energy");
#else
    put_line("m-timestamp-mode-performance");
    th_timestamp();
#endif
    put_line("m-init-done");
    put_line("m-ready");
    for (;;) {
        const char c = (char)board_getc();
        if (c == '%') {
            cmd_buf[cmd_pos] = '\0';
            cmd_pos = 0u;
            dispatch(cmd_buf);
        } else if (c == '\r' || c == '\n') {
            /* ignored (the reference keeps them): a terminal's line ends must not glue onto the
             * next command; the official runner never sends them */
        } else {
            /* as ee_serial_callback: beyond 80 characters the last one keeps being overwritten */
            cmd_buf[cmd_pos] = c;
            cmd_pos = cmd_pos >= CMD_SIZE ? CMD_SIZE : cmd_pos + 1u;
        }
    }
}
