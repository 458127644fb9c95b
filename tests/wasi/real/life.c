/* life.c: a WASI test program: Conway's game of life on a torus, a per-cell state machine over
 * 2-D arrays, with generations printed as text and a population log. */
#include <stdio.h>
#include <string.h>

#define W 64
#define H 32

static unsigned char cur[H][W], nxt[H][W];

static void put(int y, int x, const char *rows[], int n)
{
    for (int r = 0; r < n; r++)
        for (int c = 0; rows[r][c]; c++)
            if (rows[r][c] == '#')
                cur[(y + r) % H][(x + c) % W] = 1;
}

static int step(void)
{
    int pop = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int n = 0;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++)
                    if (dy || dx)
                        n += cur[(y + dy + H) % H][(x + dx + W) % W];
            switch (cur[y][x] * 16 + n) {
            case 2: case 16 + 2: case 16 + 3: case 3:
                nxt[y][x] = (unsigned char)(n == 3 || cur[y][x]);
                break;
            default:
                nxt[y][x] = 0;
            }
            pop += nxt[y][x];
        }
    memcpy(cur, nxt, sizeof(cur));
    return pop;
}

static void show(int gen)
{
    printf("generation %d\n", gen);
    for (int y = 0; y < H; y++) {
        char line[W + 1];
        for (int x = 0; x < W; x++)
            line[x] = cur[y][x] ? '#' : '.';
        line[W] = '\0';
        puts(line);
    }
}

int main(void)
{
    static const char *glider[] = {".#.", "..#", "###"};
    static const char *rpent[] = {".##", "##.", ".#."};
    static const char *blinker[] = {"###"};
    static const char *lwss[] = {".#..#", "#....", "#...#", "####."};
    put(1, 1, glider, 3);
    put(14, 30, rpent, 3);
    put(5, 50, blinker, 1);
    put(24, 5, lwss, 4);
    show(0);
    for (int g = 1; g <= 60; g++) {
        int pop = step();
        if (g % 10 == 0)
            printf("gen %d population %d\n", g, pop);
    }
    show(60);
    return 0;
}
