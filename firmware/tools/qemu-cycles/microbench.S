/* A Cortex-M4 microbenchmark whose cycle count the Cortex-M4 TRM fixes by hand, for checking the
 * cycle plugin's classification (test/integration/cycle-plugin.test.ts, npm run bench:cycles).
 * Two marker windows around the same loop of ITER iterations (a dot product step):
 *     ldr r3, [r0], #4      2 cycles
 *     ldr r4, [r1], #4      1 (pipelined with the previous load; its base is not r3)
 *     smlad r5, r3, r4, r5  1
 *     subs r2, r2, #1       1
 *     bne loop              1 + P when taken (P = 2 in our rig; 1-3 in the TRM)
 * = 8 cycles per iteration. Window 1 reads both streams from SRAM, window 2 reads r0's stream
 * from flash (0x0), so its flash-data misses are 4 * ITER / line bytes.
 * Build: arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -nostdlib -Ttext=0 -DITER=1000 microbench.S */
    .syntax unified
    .cpu cortex-m4
    .thumb

    .section .text
    .word 0x20010000            /* initial SP */
    .word reset                 /* reset vector (Thumb: the symbol is a thumb_func) */

    .thumb_func
    .global reset
reset:
    ldr r0, =0x20000000
    ldr r1, =0x20004000
    bl run
    ldr r0, =0x00000000
    ldr r1, =0x20004000
    bl run
    ldr r0, =0x40028000         /* park: LED0 = 2 */
    movs r1, #2
    str r1, [r0]
done:
    b done

    .thumb_func
    .type run, %function
run:
    push {lr}
    ldr r2, =ITER
    movs r5, #0
    bl board_marker_on
loop:
    ldr r3, [r0], #4
    ldr r4, [r1], #4
    smlad r5, r3, r4, r5
    subs r2, r2, #1
    bne loop
    bl board_marker_off
    pop {pc}
    .size run, . - run

    .thumb_func
    .type board_marker_on, %function
board_marker_on:
    ldr r7, =0x40028000
    movs r6, #1
    str r6, [r7]
    bx lr
    .size board_marker_on, . - board_marker_on

    .thumb_func
    .type board_marker_off, %function
board_marker_off:
    ldr r7, =0x40028000
    movs r6, #0
    str r6, [r7]
    bx lr
    .size board_marker_off, . - board_marker_off
    .ltorg
