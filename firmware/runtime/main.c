#include "board.h"
#include "proto.h"

int main(void)
{
    board_init();
    proto_serve(); /* never returns */
    return 0;
}
