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
