// The whole public API of attend, for programs that do not mind the include cost; by layer,
// lowest first.
#pragma once

#include "attend/core/error.h"
#include "attend/core/parallel.h"
#include "attend/core/random.h"
#include "attend/core/shape.h"
#include "attend/core/tensor.h"

#include "attend/autograd/autograd.h"

#include "attend/ops/convolution.h"
#include "attend/ops/dropout.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/indexing.h"
#include "attend/ops/loss.h"
#include "attend/ops/masking.h"
#include "attend/ops/matmul.h"
#include "attend/ops/normalization.h"
#include "attend/ops/reduction.h"
#include "attend/ops/shape_ops.h"
#include "attend/ops/softmax.h"

#include "attend/attention/attention_capture.h"
#include "attend/attention/attention_pooling.h"
#include "attend/attention/positional.h"
#include "attend/attention/scaled_dot_product.h"
#include "attend/attention/score_functions.h"
#include "attend/attention/scored_attention.h"

#include "attend/nn/activation.h"
#include "attend/nn/conv2d.h"
#include "attend/nn/dropout.h"
#include "attend/nn/embedding.h"
#include "attend/nn/layer_norm.h"
#include "attend/nn/linear.h"
#include "attend/nn/module.h"
#include "attend/nn/multi_head_attention.h"
#include "attend/nn/patch_embedding.h"
#include "attend/nn/pooling.h"
#include "attend/nn/positional_embedding.h"
#include "attend/nn/recurrent.h"
#include "attend/nn/transformer.h"
