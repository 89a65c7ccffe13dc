// Which of BLIS's kernel sets ("sub-configurations") runs attend's sgemm and dgemm.
//
// BLIS picks its sub-configuration once, at its first call, from the CPU: on x86 it takes the
// AVX-512 kernels ("skx") only when it can tell the core has two 512-bit FMA units, and it tells
// that from a table of CPU models. BLIS 0.9 (Debian 12's) has no entry for Sapphire Rapids and
// later Xeons, so there it says "Number of FMA units unknown" and runs the AVX2 kernels
// ("haswell"): measured here (a Xeon of family 6, model 207), the MiniLM encoder spent 75% of
// its time in those, and embedded 85 tweets/s against 102 with the AVX-512 kernels.
//
// attend therefore asks BLIS for "skx" through its BLIS_ARCH_TYPE variable, set for the moment
// of BLIS's initialization (initialize_blas), when all of these hold:
//   - BLIS_ARCH_TYPE is not set (a user's choice always wins);
//   - the BLIS that attend was built against has the skx kernels (BLIS_CONFIG_SKX in blis.h);
//   - the CPU is Intel's and it and the OS support AVX-512 F, CD, DQ, BW and VL (what skx needs).
// On a CPU BLIS already recognises this changes nothing. The choice depends only on the machine,
// so results stay the same from run to run, thread count to thread count (ops/matmul.cc).
#pragma once

#include <string>

namespace attend::kernels {

// Makes the choice above and initializes BLIS with it, once per process (std::call_once; later
// calls return at once). BLIS_ARCH_TYPE is touched only when the user has not set it, and only
// around BLIS's initialization. Every BLAS user of the library calls it before its first BLAS
// call; attend::initialize_blas (ops/matmul.h) is the public, documented way to call it early.
void initialize_blas();

// Whether BLAS computes every element of a product (m, n >= 2) by the same operations whatever
// the call's m and n, so that cutting a product into calls cannot change a bit: true for BLIS's
// skx kernels (ops/matmul.cc has the measurements), false otherwise (its AVX2 kernels hand small
// products to other kernels). Initializes BLIS; the answer is fixed for the process.
bool blas_bits_independent_of_call_shape();

// "BLIS 0.9.0, kernels skx (chosen by attend: ...)" for `attend info` and benchmark reports.
// Initializes BLIS.
std::string blas_description();

}  // namespace attend::kernels
