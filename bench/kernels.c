/* Compute kernels written once and run three ways by the benchmark: as wasm
 * (bench/kernels.wasm), as native code in a NIF (bench_native.c) and, in
 * Erlang, as the equivalent functions of wasm_bench.erl. Each kernel makes
 * its own input so that only computation is measured. */
#include <stdint.h>

#ifdef __wasm__
#define KERNEL(name) __attribute__((export_name(#name)))
#else
#define KERNEL(name)
#endif

/* Iterative Fibonacci, n steps, wrapping. */
KERNEL(fib) int64_t fib(int32_t n) {
    int64_t a = 0, b = 1;
    for (int32_t i = 0; i < n; i++) {
        int64_t t = a + b;
        a = b;
        b = t;
    }
    return a;
}

static uint8_t buffer[65536];

/* CRC-32 (IEEE, bitwise) of a 64 KiB buffer filled with a fixed pattern. */
KERNEL(crc32_64k) uint32_t crc32_64k(uint32_t seed) {
    for (uint32_t i = 0; i < sizeof buffer; i++)
        buffer[i] = (uint8_t)(i * 31 + seed);
    uint32_t crc = 0xFFFFFFFFu;
    for (uint32_t i = 0; i < sizeof buffer; i++) {
        crc ^= buffer[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

/* Iterations spent on a size x size Mandelbrot grid, at most 100 each. */
KERNEL(mandelbrot) int32_t mandelbrot(int32_t size) {
    int32_t total = 0;
    for (int32_t y = 0; y < size; y++) {
        for (int32_t x = 0; x < size; x++) {
            double cr = 2.5 * x / size - 2.0, ci = 2.0 * y / size - 1.0;
            double zr = 0.0, zi = 0.0;
            int32_t n = 0;
            while (n < 100 && zr * zr + zi * zi <= 4.0) {
                double t = zr * zr - zi * zi + cr;
                zi = 2.0 * zr * zi + ci;
                zr = t;
                n++;
            }
            total += n;
        }
    }
    return total;
}
