/* catfile.c: a WASI test program that prints the files named in its arguments from the
 * granted directory (or the error for each), tries to create a file, and lists the
 * directory, showing what a read-only grant allows. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *ename(int e)
{
    switch (e) {
    case ENOENT:
        return "ENOENT";
    case ENOTCAPABLE:
        return "ENOTCAPABLE";
    case EROFS:
        return "EROFS";
    case EACCES:
        return "EACCES";
    case ELOOP:
        return "ELOOP";
    case ENOTDIR:
        return "ENOTDIR";
    case EISDIR:
        return "EISDIR";
    }
    return "other";
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    char buf[256], *names[64];
    size_t n = 0;
    DIR *d;
    FILE *f;

    for (int i = 1; i < argc; i++) {
        size_t len;

        f = fopen(argv[i], "r");
        if (!f) {
            printf("%s: %s\n", argv[i], ename(errno));
            continue;
        }
        len = fread(buf, 1, sizeof(buf) - 1, f);
        buf[len] = '\0';
        if (ferror(f)) /* a directory opens, as on Linux, but does not read */
            printf("%s: read %s\n", argv[i], ename(errno));
        else
            printf("%s: %s", argv[i], buf);
        fclose(f);
    }
    f = fopen("new.txt", "w");
    printf("create: %s\n", f ? "ok" : ename(errno));
    d = opendir(".");
    if (!d) {
        printf("opendir: %s\n", ename(errno));
        return 1;
    }
    for (struct dirent *de; (de = readdir(d)) != NULL && n < 64;)
        if (de->d_name[0] != '.')
            names[n++] = strdup(de->d_name);
    closedir(d);
    qsort(names, n, sizeof(names[0]), cmp);
    printf("ls:");
    for (size_t i = 0; i < n; i++)
        printf(" %s", names[i]);
    printf("\n");
    return 0;
}
