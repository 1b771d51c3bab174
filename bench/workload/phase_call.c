/*
 * Call phase: deep and wide recursion (Fibonacci, Takeuchi), calls
 * through function pointers, and a switch-dispatched bytecode
 * interpreter (an indirect jump through a table per opcode). This is
 * where an emulator's block-lookup and return-prediction costs show:
 * every CALL, RET and indirect JMP ends a block.
 */
#include "workload.h"

#define NOINLINE __attribute__((noinline))

static NOINLINE uint32_t fib(uint32_t n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static NOINLINE int tak(int x, int y, int z)
{
    return y < x ? tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y)) : z;
}

static NOINLINE uint32_t op_add(uint32_t a, uint32_t b) { return a + b; }
static NOINLINE uint32_t op_sub(uint32_t a, uint32_t b) { return a - b; }
static NOINLINE uint32_t op_xor(uint32_t a, uint32_t b) { return a ^ (b << 3); }
static NOINLINE uint32_t op_mul(uint32_t a, uint32_t b) { return a * (b | 1); }
static NOINLINE uint32_t op_rot(uint32_t a, uint32_t b) { return a << (b & 31) | a >> (-b & 31); }
static NOINLINE uint32_t op_min(uint32_t a, uint32_t b) { return a < b ? a : b; }
static NOINLINE uint32_t op_mix(uint32_t a, uint32_t b) { return mix32(a, b); }
static NOINLINE uint32_t op_avg(uint32_t a, uint32_t b) { return (a >> 1) + (b >> 1) + (a & b & 1); }

static uint32_t (*const ops[8])(uint32_t, uint32_t) = {
    op_add, op_sub, op_xor, op_mul, op_rot, op_min, op_mix, op_avg,
};

static uint32_t part_fnptr(unsigned iters)
{
    uint32_t s = 0x31415926u, acc = 1;
    for (unsigned k = 0; k < iters; k++) {
        uint32_t r = xorshift32(&s);
        acc = ops[r & 7](acc, r >> 3);
        acc = ops[(r >> 8) & 7](acc, k);
    }
    return acc;
}

/* A tiny stack machine; the program computes a sum over a loop with a
 * few arithmetic steps per iteration. */
enum { B_PUSH, B_LOAD, B_STORE, B_ADD, B_SUB, B_MUL, B_XOR, B_SHR, B_DUP, B_JNZ, B_HALT };

static uint32_t vm_run(const uint8_t *code, uint32_t n)
{
    uint32_t stack[16], vars[4] = { n, 0, 7, 0 };
    int sp = 0, pc = 0;
    for (;;) {
        uint8_t op = code[pc++];
        switch (op) {
        case B_PUSH: stack[sp++] = code[pc++]; break;
        case B_LOAD: stack[sp++] = vars[code[pc++]]; break;
        case B_STORE: vars[code[pc++]] = stack[--sp]; break;
        case B_ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case B_SUB: sp--; stack[sp - 1] -= stack[sp]; break;
        case B_MUL: sp--; stack[sp - 1] *= stack[sp]; break;
        case B_XOR: sp--; stack[sp - 1] ^= stack[sp]; break;
        case B_SHR: sp--; stack[sp - 1] >>= stack[sp] & 31; break;
        case B_DUP: stack[sp] = stack[sp - 1]; sp++; break;
        case B_JNZ: {
            int8_t d = (int8_t)code[pc++];
            if (stack[--sp])
                pc += d;
            break;
        }
        default: return vars[1] ^ vars[2];
        }
    }
}

static const uint8_t bytecode[] = {
    /* loop: */
    B_LOAD, 1, B_LOAD, 0, B_ADD,                /* acc + i */
    B_LOAD, 2, B_MUL, B_PUSH, 5, B_SHR,         /* * v2 >> 5 */
    B_LOAD, 2, B_XOR, B_STORE, 1,               /* acc = that ^ v2 */
    B_LOAD, 2, B_PUSH, 3, B_ADD, B_STORE, 2,    /* v2 += 3 */
    B_LOAD, 0, B_PUSH, 1, B_SUB, B_DUP, B_STORE, 0, /* i-- */
    B_JNZ, (uint8_t)-33,
    B_HALT,
};

uint32_t phase_call(unsigned scale)
{
    uint32_t h = 0;
    for (unsigned k = 0; k < scale; k++)
        h = mix32(h, fib(20 + (k & 1)));
    for (unsigned k = 0; k < scale; k++)
        h = mix32(h, (uint32_t)tak(12 + (int)(k & 3), 8, 4));
    h = mix32(h, part_fnptr(scale * 96000));
    h = mix32(h, vm_run(bytecode, scale * 15000));
    return h;
}
