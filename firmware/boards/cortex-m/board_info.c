/* Board identity for the HELLO reply; the facts come from board.mk through the Makefile. */
#include "board.h"

#ifndef YONO_BOARD_NAME
#error "YONO_BOARD_NAME must come from board.mk via the Makefile"
#endif
#ifndef YONO_CORE
#error "YONO_CORE must come from board.mk via the Makefile"
#endif

const char *board_name(void) { return YONO_BOARD_NAME; }
const char *board_core(void) { return YONO_CORE; }
