/* Wire protocol v7 (firmware/SPEC.md section 1): framing and command dispatch. */
#ifndef YONO_PROTO_H
#define YONO_PROTO_H

#define PROTO_VERSION 7
#define MAX_PAYLOAD 2048u

enum {
    CMD_HELLO = 0x01,
    CMD_PING = 0x02,
    CMD_CHUNK = 0x03,
    CMD_INFER = 0x04,
    CMD_SELECT = 0x05,
    CMD_RUN_PRELOADED = 0x06, /* v4: samples the loader put in the board's preload region */
    CMD_PRELOAD_CRC = 0x07,   /* v6: CRC-32 of a range of the preload region */
    CMD_READ_OUTPUT = 0x08,   /* v7: a slice of the last inference's output vector */
    REPLY_FLAG = 0x80,
    TYPE_ERR = 0x7F,
};

enum {
    ERR_BAD_FRAME = 1,
    ERR_UNKNOWN_MODEL = 2,
    ERR_INPUT_OVERFLOW = 3,
    ERR_INPUT_SIZE = 4,
    ERR_UNKNOWN_COMMAND = 5,
    ERR_BAD_PAYLOAD = 6,
    ERR_INPUT_CRC = 7, /* INFER's input CRC-32 does not match the buffered input */
    ERR_NOT_LOADED = 8, /* INFER of an external-storage model that SELECT has not loaded */
    ERR_STORAGE = 9,    /* external storage failed, or its image is missing or stale */
};

/* Read frames from the board UART and answer each; never returns. */
void proto_serve(void);

#endif
