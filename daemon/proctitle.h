/* proctitle.h: process titles, so `ps` tells the master from the workers of each generation. */
#ifndef PROCTITLE_H
#define PROCTITLE_H

/* Take over the memory of argv and the environment strings that follow it (the environment is
 * copied to the heap first, so getenv keeps working). Call once, after the last use of argv's
 * strings. */
void proctitle_init(int argc, char **argv);

/* Set the title `ps` shows (truncated to the room argv had); before proctitle_init, or when
 * there is no room, nothing happens. */
void proctitle_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
