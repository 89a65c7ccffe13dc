// Fuzz target: the request bodies of `attend serve` (serve/openai_requests.h) from arbitrary
// bytes; the first byte picks the endpoint (embeddings, chat, completions). Invariants of a body
// that parses: its options are ones generation accepts (validate() passes), inputs and stops are
// not empty, token ids fit int32, and only ApiError (an attend::Error) ever escapes: a raw
// nlohmann exception would be a 500 instead of the client's 400.
#include <cstdint>
#include <limits>
#include <string>

#include "attend/serve/api_error.h"
#include "serve/openai_requests.h"
#include "fuzz/fuzz_input.h"

namespace {

void check_generation(const attend::serve::CompletionRequest& r) {
  r.options.sampling.validate();  // throws ValueError: then the fuzzer sees a finding below
  ATTEND_FUZZ_REQUIRE(r.options.top_logprobs >= 0 && r.options.top_logprobs <= 20);
  ATTEND_FUZZ_REQUIRE(!r.max_tokens_given || r.options.max_tokens >= 1);
  for (const std::string& stop : r.options.stops) ATTEND_FUZZ_REQUIRE(!stop.empty());
  ATTEND_FUZZ_REQUIRE(r.chat ? !r.messages.empty() : (r.prompt_is_tokens ? !r.prompt_tokens.empty() : true));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace attend;
  if (size == 0) return 0;
  const int endpoint = data[0] % 3;
  const std::string body = fuzz::bytes_of(data + 1, size - 1);
  try {
    const serve::Json json = serve::parse_json_body(body);
    if (endpoint == 0) {
      const serve::EmbeddingRequest r = serve::parse_embedding_request(json);
      ATTEND_FUZZ_REQUIRE(!r.inputs.empty());
      for (const serve::EmbeddingInput& input : r.inputs) {
        ATTEND_FUZZ_REQUIRE(!input.is_tokens || !input.tokens.empty());
        for (const int64_t id : input.tokens) ATTEND_FUZZ_REQUIRE(id <= std::numeric_limits<int32_t>::max());
      }
    } else {
      const serve::CompletionRequest r =
          endpoint == 1 ? serve::parse_chat_request(json) : serve::parse_completion_request(json);
      try {
        check_generation(r);
      } catch (const ValueError&) {
        ATTEND_FUZZ_REQUIRE(!"a parsed request's sampling options are refused by validate()");
      }
    }
  } catch (const serve::ApiError& error) {
    ATTEND_FUZZ_REQUIRE(error.what()[0] != '\0');
    ATTEND_FUZZ_REQUIRE(error.status() >= 400 && error.status() < 500);
  }
  return 0;
}
