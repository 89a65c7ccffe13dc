// The whole public API of attend, for programs that do not mind the include cost.
#pragma once

#include "attend/autograd/autograd.h"
#include "attend/core/error.h"
#include "attend/core/parallel.h"
#include "attend/core/random.h"
#include "attend/core/shape.h"
#include "attend/core/tensor.h"
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
