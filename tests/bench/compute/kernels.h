/* kernels.h: the compute benchmark's kernels, built both natively and to wasm32 from kernels.c;
 * each does n units of work and returns a checksum so the work cannot be optimised away. */
#ifndef KERNELS_H
#define KERNELS_H

/* Recursive calls: the n-th Fibonacci number, computed naively. */
int kernel_fib(int n);

/* Integer loops over an array: n rounds of a sieve of Eratosthenes over 128 Ki numbers. */
int kernel_sieve(int n);

/* Bitwise CRC-32 over a 16 KiB pseudo-random buffer, n times (shifts, xors, branches). */
int kernel_crc32(int n);

/* Floating point: n products of 64x64 double matrices. */
double kernel_matmul(int n);

/* Floating point with sqrt: n steps of a five-body gravity simulation; returns the energy. */
double kernel_nbody(int n);

/* Memory and hashing: n rounds of inserting and looking up keys in an open-addressing table. */
long long kernel_hash(int n);

/* Branchy memory traffic: n rounds of sorting 16 Ki pseudo-random integers with quicksort. */
long long kernel_sort(int n);

#endif
