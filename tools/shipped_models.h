// Where the `attend` tool finds the models that ship with it, so that commands work without a
// --checkpoint: `attend g2p hello`, `attend viz --input hello`, `attend eval`.
#pragma once

#include <string>

namespace attend::tools {

// The shipped G2P Transformer (pretrained/g2p-transformer.safetensors), looked for in order:
//   1. $ATTEND_PRETRAINED_DIR/g2p-transformer.safetensors, when the variable is set (then only
//      there: a wrong setting fails with the path, it does not fall back);
//   2. <the attend binary's folder>/../share/attend/pretrained/, where `cmake --install` puts it;
//   3. the source tree's pretrained/ that this binary was built from.
// Returns the first path that exists; when none does, the one of the highest-ranked place (so
// that the "does not exist" error names where it was expected).
std::string shipped_g2p_checkpoint();

// "the shipped G2P Transformer (PATH)": how --help names the default.
std::string shipped_g2p_description();

}  // namespace attend::tools
