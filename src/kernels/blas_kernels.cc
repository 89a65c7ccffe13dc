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

// Chooses, and initializes BLIS with the choice. BLIS 0.9 reads BLIS_ARCH_TYPE (the number of an
// arch_t) once, when it initializes, and has no other way to be told; the variable is therefore
// set only for that moment, and only when the user has not set it, and removed again at once,
// so that child processes and later readers see the user's environment as it was.
std::string make_choice() {
  if (std::getenv("BLIS_ARCH_TYPE") != nullptr) {
    bli_init();
    return "BLIS_ARCH_TYPE is set";
  }
#if defined(BLIS_CONFIG_SKX)
  if (!cpu_runs_skx_kernels()) {
    bli_init();
    return "BLIS's own choice (no AVX-512 F/CD/DQ/BW/VL on an Intel CPU)";
  }
  if (setenv("BLIS_ARCH_TYPE", fmt::format("{}", static_cast<int>(BLIS_ARCH_SKX)).c_str(), 0) != 0) {
    bli_init();
    return "BLIS's own choice (setting BLIS_ARCH_TYPE failed)";
  }
  bli_init();
  bli_arch_query_id();  // the choice is made and kept now
  unsetenv("BLIS_ARCH_TYPE");
  return "chosen by attend: an Intel CPU with AVX-512";
#else
  bli_init();
  return "BLIS's own choice (this BLIS has no skx kernels)";
#endif
}

}  // namespace

void initialize_blas() {
  static std::once_flag once;
  std::call_once(once, [] { choice_reason() = make_choice(); });
}

bool blas_bits_independent_of_call_shape() {
  static const bool independent = [] {
    initialize_blas();
    return bli_arch_query_id() == BLIS_ARCH_SKX;
  }();
  return independent;
}

std::string blas_description() {
  initialize_blas();
  const arch_t arch = bli_arch_query_id();
  return fmt::format("BLIS {}, kernels {} ({})", bli_info_get_version_str(), bli_arch_string(arch), choice_reason());
}

}  // namespace attend::kernels
