/* A WASI command built against wasi-libc: argv[1] names what it does, so
 * that one program covers every case of the WASI suite. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int usage(void) {
    fprintf(stderr, "usage: wasi_tool COMMAND [ARG...]\n");
    return 2;
}

/* Copies a file (or stdin, for "-") to stdout. */
static int cat(const char *path) {
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!in) {
        fprintf(stderr, "open %s: %s\n", path, strerror(errno));
        return 1;
    }
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, in)) > 0) {
        fwrite(buffer, 1, n, stdout);
    }
    return 0;
}

static int write_file(const char *path, const char *text) {
    FILE *out = fopen(path, "wb");
    if (!out) {
        fprintf(stderr, "open %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (fputs(text, out) < 0 || fclose(out) != 0) {
        fprintf(stderr, "write %s: %s\n", path, strerror(errno));
        return 1;
    }
    printf("wrote %s\n", path);
    return 0;
}

static int list(const char *path) {
    DIR *dir = opendir(path);
    if (!dir) {
        fprintf(stderr, "opendir %s: %s\n", path, strerror(errno));
        return 1;
    }
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        if (strcmp(entry->d_name, ".") && strcmp(entry->d_name, "..")) {
            printf("%s\n", entry->d_name);
        }
    }
    closedir(dir);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage();
    const char *command = argv[1];
    if (!strcmp(command, "args")) {
        for (int i = 0; i < argc; i++) printf("%s\n", argv[i]);
        return 0;
    }
    if (!strcmp(command, "env")) {
        for (char **e = environ; *e; e++) printf("%s\n", *e);
        return 0;
    }
    if (!strcmp(command, "exit") && argc == 3) {
        printf("exiting with %s\n", argv[2]);
        fflush(stdout);
        exit(atoi(argv[2]));
    }
    if (!strcmp(command, "stderr") && argc == 3) {
        fprintf(stderr, "%s", argv[2]);
        return 0;
    }
    if (!strcmp(command, "cat") && argc == 3) return cat(argv[2]);
    if (!strcmp(command, "write") && argc == 4) return write_file(argv[2], argv[3]);
    if (!strcmp(command, "ls") && argc == 3) return list(argv[2]);
    if (!strcmp(command, "trap")) {
        printf("before the trap\n");
        fflush(stdout);
        __builtin_trap();
    }
    if (!strcmp(command, "spin")) {
        printf("spinning\n");
        fflush(stdout);
        for (volatile unsigned long i = 0;; i++) {
        }
    }
    if (!strcmp(command, "flood")) {
        /* Writes until a write fails: the output ceiling, a timeout or a kill. */
        static char line[4096];
        memset(line, 'x', sizeof line - 1);
        line[sizeof line - 1] = '\n';
        unsigned long long written = 0;
        while (fwrite(line, 1, sizeof line, stdout) == sizeof line) written += sizeof line;
        fprintf(stderr, "stdout failed after %llu bytes\n", written);
        return 3;
    }
    if (!strcmp(command, "sleep") && argc == 3) {
        long ms = atol(argv[2]);
        struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&t, NULL);
        printf("slept %ld ms\n", ms);
        return 0;
    }
    if (!strcmp(command, "clock")) {
        struct timespec real, mono;
        clock_gettime(CLOCK_REALTIME, &real);
        clock_gettime(CLOCK_MONOTONIC, &mono);
        printf("%lld %lld\n", (long long)real.tv_sec, (long long)mono.tv_sec);
        return 0;
    }
    if (!strcmp(command, "random")) {
        unsigned char bytes[16];
        if (getentropy(bytes, sizeof bytes) != 0) return 1;
        for (size_t i = 0; i < sizeof bytes; i++) printf("%02x", bytes[i]);
        printf("\n");
        return 0;
    }
    if (!strcmp(command, "sum") && argc == 3) {
        /* A compute kernel: the same loop as the plain module's. */
        unsigned long long n = strtoull(argv[2], NULL, 10), acc = 0;
        for (unsigned long long i = 0; i < n; i++) acc = acc * 31 + i;
        printf("%llu\n", acc);
        return 0;
    }
    return usage();
}
