#include "attend/serve/api_error.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace attend::serve {
namespace {

const char* type_of_status(int status) {
  switch (status) {
    case 401:
      return "authentication_error";
    case 404:
      return "not_found_error";
    case 408:
      return "timeout_error";
    case 429:
      return "rate_limit_error";
    default:
      return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

}  // namespace

std::string ApiError::body() const {
  nlohmann::json error{{"message", what()},
                       {"type", type_},
                       {"param", param_.empty() ? nlohmann::json(nullptr) : nlohmann::json(param_)},
                       {"code", code_.empty() ? nlohmann::json(nullptr) : nlohmann::json(code_)}};
  return nlohmann::json{{"error", error}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ApiError bad_request(const std::string& code, const std::string& message, const std::string& param) {
  return ApiError(400, "invalid_request_error", code, message, param);
}

ApiError model_not_found(const std::string& model) {
  return ApiError(404, "not_found_error", "model_not_found",
                  fmt::format("The model '{}' does not exist or is not served here (GET /v1/models lists them)", model),
                  "model");
}

std::string error_body(int status, const std::string& message) {
  return ApiError(status, type_of_status(status), "", message).body();
}

}  // namespace attend::serve
