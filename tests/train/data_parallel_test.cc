// Gradient shards in the Trainer (train/trainer.h, src/train/data_parallel.h): the step's
// gradient is the mean of the shards' gradients, checked against the closed-form gradient of a
// linear least-squares model in float64; shards that cannot be dealt out are refused. The
// same bits for 1, 2 and 4 MPI ranks are checked by tests/tools/distributed_test.py.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "attend/core/random.h"
#include "attend/distributed/communicator.h"
#include "attend/nn/linear.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/reduction.h"
#include "attend/train/optimizer.h"
#include "attend/train/trainer.h"
#include "harness/expect_error.h"
#include "train/data_parallel.h"

namespace attend {
namespace {

using train::BatchLoss;
using train::Shard;

class LinearModel : public nn::Module<float> {
 public:
  LinearModel() : generator_(3) {
    linear_ = register_module("linear", std::make_shared<nn::Linear<float>>(3, 1, true, generator_));
  }
  Tensor<float> forward(const Tensor<float>& x) { return linear_->forward(x); }  // (B, 3) -> (B, 1)
  const nn::Linear<float>& linear() const { return *linear_; }

 private:
  Generator generator_;
  std::shared_ptr<nn::Linear<float>> linear_;
};

// A group that claims `size` ranks (this process is rank 0); only its size is ever asked for
// before the Trainer refuses.
class ClaimedGroup final : public distributed::Communicator {
 public:
  explicit ClaimedGroup(int size) : size_(size) {}
  int rank() const override { return 0; }
  int size() const override { return size_; }
  void all_gather_bytes(const void*, size_t, void*) override { FAIL() << "no collective expected"; }
  void broadcast_bytes(void*, size_t, int) override { FAIL() << "no collective expected"; }
  void all_to_all_bytes(const void*, const std::vector<size_t>&, void*, const std::vector<size_t>&) override {
    FAIL() << "no collective expected";
  }
  void barrier() override {}
  [[noreturn]] void abort(int code) override { std::exit(code); }
  std::string description() const override { return "claimed"; }

 private:
  int size_;
};

TEST(DataParallel, TheStepsGradientIsTheMeanOfTheShardsGradients) {
  // Rows x (B, 3) and targets y (B); shard s of 2 takes rows [2 s, 2 s + 2).
  const std::vector<double> x = {1, 2, 0, -1, 0.5, 3, 2, 2, -2, 0, 1, 1};
  const std::vector<double> y = {1, -2, 0.5, 3};
  const int64_t rows = 4, shards = 2;
  LinearModel model;
  const std::vector<float> w0 = model.linear().weight().to_vector(), b0 = model.linear().bias().to_vector();
  train::SgdOptions sgd;
  sgd.learning_rate = 1.0;
  train::Sgd<float> optimizer(model.named_parameters(), sgd);
  train::TrainerOptions options;
  options.steps = 1;
  options.shards = shards;
  options.quiet = true;
  train::Trainer trainer(model, optimizer, options);
  std::vector<int64_t> shards_seen;
  trainer.run(
      [&](int64_t, const Shard& shard) {
        shards_seen.push_back(shard.index);
        const auto [begin, end] = shard.rows(rows);
        std::vector<float> xs, ys;
        for (int64_t r = begin; r < end; ++r) {
          for (int c = 0; c < 3; ++c) xs.push_back(static_cast<float>(x[r * 3 + c]));
          ys.push_back(static_cast<float>(y[r]));
        }
        const auto prediction = model.forward(Tensor<float>::from_vector({end - begin, 3}, xs));  // (n, 1)
        const auto error = sub(prediction, Tensor<float>::from_vector({end - begin, 1}, ys));
        return BatchLoss{mean(mul(error, error)), end - begin};
      },
      [] { return train::Metrics{}; });
  EXPECT_EQ(shards_seen, (std::vector<int64_t>{0, 1}));

  // Closed form in float64: for shard s, dL/dw = 2/n sum_r e_r x_r, dL/db = 2/n sum_r e_r with
  // e_r = w.x_r + b - y_r; the step uses their mean over the shards, and SGD (lr 1) subtracts it.
  std::vector<double> dw(3, 0.0);
  double db = 0;
  for (int64_t s = 0; s < shards; ++s) {
    const int64_t begin = s * rows / shards, end = (s + 1) * rows / shards, n = end - begin;
    for (int64_t r = begin; r < end; ++r) {
      double e = b0[0] - y[r];
      for (int c = 0; c < 3; ++c) e += w0[c] * x[r * 3 + c];
      for (int c = 0; c < 3; ++c) dw[c] += 2.0 / n * e * x[r * 3 + c] / shards;
      db += 2.0 / n * e / shards;
    }
  }
  const std::vector<float> w1 = model.linear().weight().to_vector(), b1 = model.linear().bias().to_vector();
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(w1[c], w0[c] - dw[c], 1e-5) << c;
  EXPECT_NEAR(b1[0], b0[0] - db, 1e-5);
}

TEST(DataParallel, RefusesShardsThatDoNotDealOut) {
  LinearModel model;
  train::Sgd<float> optimizer(model.named_parameters());
  ClaimedGroup three(3);
  train::TrainerOptions options;
  options.shards = 4;
  options.communicator = &three;
  expect_error<ValueError>([&] { train::Trainer(model, optimizer, options); },
                           {"the 4 gradient shards of a step do not divide among 3 ranks"});
  options.shards = 0;
  expect_error<ValueError>([&] { train::Trainer(model, optimizer, options); }, {"shards must be >= 1, got 0"});
  // A task that builds whole batches only cannot be sharded.
  options.shards = 2;
  options.communicator = nullptr;
  train::Trainer whole(model, optimizer, options);
  expect_error<ValueError>([&] { whole.run([](int64_t) { return BatchLoss{}; }, [] { return train::Metrics{}; }); },
                           {"this task builds whole batches only"});
  io::Metadata metadata;
  expect_error<ValueError>([&] { train::check_batch_shards(10, 4, "train g2p", metadata); },
                           {"train g2p: --shards 4 must be >= 1 and divide the batch size 10"});
  train::check_batch_shards(12, 4, "train g2p", metadata);
  EXPECT_EQ(metadata.at("train.shards"), "4");
}

// Parameters of 10, 1, 1, 30, 5 and 5 elements (52): each goes to the rank whose share holds its
// middle element (elements 5, 10, 11, 27, 44, 49).
TEST(DataParallel, PartitionGivesEachParameterToTheRankHoldingItsMiddle) {
  train::NamedTensors<float> parameters;
  for (const int64_t n : {10, 1, 1, 30, 5, 5}) {
    parameters.emplace_back(fmt::format("p{}", parameters.size()), Tensor<float>::zeros({n}));
  }
  const train::ParameterPartition one(parameters, 1);
  EXPECT_EQ(one.bounds, (std::vector<size_t>{0, 6}));
  EXPECT_EQ(one.elements(0), 52);
  const train::ParameterPartition two(parameters, 2);  // shares [0, 26) and [26, 52)
  EXPECT_EQ(two.bounds, (std::vector<size_t>{0, 3, 6}));
  EXPECT_EQ(two.first_element(1), 12);
  EXPECT_EQ(two.elements(1), 40);
  const train::ParameterPartition four(parameters, 4);  // shares of 13: rank 1's holds no middle
  EXPECT_EQ(four.bounds, (std::vector<size_t>{0, 3, 3, 4, 6}));
  EXPECT_EQ(four.elements(1), 0);
  std::vector<int> owners;
  for (size_t i = 0; i < parameters.size(); ++i) owners.push_back(four.owner(i));
  EXPECT_EQ(owners, (std::vector<int>{0, 0, 0, 2, 3, 3}));
  const train::ParameterPartition many(parameters, 9);  // more ranks than parameters
  EXPECT_EQ(many.bounds.front(), 0u);
  EXPECT_EQ(many.bounds.back(), 6u);
  EXPECT_TRUE(std::is_sorted(many.bounds.begin(), many.bounds.end()));
}

TEST(DataParallel, FingerprintsDifferWhenTheBytesDo) {
  EXPECT_EQ(distributed::fingerprint("abc"), distributed::fingerprint("abc"));
  EXPECT_NE(distributed::fingerprint("abc"), distributed::fingerprint("abd"));
  // Chained: "ab" continued by "c" is "abc"; "c" continued by "ab" is not.
  EXPECT_EQ(distributed::fingerprint("c", distributed::fingerprint("ab")), distributed::fingerprint("abc"));
  EXPECT_NE(distributed::fingerprint("ab", distributed::fingerprint("c")), distributed::fingerprint("abc"));
  const int64_t ids[] = {1, 2};
  EXPECT_NE(distributed::fingerprint_bytes(ids, sizeof(ids)), distributed::fingerprint_bytes(ids, sizeof(ids[0])));
  EXPECT_EQ(distributed::world().size(), 1);  // ctest does not start attend_tests under mpirun
}

}  // namespace
}  // namespace attend
