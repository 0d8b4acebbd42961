/* The board tick timer (TIMER in board.mk selects timer_<TIMER>.c). It implements
 * board_ticks() from board.h; the board calls timer_init() once its clocks are final. */
#ifndef YONO_TIMER_H
#define YONO_TIMER_H

void timer_init(void);

#endif
