// The errors the server answers with, in OpenAI's shape:
//
//   HTTP status, body {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
//
// type is OpenAI's class of error (invalid_request_error, authentication_error, not_found_error,
// rate_limit_error, server_error, timeout_error); code a short machine-readable reason
// ("invalid_json", "context_length_exceeded", "model_not_found", ...); param the request field at
// fault, or null.
#pragma once

#include <string>

#include "attend/core/error.h"

namespace attend::serve {

class ApiError : public Error {
 public:
  ApiError(int status, std::string type, std::string code, std::string message, std::string param = "")
      : Error(message), status_(status), type_(std::move(type)), code_(std::move(code)), param_(std::move(param)) {}

  int status() const { return status_; }
  const std::string& type() const { return type_; }
  const std::string& code() const { return code_; }
  const std::string& param() const { return param_; }
  // {"error": {"message", "type", "param", "code"}} as text.
  std::string body() const;

 private:
  int status_;
  std::string type_, code_, param_;
};

// 400 invalid_request_error about `param`.
ApiError bad_request(const std::string& code, const std::string& message, const std::string& param = "");

// 404 model_not_found: `model` is not one the server serves.
ApiError model_not_found(const std::string& model);

// The error body of any status for a message (the HTTP layer's own refusals: 404 route, 413 size).
std::string error_body(int status, const std::string& message);

}  // namespace attend::serve
