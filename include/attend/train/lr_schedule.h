// Learning-rate schedules: the learning rate as a pure function of the step.
//
// `step` counts the optimizer updates already taken (0 for the first update), as
// Optimizer::step_count() does, so a training loop sets
//   optimizer.set_learning_rate(schedule.learning_rate(optimizer.step_count()));
// before each optimizer.step(), and a resumed run picks the schedule up where it stopped.
// Below, s = step + 1 is the 1-based number of the update about to happen.
#pragma once

#include <cstdint>

namespace attend::train {

class LearningRateSchedule {
 public:
  virtual ~LearningRateSchedule() = default;
  // step >= 0; ValueError otherwise.
  virtual double learning_rate(int64_t step) const = 0;
};

// lr = learning_rate at every step.
class ConstantSchedule final : public LearningRateSchedule {
 public:
  // learning_rate finite and >= 0.
  explicit ConstantSchedule(double learning_rate);
  double learning_rate(int64_t step) const override;

 private:
  double learning_rate_;
};

// Linear warm-up, then decay as the inverse square root of the step (Vaswani et al., "Attention
// is all you need", NeurIPS 2017, eq. 3):
//   lr = peak * min(s / warmup, sqrt(warmup / s)),   s = step + 1
// The two branches meet at s = warmup (step = warmup - 1), where lr = peak. The paper's
//   d_model^-0.5 * min(s^-0.5, s * warmup^-1.5)
// is this form with peak = 1 / sqrt(d_model * warmup): see for_model_dim().
class WarmupInverseSqrtSchedule final : public LearningRateSchedule {
 public:
  // peak_learning_rate finite and > 0; warmup_steps >= 1.
  WarmupInverseSqrtSchedule(double peak_learning_rate, int64_t warmup_steps);
  // The paper's schedule for a model of width model_dim (>= 1); the paper uses warmup 4000.
  static WarmupInverseSqrtSchedule for_model_dim(int64_t model_dim, int64_t warmup_steps);
  double learning_rate(int64_t step) const override;
  double peak_learning_rate() const { return peak_; }

 private:
  double peak_;
  int64_t warmup_;
};

// Linear warm-up, then cosine decay to a minimum (Loshchilov & Hutter, "SGDR: stochastic
// gradient descent with warm restarts", ICLR 2017, eq. 5, with a single period and no restart):
//   s <= warmup:  lr = peak * s / warmup
//   s >  warmup:  lr = minimum + (peak - minimum) * (1 + cos(pi * p)) / 2,
//                 p = min(1, (s - warmup) / (total - warmup + 1))
// lr = peak at step = warmup - 1; the minimum is reached at step = total_steps, one past the last
// update of a total_steps run, so no update of the run is spent at the minimum (as PyTorch's
// CosineAnnealingLR reaches eta_min only after T_max steps). Later steps stay at the minimum.
class WarmupCosineSchedule final : public LearningRateSchedule {
 public:
  // peak_learning_rate finite and > 0; minimum_learning_rate in [0, peak]; warmup_steps >= 1;
  // total_steps > warmup_steps.
  WarmupCosineSchedule(double peak_learning_rate, int64_t warmup_steps, int64_t total_steps,
                       double minimum_learning_rate = 0.0);
  double learning_rate(int64_t step) const override;

 private:
  double peak_;
  double minimum_;
  int64_t warmup_;
  int64_t total_;
};

// Linear warm-up, then linear decay to zero (BERT's fine-tuning schedule; transformers'
// get_linear_schedule_with_warmup, which runs its first update at rate 0, one step earlier):
//   s <= warmup:  lr = peak * s / warmup
//   s >  warmup:  lr = peak * max(0, (total + 1 - s) / (total + 1 - warmup))
// lr = peak at step = warmup - 1, and 0 at step = total_steps (one past the last update of the
// run, as for WarmupCosineSchedule); later steps stay at 0.
class WarmupLinearSchedule final : public LearningRateSchedule {
 public:
  // peak_learning_rate finite and > 0; warmup_steps >= 1; total_steps > warmup_steps.
  WarmupLinearSchedule(double peak_learning_rate, int64_t warmup_steps, int64_t total_steps);
  double learning_rate(int64_t step) const override;

 private:
  double peak_;
  int64_t warmup_;
  int64_t total_;
};

// The step to evaluate a schedule at when it should end at a time limit rather than at a step
// count: the same fraction of total_steps as the fraction of time_limit_seconds spent, when that
// is further along than `step`, and never past total_steps; `step` itself without a limit
// (time_limit_seconds <= 0). The learning rates then depend on the clock, so a run scheduled by
// time is not reproducible bit for bit.
int64_t time_scheduled_step(int64_t step, int64_t total_steps, double elapsed_seconds, double time_limit_seconds);

}  // namespace attend::train
