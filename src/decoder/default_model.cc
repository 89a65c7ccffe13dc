#include "attend/decoder/llama_model.h"
#include "attend/io/data_locations.h"

namespace attend::decoder {

std::string default_model_path() { return io::locate(io::DataSet::kSmolLm2).path; }

}  // namespace attend::decoder
