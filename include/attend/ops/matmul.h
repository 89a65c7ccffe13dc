// Matrix products through BLAS (sgemm/dgemm of single-threaded BLIS, on attend's threads).
#pragma once

#include <string>
#include <vector>

#include "attend/core/tensor.h"

namespace attend {

// a (..., M, K) @ b (..., K, N) -> (..., M, N). Both operands have rank >= 2; the leading
// (batch) axes broadcast as in NumPy. Transposed views are passed to BLAS without a copy.
template <typename T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b);

// The affine map of a fully connected layer, one op:
//   x (..., in), weight (out, in), bias (out) or undefined  ->  x @ weight^T + bias  (..., out)
// The bias is written into each output tile before BLAS accumulates the product onto it, so
// the output is passed over once; the backward gives dx = dy @ weight, dweight = dy^T x (rows
// flattened) and dbias = dy summed over the rows.
template <typename T>
Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias = Tensor<T>());

// linear with weights stacked by rows, without copying them into one matrix:
//   y = x [W_0; W_1; ...]^T + [b_0; b_1; ...]   x (..., in), W_i (out_i, in), b_i (out_i)
//   -> (..., out_0 + out_1 + ...), block i of the columns from W_i and b_i
// e.g. a fused q, k, v projection from three weights. Biases: one per weight, or none.
template <typename T>
Tensor<T> linear_stacked(const Tensor<T>& x, const std::vector<Tensor<T>>& weights,
                         const std::vector<Tensor<T>>& biases = {});

// Initializes the BLAS behind matmul and linear, choosing its kernels (src/kernels/blas_kernels.h),
// once per process. BLIS reads its configuration from the environment only: where attend asks
// it for its AVX-512 kernels, it sets BLIS_ARCH_TYPE for the moment of BLIS's initialization and
// removes it again (only when you have not set it yourself; yours always wins). setenv is not
// safe against getenv in other threads, so a program that starts threads of its own calls this
// first; the attend tool and the Python module (at import) do. Otherwise the first product does.
void initialize_blas();

// The BLAS behind matmul and linear and the kernels it runs, e.g. "BLIS 0.9.0, kernels skx
// (chosen by attend: an Intel CPU with AVX-512)" (why attend chooses: src/kernels/blas_kernels.h).
std::string blas_description();

// The arithmetic roofs beside `attend bench`'s ratios: register-only loops at the SIMD peak on
// every thread (src/kernels/peak_loops.h), multiply-adds per second: float32 FMAs, and int8
// products (AVX-512 VNNI, or AVX2's pair; 0 without one).
double float_peak_macs_per_second(int64_t iterations);
double int8_peak_macs_per_second(int64_t iterations);

}  // namespace attend
