/* The WASI program of the benchmark (built against wasi-libc): with no
 * argument it prints a greeting (the cost of a whole run_wasi); `write N`
 * writes N bytes to stdout in 64 KiB writes (captured throughput); `spin N`
 * computes for N iterations (the ticker's lateness during a long run). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char chunk[65536];

int main(int argc, char **argv) {
    if (argc < 3) {
        puts("hello, world");
        return 0;
    }
    unsigned long long n = strtoull(argv[2], NULL, 10);
    if (!strcmp(argv[1], "write")) {
        memset(chunk, 'x', sizeof chunk);
        for (unsigned long long done = 0; done < n; done += sizeof chunk) {
            size_t size = n - done < sizeof chunk ? n - done : sizeof chunk;
            if (fwrite(chunk, 1, size, stdout) != size) return 1;
        }
        return 0;
    }
    if (!strcmp(argv[1], "spin")) {
        volatile unsigned long long acc = 0;
        for (unsigned long long i = 0; i < n; i++) acc = acc * 31 + i;
        printf("%llu\n", acc);
        return 0;
    }
    return 2;
}
