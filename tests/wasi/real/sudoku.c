/* sudoku.c: a WASI test program: a backtracking sudoku solver (recursion with bit masks and
 * early returns) over a few puzzles, one of which has no solution (exit status 1). */
#include <stdint.h>
#include <stdio.h>

static int grid[81];
static uint16_t rows[9], cols[9], boxes[9];
static unsigned long tries;

static int box_of(int i) { return (i / 27) * 3 + (i % 9) / 3; }

static int place(int i, int d, int on)
{
    uint16_t bit = (uint16_t)(1u << d);
    if (on) {
        rows[i / 9] |= bit;
        cols[i % 9] |= bit;
        boxes[box_of(i)] |= bit;
        grid[i] = d;
    } else {
        rows[i / 9] &= (uint16_t)~bit;
        cols[i % 9] &= (uint16_t)~bit;
        boxes[box_of(i)] &= (uint16_t)~bit;
        grid[i] = 0;
    }
    return 0;
}

static int solve(void)
{
    int best = -1, best_count = 10;
    uint16_t best_free = 0;
    for (int i = 0; i < 81; i++) {
        if (grid[i])
            continue;
        uint16_t used = rows[i / 9] | cols[i % 9] | boxes[box_of(i)];
        uint16_t free_ = (uint16_t)(~used & 0x3fe);
        int count = __builtin_popcount(free_);
        if (count < best_count) {
            best = i;
            best_count = count;
            best_free = free_;
            if (count == 0)
                return 0;
        }
    }
    if (best < 0)
        return 1;
    for (int d = 1; d <= 9; d++) {
        if (!(best_free & (1u << d)))
            continue;
        tries++;
        place(best, d, 1);
        if (solve())
            return 1;
        place(best, d, 0);
    }
    return 0;
}

static int load(const char *s)
{
    for (int i = 0; i < 9; i++)
        rows[i] = cols[i] = boxes[i] = 0;
    for (int i = 0; i < 81; i++) {
        grid[i] = 0;
        if (s[i] >= '1' && s[i] <= '9') {
            int d = s[i] - '0';
            uint16_t bit = (uint16_t)(1u << d);
            if ((rows[i / 9] | cols[i % 9] | boxes[box_of(i)]) & bit)
                return -1;
            place(i, d, 1);
        }
    }
    return 0;
}

int main(void)
{
    static const char *const puzzles[] = {
        "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79",
        "8..........36......7..9.2...5...7.......457.....1...3...1....68..85...1..9....4..",
        "11...............................................................................",
        "..9.7...5..21..9..1...28....7...5..1..851.....5....3.......3..68........21.....87",
    };
    int status = 0;
    for (size_t p = 0; p < sizeof(puzzles) / sizeof(puzzles[0]); p++) {
        tries = 0;
        if (load(puzzles[p]) != 0) {
            fprintf(stderr, "puzzle %zu: contradictory clues\n", p);
            status = 1;
            continue;
        }
        if (!solve()) {
            fprintf(stderr, "puzzle %zu: no solution after %lu tries\n", p, tries);
            status = 1;
            continue;
        }
        printf("puzzle %zu solved in %lu tries: ", p, tries);
        for (int i = 0; i < 81; i++)
            putchar('0' + grid[i]);
        putchar('\n');
    }
    return status;
}
