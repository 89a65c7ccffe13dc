// The choice of BLIS's kernels (the reasons are in blas_kernels.h).
#include "kernels/blas_kernels.h"

#include <blis.h>

#include <cstdlib>
#include <mutex>

#include <fmt/format.h>

namespace attend::kernels {
namespace {

bool cpu_runs_skx_kernels() {
  __builtin_cpu_init();
  // libgcc's feature bits for AVX-512 also require the OS to save the zmm and mask registers.
  return __builtin_cpu_is("intel") && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
}

// Why BLIS runs the kernels it runs, for blas_description().
std::string& choice_reason() {
  static std::string reason = "not chosen yet";
  return reason;
}

std::string make_choice() {
  if (std::getenv("BLIS_ARCH_TYPE") != nullptr) return "BLIS_ARCH_TYPE is set";
#if defined(BLIS_CONFIG_SKX)
  if (!cpu_runs_skx_kernels()) return "BLIS's own choice (no AVX-512 F/CD/DQ/BW/VL on an Intel CPU)";
  // BLIS 0.9 reads BLIS_ARCH_TYPE as the number of an arch_t, once, at its first call.
  if (setenv("BLIS_ARCH_TYPE", fmt::format("{}", static_cast<int>(BLIS_ARCH_SKX)).c_str(), 0) != 0) {
    return "BLIS's own choice (setting BLIS_ARCH_TYPE failed)";
  }
  return "chosen by attend: an Intel CPU with AVX-512";
#else
  return "BLIS's own choice (this BLIS has no skx kernels)";
#endif
}

}  // namespace

bool choose_blas_kernels() {
  static std::once_flag once;
  std::call_once(once, [] { choice_reason() = make_choice(); });
  return true;
}

bool blas_bits_independent_of_call_shape() {
  static const bool independent = [] {
    choose_blas_kernels();
    bli_init();
    return bli_arch_query_id() == BLIS_ARCH_SKX;
  }();
  return independent;
}

std::string blas_description() {
  choose_blas_kernels();
  bli_init();  // before the query: BLIS checks a requested sub-configuration against its registry
  const arch_t arch = bli_arch_query_id();
  return fmt::format("BLIS {}, kernels {} ({})", bli_info_get_version_str(), bli_arch_string(arch), choice_reason());
}

}  // namespace attend::kernels
