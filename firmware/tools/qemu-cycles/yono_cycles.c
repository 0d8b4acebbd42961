/*
 * yono_cycles: a QEMU 7.2 TCG plugin that counts, between GPIO-marker edges, what a cycle model
 * of a Cortex-M core needs: Thumb-2 instructions by class, taken branches, data accesses by
 * memory region, and the flash lines that a small flash cache (STM32 ART / L1) would miss.
 * The harness (harness/estimate/plugin.ts) builds it with the host gcc and loads it with
 *   qemu-system-arm ... -plugin yono_cycles.so,out=<file>,marker=0x40028000,flash=0x0:0x100000,...
 *
 * Arguments (key=value; numbers in C syntax, regions BASE:SIZE):
 *   out=<file>          one JSON line per closed window, flushed at each close (required)
 *   marker=<addr>       the marker register
 *   on_sym=, off_sym=   functions whose stores to `marker` open / close a window
 *                       (default board_marker_on / board_marker_off)
 *   flash=, sram=       code flash and SRAM ranges (from the board's board.mk)
 *   periph=             peripheral range (default 0x40000000:0x20000000; 0xE0000000.. is too)
 *   icache=, dcache=    LINES:LINE_BYTES:WAYS of the flash-side caches simulated for
 *                       instruction fetch and data reads from flash (0 or absent: none, every
 *                       line change is a miss)
 *
 * Why symbols: a 7.2 plugin sees a store's address but not its value, so "bit 0 set opens,
 * cleared closes" cannot be read from the bus; the firmware writes 1 / 0 to the register and
 * the plugin tells the edges apart by the function the store instruction belongs to (QEMU
 * resolves it from the ELF's symbol table, which -kernel loads).
 *
 * Counting: one inline counter add per instruction (its class) and, for LDM/STM/PUSH/POP/LDRD/
 * STRD, one more for the words moved; one callback per executed TB (taken branches = a TB that
 * does not start where the previous one ended; instruction-fetch cache model); one callback
 * per data access (region, flash cache model, marker). Counters run all the time; a window is
 * the difference between the counters at its closing and its opening marker store.
 * Known skew: under -icount an MMIO access that is not the last instruction of its TB makes
 * QEMU re-execute that instruction in a TB of its own, so its class counter is bumped twice
 * and the restart looks like a taken branch (a few instructions per window: the SysTick reads).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu-plugin-api.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = YONO_QEMU_PLUGIN_VERSION;

enum counter {
    /* instruction classes (they sum to the instruction count) */
    K_ALU, K_LOAD, K_LOAD_PIPE, K_STORE, K_LDM, K_STM, K_MUL, K_MULL, K_DIV, K_BRANCH, K_OTHER,
    K_N_CLASSES,
    /* extra counts */
    K_LDM_WORDS = K_N_CLASSES, K_STM_WORDS, K_TAKEN, K_TBS,
    K_R_FLASH, K_W_FLASH, K_R_SRAM, K_W_SRAM, K_R_PERIPH, K_W_PERIPH, K_R_OTHER, K_W_OTHER,
    K_FLASH_RBYTES, K_FLASH_DMISS, K_FETCH_LINES, K_FETCH_MISS, K_FETCH_MISS_SEQ,
    K_N
};

static const char *const counter_names[K_N] = {
    "alu", "load", "load_pipe", "store", "ldm", "stm", "mul", "mull", "div", "branch", "other",
    "ldm_words", "stm_words", "taken", "tbs",
    "r_flash", "w_flash", "r_sram", "w_sram", "r_periph", "w_periph", "r_other", "w_other",
    "flash_rbytes", "flash_dmiss", "fetch_lines", "fetch_miss", "fetch_miss_seq",
};

/* The counters: the inline adds target these words directly (one vCPU on these machines). */
static uint64_t counters[K_N];
static uint64_t at_open[K_N];
static int window_open;
static uint64_t window_seq;
static uint64_t marker_errors;

static FILE *out;
static uint64_t marker_addr = UINT64_MAX;
static const char *on_sym = "board_marker_on";
static const char *off_sym = "board_marker_off";

struct region {
    uint64_t base, size;
};
static struct region flash = {0, 0}, sram = {0, 0}, periph = {0x40000000u, 0x20000000u};
static const struct region sysregion = {0xE0000000u, 0x20000000u};

enum { R_FLASH, R_SRAM, R_PERIPH, R_OTHER };

static inline int in_region(const struct region *r, uint64_t a) { return a - r->base < r->size; }

static inline int region_of(uint64_t a)
{
    if (in_region(&flash, a)) return R_FLASH;
    if (in_region(&sram, a)) return R_SRAM;
    if (in_region(&periph, a) || in_region(&sysregion, a)) return R_PERIPH;
    return R_OTHER;
}

/* A set-associative LRU cache of line tags (fully associative when ways == lines). */
struct cache {
    unsigned lines, line_shift, ways, sets;
    uint64_t *tag;   /* [sets][ways], UINT64_MAX = empty, index 0 = most recent */
    uint64_t last;   /* last line accessed: the common sequential case hits without a search */
};
static struct cache icache, dcache;

static int cache_setup(struct cache *c, const char *spec)
{
    unsigned lines = 0, bytes = 0, ways = 0;
    int n = sscanf(spec, "%u:%u:%u", &lines, &bytes, &ways);
    if (n < 2 || (lines > 0 && (bytes == 0 || (bytes & (bytes - 1)) != 0))) return -1;
    if (n < 3 || ways == 0 || ways > lines) ways = lines;
    c->lines = lines;
    c->line_shift = 0;
    while ((1u << c->line_shift) < bytes) c->line_shift++;
    c->ways = ways;
    c->sets = lines ? lines / ways : 0;
    c->last = UINT64_MAX;
    if (lines == 0) return 0;
    if (c->sets * ways != lines) return -1;
    c->tag = malloc(sizeof(uint64_t) * lines);
    if (!c->tag) return -1;
    for (unsigned i = 0; i < lines; i++) c->tag[i] = UINT64_MAX;
    return 0;
}

/* Touches the line holding `addr`; returns 1 on a miss. Without a cache, every change of line
 * is a miss (a one-line buffer: the flash interface's own prefetch/line register). */
static inline int cache_touch(struct cache *c, uint64_t addr)
{
    const uint64_t line = addr >> c->line_shift;
    if (line == c->last) return 0;
    c->last = line;
    if (c->lines == 0) return 1;
    uint64_t *set = c->tag + (size_t)(line % c->sets) * c->ways;
    for (unsigned i = 0; i < c->ways; i++) {
        if (set[i] == line) {
            memmove(set + 1, set, i * sizeof(uint64_t));
            set[0] = line;
            return 0;
        }
    }
    memmove(set + 1, set, (c->ways - 1) * sizeof(uint64_t));
    set[0] = line;
    return 1;
}

/* ---- Thumb-2 classification ------------------------------------------------------------ */

struct insn_class {
    int cls;          /* enum counter, < K_N_CLASSES */
    unsigned words;   /* words moved by LDM/STM/PUSH/POP/LDRD/STRD */
    int single_ls;    /* a load/store single (can pipeline with a neighbour) */
    int rt, rn;       /* for single loads/stores: data and base register (-1 = unknown) */
};

static unsigned popcount16(unsigned v) { return (unsigned)__builtin_popcount(v & 0xFFFFu); }

static struct insn_class classify16(unsigned hw)
{
    struct insn_class c = {K_ALU, 0, 0, -1, -1};
    if ((hw >> 11) == 0x09) { /* LDR Rt, [PC, #imm] */
        c.cls = K_LOAD, c.single_ls = 1, c.rt = (int)((hw >> 8) & 7u), c.rn = 15;
    } else if ((hw >> 12) == 0x5) { /* load/store register offset */
        unsigned opb = (hw >> 9) & 7u;
        c.cls = opb < 3 ? K_STORE : K_LOAD, c.single_ls = 1, c.rt = (int)(hw & 7u), c.rn = (int)((hw >> 3) & 7u);
    } else if ((hw >> 13) == 0x3 || (hw >> 12) == 0x8) { /* LDR/STR(B) imm5, LDRH/STRH imm5 */
        c.cls = (hw & 0x0800u) ? K_LOAD : K_STORE, c.single_ls = 1, c.rt = (int)(hw & 7u), c.rn = (int)((hw >> 3) & 7u);
    } else if ((hw >> 12) == 0x9) { /* LDR/STR SP-relative */
        c.cls = (hw & 0x0800u) ? K_LOAD : K_STORE, c.single_ls = 1, c.rt = (int)((hw >> 8) & 7u), c.rn = 13;
    } else if ((hw >> 12) == 0xC) { /* LDM/STM */
        c.cls = (hw & 0x0800u) ? K_LDM : K_STM, c.words = popcount16(hw & 0xFFu);
    } else if ((hw >> 9) == 0x5A) { /* PUSH {list, lr} */
        c.cls = K_STM, c.words = popcount16(hw & 0xFFu) + ((hw >> 8) & 1u);
    } else if ((hw >> 9) == 0x5E) { /* POP {list, pc}: the PC write shows as a taken branch */
        c.cls = K_LDM, c.words = popcount16(hw & 0xFFu) + ((hw >> 8) & 1u);
    } else if ((hw & 0xF500u) == 0xB100u) { /* CBZ/CBNZ */
        c.cls = K_BRANCH;
    } else if ((hw >> 12) == 0xD) { /* B<cond>, UDF, SVC */
        unsigned cond = (hw >> 8) & 0xFu;
        c.cls = cond >= 0xE ? K_OTHER : K_BRANCH;
    } else if ((hw >> 11) == 0x1C) { /* B */
        c.cls = K_BRANCH;
    } else if ((hw >> 10) == 0x11) { /* special data processing, BX/BLX */
        unsigned op = (hw >> 8) & 3u;
        unsigned rd = (hw & 7u) | ((hw >> 4) & 8u);
        c.cls = (op == 3 || (op != 1 && rd == 15)) ? K_BRANCH : K_ALU;
    } else if ((hw >> 10) == 0x10) { /* data processing; MULS */
        c.cls = ((hw >> 6) & 0xFu) == 0xD ? K_MUL : K_ALU;
    } else if ((hw & 0xFF00u) == 0xBF00u && (hw & 0xFu) == 0) { /* NOP/YIELD/WFE/WFI/SEV hints */
        c.cls = ((hw >> 4) & 0xFu) == 0 ? K_ALU : K_OTHER;
    } else if ((hw & 0xFFE8u) == 0xB660u || (hw >> 8) == 0xBE) { /* CPS, BKPT */
        c.cls = K_OTHER;
    }
    return c;
}

static struct insn_class classify32(unsigned hw1, unsigned hw2)
{
    struct insn_class c = {K_ALU, 0, 0, -1, -1};
    unsigned op1 = (hw1 >> 11) & 3u, op2 = (hw1 >> 4) & 0x7Fu;
    unsigned rn = hw1 & 0xFu, rt = (hw2 >> 12) & 0xFu;
    if (op1 == 1) {
        if ((op2 & 0x64u) == 0x00u) { /* LDM/STM (incl. PUSH.W/POP.W) */
            c.cls = (hw1 & 0x10u) ? K_LDM : K_STM, c.words = popcount16(hw2);
        } else if ((op2 & 0x64u) == 0x04u) { /* dual, exclusive, table branch */
            if ((hw1 & 0xFFF0u) == 0xE8D0u) {
                unsigned op3 = (hw2 >> 4) & 0xFu;
                if (op3 <= 1) c.cls = K_BRANCH; /* TBB/TBH: a load + a PC write */
                else c.cls = K_LOAD, c.single_ls = 1, c.rt = (int)rt, c.rn = (int)rn; /* LDREXB/H */
            } else if ((hw1 & 0xFFF0u) == 0xE8C0u) {
                c.cls = K_STORE, c.single_ls = 1, c.rt = -1, c.rn = (int)rn; /* STREXB/H */
            } else if ((hw1 & 0xFFF0u) == 0xE850u) {
                c.cls = K_LOAD, c.single_ls = 1, c.rt = (int)rt, c.rn = (int)rn; /* LDREX */
            } else if ((hw1 & 0xFFF0u) == 0xE840u) {
                c.cls = K_STORE, c.single_ls = 1, c.rt = -1, c.rn = (int)rn; /* STREX */
            } else { /* LDRD/STRD */
                c.cls = (hw1 & 0x10u) ? K_LDM : K_STM, c.words = 2;
            }
        } else if ((op2 & 0x60u) == 0x20u) {
            c.cls = K_ALU; /* data processing, shifted register */
        } else {
            c.cls = K_OTHER; /* coprocessor / FPU */
        }
    } else if (op1 == 2) {
        if ((hw2 & 0x8000u) == 0) {
            c.cls = K_ALU; /* data processing, (modified) immediate */
        } else if ((hw2 & 0x5000u) == 0x0000u) {
            c.cls = ((hw1 >> 7) & 7u) != 7u ? K_BRANCH : K_OTHER; /* B<cond>.W ; MSR/MRS/hints/barriers */
        } else {
            c.cls = K_BRANCH; /* B.W, BL, BLX */
        }
    } else { /* op1 == 3 */
        if ((op2 & 0x71u) == 0x00u) {
            c.cls = K_STORE, c.single_ls = 1, c.rt = (int)rt, c.rn = (int)rn;
        } else if ((op2 & 0x67u) == 0x01u || (op2 & 0x67u) == 0x03u || (op2 & 0x67u) == 0x05u) {
            /* LDR(S)B / LDR(S)H / LDR; with Rt = PC: PLD/PLI hints (byte/half), LDR PC (word) */
            if (rt == 15 && (op2 & 0x67u) != 0x05u) c.cls = K_OTHER;
            else c.cls = K_LOAD, c.single_ls = 1, c.rt = (int)rt, c.rn = (int)rn;
        } else if ((op2 & 0x70u) == 0x20u) {
            c.cls = K_ALU; /* data processing register, parallel add/sub, extend, misc */
        } else if ((op2 & 0x78u) == 0x30u) {
            c.cls = K_MUL; /* MUL/MLA/MLS, SMLAxy, SMLAD/SMUAD, SMLAW, SMMUL/SMMLA, USAD8 */
        } else if ((op2 & 0x78u) == 0x38u) {
            unsigned op = (hw1 >> 4) & 7u;
            c.cls = (op == 1 || op == 3) ? K_DIV : K_MULL; /* SDIV/UDIV; SMULL/UMULL/SMLAL*/
        } else {
            c.cls = K_OTHER; /* coprocessor / FPU */
        }
    }
    return c;
}

/* ---- callbacks -------------------------------------------------------------------------- */

struct tb_info {
    uint64_t start, end;
    int in_flash;
};
static uint64_t prev_tb_end = UINT64_MAX;
static uint64_t last_fetch_line = UINT64_MAX - 1;

static void write_window(void)
{
    uint64_t d[K_N];
    uint64_t insns = 0;
    for (int i = 0; i < K_N; i++) d[i] = counters[i] - at_open[i];
    for (int i = 0; i < K_N_CLASSES; i++) insns += d[i];
    fprintf(out, "{\"type\":\"window\",\"seq\":%" PRIu64 ",\"insns\":%" PRIu64, window_seq, insns);
    for (int i = 0; i < K_N; i++) fprintf(out, ",\"%s\":%" PRIu64, counter_names[i], d[i]);
    fprintf(out, ",\"marker_errors\":%" PRIu64 "}\n", marker_errors);
    fflush(out);
}

enum { MEM_ON = 1, MEM_OFF = 2 };

static void mem_cb(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t va, void *ud)
{
    (void)vcpu;
    const int st = qemu_plugin_mem_is_store(info) ? 1 : 0;
    const int r = region_of(va);
    counters[K_R_FLASH + 2 * r + st]++;
    if (r == R_FLASH && !st) {
        counters[K_FLASH_RBYTES] += 1u << qemu_plugin_mem_size_shift(info);
        counters[K_FLASH_DMISS] += (uint64_t)cache_touch(&dcache, va);
    }
    if (st && va == marker_addr) {
        const uintptr_t flags = (uintptr_t)ud;
        if (flags & MEM_ON) {
            if (window_open) marker_errors++; /* two opens: restart the window */
            memcpy(at_open, counters, sizeof counters);
            window_open = 1;
        } else if (flags & MEM_OFF) {
            if (!window_open) {
                marker_errors++;
                return;
            }
            window_open = 0;
            window_seq++;
            write_window();
        }
    }
}

static void tb_exec(unsigned int vcpu, void *ud)
{
    (void)vcpu;
    const struct tb_info *t = ud;
    counters[K_TBS]++;
    if (t->start != prev_tb_end) counters[K_TAKEN]++;
    prev_tb_end = t->end;
    if (t->in_flash) {
        const unsigned shift = icache.line_shift;
        for (uint64_t a = t->start & ~(((uint64_t)1 << shift) - 1); a < t->end; a += (uint64_t)1 << shift) {
            const uint64_t line = a >> shift;
            counters[K_FETCH_LINES]++;
            if (cache_touch(&icache, a)) {
                counters[K_FETCH_MISS]++;
                /* the line after the last one fetched: what a sequential prefetcher has ready */
                if (line == last_fetch_line + 1) counters[K_FETCH_MISS_SEQ]++;
            }
            last_fetch_line = line;
        }
    }
}

static int sym_is(const char *s, const char *want) { return s && want && strcmp(s, want) == 0; }

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    const size_t n = qemu_plugin_tb_n_insns(tb);
    if (n == 0) return;
    struct tb_info *t = malloc(sizeof *t);
    if (!t) return;
    struct qemu_plugin_insn *last = qemu_plugin_tb_get_insn(tb, n - 1);
    t->start = qemu_plugin_tb_vaddr(tb);
    t->end = qemu_plugin_insn_vaddr(last) + qemu_plugin_insn_size(last);
    t->in_flash = in_region(&flash, t->start);
    qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS, t);

    struct insn_class prev = {K_ALU, 0, 0, -1, -1};
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        const uint8_t *b = qemu_plugin_insn_data(insn);
        const size_t size = qemu_plugin_insn_size(insn);
        struct insn_class c;
        if (size == 4) c = classify32((unsigned)(b[0] | b[1] << 8), (unsigned)(b[2] | b[3] << 8));
        else c = classify16((unsigned)(b[0] | b[1] << 8));
        /* Cortex-M4: neighbouring single loads/stores pipeline their address and data phases,
         * so a load right after one costs a cycle less, unless its address register is the
         * previous load's result. */
        if (c.cls == K_LOAD && prev.single_ls && !(prev.cls != K_STORE && prev.rt >= 0 && prev.rt == c.rn)) {
            c.cls = K_LOAD_PIPE;
        }
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &counters[c.cls], 1);
        if (c.words) {
            const int w = c.cls == K_LDM ? K_LDM_WORDS : K_STM_WORDS;
            qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &counters[w], c.words);
        }
        /* Every instruction that may touch memory gets the data callback (classified loads and
         * stores, plus TBB/TBH and "other" ones such as PLD that QEMU may turn into accesses). */
        if (c.cls == K_LOAD || c.cls == K_LOAD_PIPE || c.cls == K_STORE || c.cls == K_LDM || c.cls == K_STM ||
            c.cls == K_BRANCH || c.cls == K_OTHER) {
            uintptr_t flags = 0;
            if (c.cls == K_STORE || c.cls == K_STM) {
                const char *s = qemu_plugin_insn_symbol(insn);
                if (sym_is(s, on_sym)) flags |= MEM_ON;
                else if (sym_is(s, off_sym)) flags |= MEM_OFF;
            }
            qemu_plugin_register_vcpu_mem_cb(insn, mem_cb, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW, (void *)flags);
        }
        prev = c;
    }
}

static void at_exit(qemu_plugin_id_t id, void *p)
{
    (void)id, (void)p;
    if (out) {
        fprintf(out, "{\"type\":\"exit\",\"windows\":%" PRIu64 ",\"open\":%d,\"marker_errors\":%" PRIu64 "}\n",
                window_seq, window_open, marker_errors);
        fclose(out);
        out = NULL;
    }
}

static int parse_region(const char *v, struct region *r)
{
    char *end;
    unsigned long long base = strtoull(v, &end, 0);
    if (*end != ':') return -1;
    unsigned long long size = strtoull(end + 1, &end, 0);
    if (*end != '\0') return -1;
    r->base = base, r->size = size;
    return 0;
}

static int fail(const char *what, const char *arg)
{
    char msg[512];
    snprintf(msg, sizeof msg, "yono_cycles: %s: %s\n", what, arg);
    qemu_plugin_outs(msg);
    return -1;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    const char *out_path = NULL;
    const char *ispec = "0:16", *dspec = "0:8";
    if (!info->system_emulation) return fail("needs system emulation", info->target_name);
    for (int i = 0; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) return fail("argument is not key=value", argv[i]);
        const size_t klen = (size_t)(eq - argv[i]);
        const char *v = eq + 1;
#define KEY(k) (klen == sizeof(k) - 1 && strncmp(argv[i], k, klen) == 0)
        if (KEY("out")) out_path = v;
        else if (KEY("marker")) {
            char *end;
            marker_addr = strtoull(v, &end, 0);
            if (*end) return fail("bad marker address", v);
        } else if (KEY("on_sym")) on_sym = v;
        else if (KEY("off_sym")) off_sym = v;
        else if (KEY("flash")) { if (parse_region(v, &flash)) return fail("bad region (BASE:SIZE)", argv[i]); }
        else if (KEY("sram")) { if (parse_region(v, &sram)) return fail("bad region (BASE:SIZE)", argv[i]); }
        else if (KEY("periph")) { if (parse_region(v, &periph)) return fail("bad region (BASE:SIZE)", argv[i]); }
        else if (KEY("icache")) ispec = v;
        else if (KEY("dcache")) dspec = v;
        else return fail("unknown argument", argv[i]);
#undef KEY
    }
    if (!out_path) return fail("missing argument", "out=<file>");
    if (cache_setup(&icache, ispec)) return fail("bad cache spec (LINES:LINE_BYTES[:WAYS])", ispec);
    if (cache_setup(&dcache, dspec)) return fail("bad cache spec (LINES:LINE_BYTES[:WAYS])", dspec);
    out = fopen(out_path, "w");
    if (!out) return fail("cannot open", out_path);
    fprintf(out,
            "{\"type\":\"config\",\"plugin\":\"yono_cycles\",\"api\":%d,\"marker\":%" PRIu64 ",\"flash\":[%" PRIu64 ",%" PRIu64
            "],\"sram\":[%" PRIu64 ",%" PRIu64 "],\"icache\":[%u,%u,%u],\"dcache\":[%u,%u,%u]}\n",
            info->version.cur, marker_addr == UINT64_MAX ? 0 : marker_addr, flash.base, flash.size, sram.base, sram.size,
            icache.lines, 1u << icache.line_shift, icache.ways, dcache.lines, 1u << dcache.line_shift, dcache.ways);
    fflush(out);
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
