// `attend generate [--model FILE.gguf] PROMPT [sampling options] [--chat [--system TEXT]]`:
// text from a decoder language model (decoder/generation.h), streamed to stdout token by token;
// timings, tokens per second and resident memory on stderr. With --json, one JSON object at the
// end: the text, the token ids, their log-probabilities with --logprobs, the finish reason and
// the token counts.
#pragma once

#include "commands.h"
