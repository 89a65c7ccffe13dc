#include "attend/nn/embedding.h"

#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/core/parallel.h"
#include "attend/ops/indexing.h"

namespace attend::nn {
namespace {

// padding_idx in [-V, V) mapped to [0, V); ValueError naming `op` otherwise.
std::optional<int64_t> normalized_padding_idx(std::optional<int64_t> padding_idx, int64_t vocab, const char* op) {
  if (!padding_idx) return std::nullopt;
  ATTEND_CHECK(*padding_idx >= -vocab && *padding_idx < vocab, ValueError,
               "{}: padding_idx {} is out of range [-{}, {}) for {} embeddings", op, *padding_idx, vocab, vocab, vocab);
  return *padding_idx < 0 ? *padding_idx + vocab : *padding_idx;
}

}  // namespace

template <typename T>
Tensor<T> embedding(const Tensor<T>& weight, const IndexTensor& indices, std::optional<int64_t> padding_idx) {
  if (!padding_idx) return attend::embedding(weight, indices);
  // attend::embedding validates the shapes and the indices; it runs outside the tape here
  // because this op has its own backward.
  Tensor<T> out;
  {
    NoGradGuard no_grad;
    out = attend::embedding(weight.detach(), indices);  // (*indices, D)
  }
  const int64_t vocab = weight.size(0), dim = weight.size(1);
  const int64_t skipped = *normalized_padding_idx(padding_idx, vocab, "embedding");
  return record_op<T>("embedding", out, {weight}, [ids = indices.to_vector(), vocab, dim, skipped](const Tensor<T>& g) {
    // forward: out[i, :] = weight[ids[i], :];  rows of repeated ids add up in index order, and
    // the padding row gets nothing
    const Tensor<T> dy = g.contiguous();  // (*indices, D)
    Tensor<T> dw = Tensor<T>::zeros({vocab, dim});
    parallel_for(dim, 16, [&](int64_t begin, int64_t end) {
      for (size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] == skipped) continue;
        for (int64_t c = begin; c < end; ++c) dw.data()[ids[i] * dim + c] += dy.data()[i * dim + c];
      }
    });
    return std::vector<Tensor<T>>{dw};
  });
}

template <typename T>
Embedding<T>::Embedding(int64_t num_embeddings, int64_t embedding_dim, Generator& generator,
                        std::optional<int64_t> padding_idx) {
  ATTEND_CHECK(num_embeddings > 0 && embedding_dim > 0, ValueError,
               "Embedding: num_embeddings ({}) and embedding_dim ({}) must be positive", num_embeddings, embedding_dim);
  padding_idx_ = normalized_padding_idx(padding_idx, num_embeddings, "Embedding");
  Tensor<T> table = SkipParameterInit::active() ? Tensor<T>::zeros({num_embeddings, embedding_dim})
                                                : Tensor<T>::randn({num_embeddings, embedding_dim}, generator);
  if (padding_idx_) table.slice(0, *padding_idx_, *padding_idx_ + 1).fill(T(0));
  weight_ = this->register_parameter("weight", table);
}

template <typename T>
Tensor<T> Embedding<T>::forward(const IndexTensor& indices) const {
  return embedding(weight_, indices, padding_idx_);
}

#define ATTEND_INSTANTIATE(T) \
  template Tensor<T> embedding(const Tensor<T>&, const IndexTensor&, std::optional<int64_t>);
ATTEND_INSTANTIATE(float)
ATTEND_INSTANTIATE(double)
#undef ATTEND_INSTANTIATE

template class Embedding<float>;
template class Embedding<double>;

}  // namespace attend::nn
