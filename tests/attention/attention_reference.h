// A plain loop implementation of scaled dot-product attention, written for the tests and kept
// independent of the library's path: instantiated in double it is the ground truth, in float it
// is the "naive float32" baseline whose error the library's float32 path must stay within.
#pragma once

#include <cmath>
#include <limits>
#include <vector>

#include "attend/attend.h"

namespace attend::testing {

struct ReferenceAttention {
  std::vector<double> output;       // (B, H, N, Dv)
  std::vector<double> weights;      // (B, H, N, M)
  std::vector<double> log_sum_exp;  // (B, H, N)
};

// Everything as flat row-major vectors; masks as functions of (b, h, i, j).
template <typename T, typename Allowed, typename Additive>
ReferenceAttention reference_attention(const std::vector<double>& q, const std::vector<double>& k,
                                       const std::vector<double>& v, int64_t B, int64_t H, int64_t Hkv, int64_t N,
                                       int64_t M, int64_t D, int64_t Dv, double scale, double softcap,
                                       const std::vector<double>& slopes, int64_t offset, Allowed allowed,
                                       Additive additive, const std::vector<uint8_t>& keep, double dropout_p) {
  ReferenceAttention r;
  r.output.assign(B * H * N * Dv, 0.0);
  r.weights.assign(B * H * N * M, 0.0);
  r.log_sum_exp.assign(B * H * N, -std::numeric_limits<double>::infinity());
  const int64_t group = H / Hkv;
  std::vector<T> s(M);
  std::vector<bool> ok(M);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      const int64_t kvh = h / group;
      for (int64_t i = 0; i < N; ++i) {
        T row_max = -std::numeric_limits<T>::infinity();
        bool any = false;
        for (int64_t j = 0; j < M; ++j) {
          ok[j] = allowed(b, h, i, j);
          if (!ok[j]) continue;
          T dot = 0;
          for (int64_t d = 0; d < D; ++d) {
            dot +=
                static_cast<T>(q[((b * H + h) * N + i) * D + d]) * static_cast<T>(k[((b * Hkv + kvh) * M + j) * D + d]);
          }
          T score = dot * static_cast<T>(scale);
          if (softcap > 0) score = static_cast<T>(softcap) * std::tanh(score / static_cast<T>(softcap));
          score += static_cast<T>(additive(b, h, i, j));
          if (!slopes.empty()) score -= static_cast<T>(slopes[h]) * static_cast<T>(std::abs(i + offset - j));
          s[j] = score;
          if (score == -std::numeric_limits<T>::infinity()) {
            ok[j] = false;
            continue;
          }
          any = true;
          row_max =
              std::isnan(score) || std::isnan(row_max) ? std::numeric_limits<T>::quiet_NaN() : std::max(row_max, score);
        }
        if (!any) continue;  // fully masked row: zeros, lse -inf
        T total = 0;
        for (int64_t j = 0; j < M; ++j) {
          if (ok[j]) total += std::exp(s[j] - row_max);
        }
        r.log_sum_exp[(b * H + h) * N + i] = static_cast<double>(row_max + std::log(total));
        for (int64_t j = 0; j < M; ++j) {
          if (!ok[j]) continue;
          const size_t w_index = ((b * H + h) * N + i) * M + j;
          T p = std::exp(s[j] - row_max) / total;
          if (dropout_p > 0) p = keep[w_index] ? p / static_cast<T>(1 - dropout_p) : T(0);
          r.weights[w_index] = static_cast<double>(p);
          for (int64_t e = 0; e < Dv; ++e) {
            r.output[((b * H + h) * N + i) * Dv + e] =
                static_cast<double>(static_cast<T>(r.output[((b * H + h) * N + i) * Dv + e]) +
                                    p * static_cast<T>(v[((b * Hkv + kvh) * M + j) * Dv + e]));
          }
        }
      }
    }
  }
  return r;
}

}  // namespace attend::testing
