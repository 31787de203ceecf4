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
#include <wasi/api.h>

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

/* Moves `size` bytes with one call to `move`, then with as many more as it
 * takes; returns how much the first call moved (-1: it failed). */
static ssize_t move_all(ssize_t (*move)(int, char *, size_t, off_t), int fd, char *buffer,
                        size_t size) {
    ssize_t first = move(fd, buffer, size, 0);
    size_t total = first > 0 ? (size_t)first : 0;
    while (first > 0 && total < size) {
        ssize_t n = move(fd, buffer + total, size - total, total);
        if (n <= 0) return -1;
        total += n;
    }
    return first;
}

static ssize_t do_write(int fd, char *b, size_t n, off_t at) { (void)at; return write(fd, b, n); }
static ssize_t do_read(int fd, char *b, size_t n, off_t at) { (void)at; return read(fd, b, n); }
static ssize_t do_pwrite(int fd, char *b, size_t n, off_t at) { return pwrite(fd, b, n, at); }
static ssize_t do_pread(int fd, char *b, size_t n, off_t at) { return pread(fd, b, n, at); }

/* Writes `mib` MiB to `path` and reads them back, asking for all of it in
 * each call, then the same at offsets; prints what the first call of each
 * moved, and whether the bytes came back intact. */
static int big_io(const char *path, long mib) {
    size_t size = (size_t)mib << 20;
    char *buffer = malloc(size);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (!buffer || fd < 0) {
        fprintf(stderr, "bigio %s: %s\n", path, strerror(errno));
        return 1;
    }
    for (size_t i = 0; i < size; i++) buffer[i] = (char)(i % 251);
    ssize_t wrote = move_all(do_write, fd, buffer, size);
    memset(buffer, 0, size);
    lseek(fd, 0, SEEK_SET);
    ssize_t read_ = move_all(do_read, fd, buffer, size);
    int intact = 1;
    for (size_t i = 0; i < size; i++) intact &= buffer[i] == (char)(i % 251);
    ssize_t pwrote = move_all(do_pwrite, fd, buffer, size);
    ssize_t pread_ = move_all(do_pread, fd, buffer, size);
    printf("write %zd read %zd pwrite %zd pread %zd intact %d\n", wrote, read_, pwrote, pread_,
           intact);
    return close(fd);
}

/* Writes `mib` MiB to stdout, asking for all of it in each call; tells on
 * stderr what the first call moved. */
static int big_out(long mib) {
    size_t size = (size_t)mib << 20;
    char *buffer = malloc(size);
    if (!buffer) return 1;
    memset(buffer, 'o', size);
    fprintf(stderr, "write %zd\n", move_all(do_write, 1, buffer, size));
    return 0;
}

/* Opens `path` `n` times, closing none; tells how many opened. */
static int open_many(const char *path, long n) {
    long opened = 0;
    while (opened < n && open(path, O_RDONLY) >= 0) opened++;
    printf("opened %ld\n", opened);
    return 0;
}

/* One poll_oneoff on `n` clock subscriptions that are all due at once. */
static int poll_clocks(unsigned n) {
    __wasi_subscription_t *in = calloc(n, sizeof *in);
    __wasi_event_t *out = calloc(n, sizeof *out);
    for (unsigned i = 0; i < n; i++) {
        in[i].userdata = i;
        in[i].u.tag = __WASI_EVENTTYPE_CLOCK;
        in[i].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    }
    __wasi_size_t ready = 0;
    __wasi_errno_t error = __wasi_poll_oneoff(in, out, n, &ready);
    printf("errno %u ready %u\n", (unsigned)error, (unsigned)ready);
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
    if (!strcmp(command, "bigio") && argc == 4) return big_io(argv[2], atol(argv[3]));
    if (!strcmp(command, "bigout") && argc == 3) return big_out(atol(argv[2]));
    if (!strcmp(command, "open") && argc == 4) return open_many(argv[2], atol(argv[3]));
    if (!strcmp(command, "poll") && argc == 3) return poll_clocks(strtoul(argv[2], NULL, 10));
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
