/* bytecode.c: a WASI test program: a switch-dispatched stack machine (the shape of every
 * bytecode interpreter) running a few small programs and printing what they compute. */
#include <stdint.h>
#include <stdio.h>

enum op {
    OP_PUSH, OP_POP, OP_DUP, OP_SWAP, OP_OVER, OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD,
    OP_NEG, OP_EQ, OP_LT, OP_GT, OP_NOT, OP_AND, OP_OR, OP_XOR, OP_SHL, OP_SHR,
    OP_JMP, OP_JZ, OP_JNZ, OP_LOAD, OP_STORE, OP_PRINT, OP_CALL, OP_RET, OP_HALT,
};

struct vm {
    int64_t stack[256];
    int sp;
    int64_t vars[16];
    int rstack[64];
    int rsp;
    unsigned long steps;
};

/* Runs code until OP_HALT; returns 0, or a negative code for a machine error. */
static int run(struct vm *vm, const int64_t *code, int len)
{
    int pc = 0;

    vm->sp = vm->rsp = 0;
    while (pc >= 0 && pc < len) {
        int64_t a, b;
        vm->steps++;
        switch ((enum op)code[pc++]) {
        case OP_PUSH: vm->stack[vm->sp++] = code[pc++]; break;
        case OP_POP: vm->sp--; break;
        case OP_DUP: vm->stack[vm->sp] = vm->stack[vm->sp - 1]; vm->sp++; break;
        case OP_SWAP:
            a = vm->stack[vm->sp - 1];
            vm->stack[vm->sp - 1] = vm->stack[vm->sp - 2];
            vm->stack[vm->sp - 2] = a;
            break;
        case OP_OVER: vm->stack[vm->sp] = vm->stack[vm->sp - 2]; vm->sp++; break;
        case OP_ADD: b = vm->stack[--vm->sp]; vm->stack[vm->sp - 1] += b; break;
        case OP_SUB: b = vm->stack[--vm->sp]; vm->stack[vm->sp - 1] -= b; break;
        case OP_MUL: b = vm->stack[--vm->sp]; vm->stack[vm->sp - 1] *= b; break;
        case OP_DIV:
            b = vm->stack[--vm->sp];
            if (b == 0)
                return -1;
            vm->stack[vm->sp - 1] /= b;
            break;
        case OP_MOD:
            b = vm->stack[--vm->sp];
            if (b == 0)
                return -1;
            vm->stack[vm->sp - 1] %= b;
            break;
        case OP_NEG: vm->stack[vm->sp - 1] = -vm->stack[vm->sp - 1]; break;
        case OP_EQ: b = vm->stack[--vm->sp]; vm->stack[vm->sp - 1] = vm->stack[vm->sp - 1] == b; break;
        case OP_LT: b = vm->stack[--vm->sp]; vm->stack[vm->sp - 1] = vm->stack[vm->sp - 1] < b; break;
        case OP_GT: b = vm->stack[--vm->sp]; vm->stack[vm->sp - 1] = vm->stack[vm->sp - 1] > b; break;
        case OP_NOT: vm->stack[vm->sp - 1] = !vm->stack[vm->sp - 1]; break;
        case OP_AND: b = vm->stack[--vm->sp]; vm->stack[vm->sp - 1] &= b; break;
        case OP_OR: b = vm->stack[--vm->sp]; vm->stack[vm->sp - 1] |= b; break;
        case OP_XOR: b = vm->stack[--vm->sp]; vm->stack[vm->sp - 1] ^= b; break;
        case OP_SHL: b = vm->stack[--vm->sp]; vm->stack[vm->sp - 1] <<= (b & 63); break;
        case OP_SHR:
            b = vm->stack[--vm->sp];
            vm->stack[vm->sp - 1] = (int64_t)((uint64_t)vm->stack[vm->sp - 1] >> (b & 63));
            break;
        case OP_JMP: pc = (int)code[pc]; break;
        case OP_JZ: pc = vm->stack[--vm->sp] == 0 ? (int)code[pc] : pc + 1; break;
        case OP_JNZ: pc = vm->stack[--vm->sp] != 0 ? (int)code[pc] : pc + 1; break;
        case OP_LOAD: vm->stack[vm->sp++] = vm->vars[code[pc++]]; break;
        case OP_STORE: vm->vars[code[pc++]] = vm->stack[--vm->sp]; break;
        case OP_PRINT: printf("%lld\n", (long long)vm->stack[--vm->sp]); break;
        case OP_CALL: vm->rstack[vm->rsp++] = pc + 1; pc = (int)code[pc]; break;
        case OP_RET: pc = vm->rstack[--vm->rsp]; break;
        case OP_HALT: return 0;
        default: return -2;
        }
    }
    return -3;
}

/* Sum of 1..n into var 1, with n in var 0. */
static const int64_t prog_sum[] = {
    OP_PUSH, 0, OP_STORE, 1,                        /* 0: acc = 0 */
    OP_LOAD, 0, OP_JZ, 24,                          /* 4: while n */
    OP_LOAD, 1, OP_LOAD, 0, OP_ADD, OP_STORE, 1,    /* 8: acc += n */
    OP_LOAD, 0, OP_PUSH, 1,                         /* 15 */
    OP_SUB, OP_STORE, 0, OP_JMP, 4,                 /* 19: n -= 1 */
    OP_LOAD, 1, OP_PRINT, OP_HALT,                  /* 24 */
};

/* Iterative Fibonacci numbers 0..n-1 printed, n in var 0 (a loop with three variables). */
static const int64_t prog_fib[] = {
    OP_PUSH, 0, OP_STORE, 1, OP_PUSH, 1, OP_STORE, 2, /* 0: a = 0, b = 1 */
    OP_LOAD, 0, OP_JZ, 35,                            /* 8: while n */
    OP_LOAD, 1, OP_PRINT,                             /* 12: print a */
    OP_LOAD, 1, OP_LOAD, 2, OP_ADD,                   /* 15: a + b */
    OP_LOAD, 2, OP_STORE, 1, OP_STORE, 2,             /* 20: a = b, b = a + b */
    OP_LOAD, 0, OP_PUSH, 1, OP_SUB, OP_STORE, 0,      /* 26: n -= 1 */
    OP_JMP, 8,                                        /* 33 */
    OP_HALT,                                          /* 35 */
};

/* Collatz steps of var 0 with a subroutine for one step (OP_CALL / OP_RET). */
static const int64_t prog_collatz[] = {
    OP_PUSH, 0, OP_STORE, 1,                 /* 0: steps = 0 */
    OP_LOAD, 0, OP_PUSH, 1, OP_EQ, OP_JNZ, 22,   /* 4: while n != 1 */
    OP_CALL, 26,                                 /* 11 */
    OP_LOAD, 1, OP_PUSH, 1, OP_ADD, OP_STORE, 1, /* 13: steps++ */
    OP_JMP, 4,                                   /* 20 */
    OP_LOAD, 1, OP_PRINT, OP_HALT,               /* 22 */
    /* 26: one step: n = n odd ? 3n + 1 : n / 2 */
    OP_LOAD, 0, OP_PUSH, 1, OP_AND, OP_JZ, 44,
    OP_LOAD, 0, OP_PUSH, 3, OP_MUL, OP_PUSH, 1, OP_ADD, OP_STORE, 0, OP_RET,
    OP_LOAD, 0, OP_PUSH, 1, OP_SHR, OP_STORE, 0, OP_RET, /* 44 */
};

static const int64_t prog_divzero[] = {OP_PUSH, 7, OP_PUSH, 0, OP_DIV, OP_PRINT, OP_HALT};

int main(void)
{
    struct vm vm = {0};
    int rc;

    vm.vars[0] = 20000;
    rc = run(&vm, prog_sum, (int)(sizeof(prog_sum) / sizeof(prog_sum[0])));
    printf("sum rc=%d\n", rc);
    vm.vars[0] = 60;
    rc = run(&vm, prog_fib, (int)(sizeof(prog_fib) / sizeof(prog_fib[0])));
    printf("fib rc=%d\n", rc);
    for (int64_t n = 1; n <= 30; n++) {
        vm.vars[0] = n * 97 + 27;
        rc = run(&vm, prog_collatz, (int)(sizeof(prog_collatz) / sizeof(prog_collatz[0])));
        if (rc != 0)
            printf("collatz rc=%d\n", rc);
    }
    rc = run(&vm, prog_divzero, (int)(sizeof(prog_divzero) / sizeof(prog_divzero[0])));
    printf("divzero rc=%d\n", rc);
    printf("steps=%lu\n", vm.steps);
    return 0;
}
