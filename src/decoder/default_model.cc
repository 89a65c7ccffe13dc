#include "attend/decoder/llama_model.h"

namespace attend::decoder {

std::string default_model_path() { return ATTEND_SMOLLM2_PATH; }

}  // namespace attend::decoder
