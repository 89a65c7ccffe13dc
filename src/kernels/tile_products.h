// The two matrix products of the fused attention forward, register-blocked (Highway, dispatched
// at run time), so that no operand is re-packed per tile: the keys of a head are packed once
// into panels, the queries and the probabilities are read in place (one element broadcast at a
// time), and the values are read in place (row-major rows are already what the kernel loads).
//
//   scores:  S (rows, cols) = Q (rows, d) K[j0 .. j0 + cols)^T      K from pack_key_panels
//   values:  O (rows, dv) += P (rows, keys) V (keys, dv)
//
// Each output element is one chain of fused multiply-adds in index order (e, then j): the same
// bits for any split of the work. Blocks of 6 rows by 2 vectors of columns (6 x 16 on AVX2) keep
// 12 accumulators in registers.
#pragma once

#include <cstdint>

namespace attend::kernels {

// Keys per packed panel: two vectors of the run-time target (16 on AVX2, 32 on AVX-512).
int64_t key_panel_width();

// Floats pack_key_panels writes for `keys` keys of dimension d.
int64_t packed_keys_size(int64_t keys, int64_t d);

// packed[(p d + e) W + w] = k[(p W + w) ldk + e] for each panel p, e < d, w < W (W =
// key_panel_width()); 0 for keys at or past `keys`.
void pack_key_panels(const float* k, int64_t ldk, int64_t keys, int64_t d, float* packed);

// s[r lds + c] = sum_{e < d} q[r ldq + e] * k[(j0 + c) ldk + e] for r < rows, c < cols, with k as
// packed by pack_key_panels; j0 must be a multiple of key_panel_width().
void scores_from_packed_keys(const float* q, int64_t ldq, int64_t rows, const float* packed, int64_t j0,
                             int64_t cols, int64_t d, float* s, int64_t lds);

// o[r ldo + c] += sum_{j < keys} p[r ldp + j] * v[j ldv + c] for r < rows, c < dv.
void accumulate_probabilities_times_values(const float* p, int64_t ldp, int64_t rows, int64_t keys, const float* v,
                                           int64_t ldv, int64_t dv, float* o, int64_t ldo);

}  // namespace attend::kernels
