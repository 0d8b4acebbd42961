/* The pq checks of pq_random.h on the emulated Cortex-M4 itself (test/firmware/pq-target.test.ts
 * builds it with arm-none-eabi-gcc for qemu-system-arm -M mps2-an386): the real SXTB16 / SMLAD /
 * LDRD code of the kernels, which the native builds cannot run. Prints one line over ARM
 * semihosting, "mismatches K table T[ first-bad-layer]", then exits QEMU.
 * PQ_N and PQ_SEED come from the compiler command line. */
#include <stdint.h>

#include "pq_random.h"

static int semihost(int op, const void *arg)
{
    register int r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

int main(void);
int main(void)
{
    static pq_check_result_t r;
    static char line[160];
    pq_rng = (uint32_t)PQ_SEED | 1u;
    pq_random_checks(PQ_N, &r);
    char *p = line;
    for (const char *s = "mismatches "; *s;) *p++ = *s++;
    p = pq_put_u(p, (uint32_t)r.bad);
    for (const char *s = "table "; *s;) *p++ = *s++;
    p = pq_put_u(p, (uint32_t)r.tabled);
    for (const char *s = r.first_bad; *s;) *p++ = *s++;
    *p++ = '\n';
    *p = 0;
    semihost(0x04, line); /* SYS_WRITE0 */
    semihost(0x18, (const void *)0x20026u); /* SYS_EXIT, ADP_Stopped_ApplicationExit (AArch32: by value) */
    for (;;) {
    }
}
