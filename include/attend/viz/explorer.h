// The attention explorer: one self-contained HTML page (no network, no CDN) that shows an
// attention document three ways, in the spirit of bertviz (Vig 2019, "A Multiscale
// Visualization of Attention in the Transformer Model"):
//
//   head view    queries on the left, keys on the right, a line per (query, key, head) whose
//                opacity is the weight; pick the kind of attention, the layer and the heads
//   matrix view  the weights of the selected heads as coloured cells, values on hover
//   model view   a thumbnail of every layer x head of every kind; a click selects it
//
// The page inlines the document's JSON and its script; the template is src/viz/explorer.html.
// After rendering it writes a line "status: rendered ... errors=N" into <pre id="status">,
// counting script errors, which the headless-browser test reads.
#pragma once

#include <string>

#include "attend/viz/attention_document.h"

namespace attend::viz {

std::string render_explorer(const AttentionDocument& document);
// Written atomically.
void write_explorer(const std::string& path, const AttentionDocument& document);

}  // namespace attend::viz
