"""attend: attention mechanisms, exact and differentiable, from Python.

NumPy arrays go in and come out (float32 or float64; the dtype picks the C++ instantiation).
C-contiguous arrays are read in place; results are NumPy arrays
that own attend's memory (no copy). Errors arrive as exceptions with the C++ message:
ValueError, attend.ShapeError and attend.FormatError (both ValueError subclasses), OSError for
files.
docs/python.md has examples.
"""
import numpy as _numpy

from ._attend import (  # noqa: F401
    BertTokenizer,
    Encoding,
    FormatError,
    KeyValueCache32,
    KeyValueCache64,
    MultiHeadAttention32,
    MultiHeadAttention64,
    SentenceEncoder,
    TextStream,
    _LanguageModel,
    default_language_model_path,
    ShapeError,
    additive_scores,
    alibi_slopes,
    blas_description,
    build_options,
    cosine_scores,
    default_model_directory,
    dot_scores,
    general_scores,
    load_safetensors,
    num_threads,
    quantize_bert,
    save_safetensors,
    scaled_dot_product_attention,
    scaled_dot_scores,
    set_num_threads,
    version,
)

__version__ = version()


def _is_float64(dtype):
    dtype = _numpy.dtype(dtype)
    if dtype not in (_numpy.float32, _numpy.float64):
        raise ValueError(f"dtype must be float32 or float64, not {dtype}")
    return dtype == _numpy.float64


def MultiHeadAttention(embed_dim, num_heads, *, dtype=_numpy.float32, **options):
    """Multi-head attention of `dtype` (float32 or float64); options as MultiHeadAttention32's."""
    cls = MultiHeadAttention64 if _is_float64(dtype) else MultiHeadAttention32
    return cls(embed_dim, num_heads, **options)


def KeyValueCache(dtype=_numpy.float32):
    """An empty key/value cache for a MultiHeadAttention of the same dtype."""
    return KeyValueCache64() if _is_float64(dtype) else KeyValueCache32()


class LanguageModel:
    """A decoder language model from a GGUF file (default: the shipped SmolLM2-135M-Instruct).

    tokenize(text) and detokenize(ids); logits(ids) of the last position, (V,), or of every
    position with all_positions=True, (n, V); generate(prompt, **sampling) returns the text, or
    with stream=True an iterator of its pieces (attend.TextStream, with .finish_reason and
    .tokens once done); chat(messages) answers a list of {"role", "content"} in the model's chat
    template. Sampling: max_tokens=256, temperature=0.8 (0: greedy), top_k=40, top_p=0.95,
    min_p=0.05, repeat_penalty=1, frequency_penalty=0, presence_penalty=0, seed=0, stop=[].
    The same seed gives the same text. weights="stored" multiplies the file's Q8_0/Q4_0/Q4_1
    blocks as they are (int8 kernels); weights="float32" widens every weight first.
    """

    def __init__(self, path=None, weights="stored"):
        self._model = _LanguageModel.load(path, weights)

    def tokenize(self, text):
        return self._model.tokenize(text)

    def detokenize(self, ids):
        return self._model.detokenize(list(ids))

    def logits(self, ids, all_positions=False):
        return self._model.logits(list(ids), all_positions)

    def generate(self, prompt, stream=False, **sampling):
        pieces = _LanguageModel._stream(self._model, prompt, **sampling)
        return pieces if stream else "".join(pieces)

    def chat(self, messages, stream=False, **sampling):
        return self.generate(self._model.chat_prompt(list(messages)), stream=stream, **sampling)

    @property
    def name(self):
        return self._model.name

    @property
    def context_length(self):
        return self._model.context_length

    @property
    def vocabulary_size(self):
        return self._model.vocabulary_size
