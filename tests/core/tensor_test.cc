#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "attend/attend.h"
#include "attend/core/memory.h"

namespace attend {
namespace {

TEST(Tensor, FactoriesAndAlignment) {
  for (const Shape& shape : std::vector<Shape>{{3, 5}, {1}, {}, {0, 4}, {7, 9, 11}}) {
    const auto t = Tensor32::zeros(shape);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u) << shape_string(shape);
    EXPECT_EQ(t.numel(), shape_numel(shape));
    EXPECT_TRUE(t.is_contiguous());
  }
  EXPECT_EQ(Tensor64::full({2}, 3.5).to_vector(), (std::vector<double>{3.5, 3.5}));
  EXPECT_EQ(Tensor64::arange(3).to_vector(), (std::vector<double>{0, 1, 2}));
  EXPECT_EQ(Tensor64::scalar(2).rank(), 0);
  EXPECT_EQ(Tensor64::scalar(2).item(), 2);
}

// A tensor larger than the machine's memory is refused with its shape and size, before any
// allocation (physical_memory_bytes reads the machine's RAM: 2^40 elements exceed any here).
TEST(Tensor, LargerThanTheMachineIsRefusedWithTheFigure) {
  ASSERT_GT(physical_memory_bytes(), int64_t{1} << 28);
  try {
    Tensor32::empty({1 << 20, 1 << 20});
    FAIL() << "a 4 TiB tensor was allocated";
  } catch (const ValueError& error) {
    EXPECT_NE(std::string(error.what()).find("shape (1048576, 1048576) with 4-byte elements needs 4096.0 GiB"),
              std::string::npos)
        << error.what();
  }
  EXPECT_EQ(Tensor32::zeros({1 << 10, 1 << 10}).numel(), 1 << 20);
}

TEST(Tensor, ViewsShareStorageAndHaveTheRightGeometry) {
  const auto x = Tensor64::from_vector({2, 3}, {0, 1, 2, 3, 4, 5});
  const auto t = x.transpose(0, 1);
  EXPECT_TRUE(t.shares_storage_with(x));
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  EXPECT_EQ(t.strides(), (Strides{1, 3}));
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_EQ(t.to_vector(), (std::vector<double>{0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(t.at({2, 1}), 5);

  const auto s = x.slice(1, 0, 3, 2);
  EXPECT_TRUE(s.shares_storage_with(x));
  EXPECT_EQ(s.to_vector(), (std::vector<double>{0, 2, 3, 5}));
  EXPECT_EQ(x.slice(1, -2, 100).to_vector(), (std::vector<double>{1, 2, 4, 5}));
  EXPECT_EQ(x.slice(0, 5, 9).numel(), 0);

  const auto e = Tensor64::from_vector({3, 1}, {1, 2, 3}).expand({2, 3, 4});
  EXPECT_EQ(e.strides()[0], 0);
  EXPECT_EQ(e.strides()[2], 0);
  EXPECT_EQ(e.at({1, 2, 3}), 3);

  const auto r = x.reshape({3, -1});
  EXPECT_TRUE(r.shares_storage_with(x));
  EXPECT_EQ(r.shape(), (Shape{3, 2}));
  const auto rt = t.reshape({6});  // not viewable: copies
  EXPECT_FALSE(rt.shares_storage_with(x));
  EXPECT_EQ(rt.to_vector(), (std::vector<double>{0, 3, 1, 4, 2, 5}));

  EXPECT_EQ(x.unsqueeze(0).shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(x.unsqueeze(-1).shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(x.unsqueeze(0).squeeze(0).shape(), (Shape{2, 3}));
  EXPECT_EQ(x.permute({1, 0}).to_vector(), t.to_vector());
}

TEST(Tensor, CopyFromBroadcastsAndWritesThroughViews) {
  auto x = Tensor64::zeros({2, 3});
  x.slice(1, 1, 3).copy_from(Tensor64::from_vector({2}, {7, 8}));
  EXPECT_EQ(x.to_vector(), (std::vector<double>{0, 7, 8, 0, 7, 8}));
  x.transpose(0, 1).fill(1);
  EXPECT_EQ(x.to_vector(), (std::vector<double>(6, 1)));
}

TEST(Tensor, CastRoundTrips) {
  const auto x = Tensor64::from_vector({3}, {1.5, -2.25, 3});
  EXPECT_EQ(x.cast<float>().cast<double>().to_vector(), x.to_vector());
  EXPECT_EQ(x.cast<int64_t>().to_vector(), (std::vector<int64_t>{1, -2, 3}));
}

TEST(Tensor, RandomFactoriesAreReproducible) {
  Generator a(5), b(5);
  EXPECT_EQ(Tensor32::randn({100}, a).to_vector(), Tensor32::randn({100}, b).to_vector());
  Generator c(5);
  for (float v : Tensor32::uniform({1000}, -2, 3, c).to_vector()) {
    EXPECT_GE(v, -2.0f);
    EXPECT_LT(v, 3.0f);
  }
}

}  // namespace
}  // namespace attend

namespace attend {
namespace {

// Borrowed memory (a NumPy array's, in the Python module): read in place, never freed by the
// tensor, kept alive through its owner for as long as any tensor or view of it lives.
TEST(Tensor, BorrowReadsInPlaceAndKeepsTheOwnerAlive) {
  alignas(64) static float values[6] = {1, 2, 3, 4, 5, 6};
  auto alive = std::make_shared<int>(0);
  std::weak_ptr<int> watch = alive;
  Tensor<float> view;
  {
    const Tensor<float> t = Tensor<float>::borrow(values, {2, 3}, alive);
    alive.reset();
    EXPECT_EQ(t.data(), values);
    EXPECT_EQ(t.strides(), (Strides{3, 1}));
    EXPECT_EQ(t.at({1, 2}), 6.0f);
    view = t.transpose(0, 1);
  }
  EXPECT_FALSE(watch.expired());  // the view still holds the owner
  EXPECT_EQ(view.at({2, 1}), 6.0f);
  view = Tensor<float>();
  EXPECT_TRUE(watch.expired());
  EXPECT_EQ(values[5], 6.0f);  // not freed, not written
}

TEST(Tensor, BorrowNeedsElementAlignmentAndAnOwner) {
  alignas(64) static double values[9] = {};
  double* misaligned = reinterpret_cast<double*>(reinterpret_cast<char*>(values) + 4);
  EXPECT_THROW(Tensor<double>::borrow(misaligned, {2, 2}, std::make_shared<int>(0)), ValueError);
  EXPECT_EQ(Tensor<double>::borrow(values + 1, {2, 2}, std::make_shared<int>(0)).data(), values + 1);
  EXPECT_THROW(Tensor<double>::borrow(values, {2, 2}, nullptr), ValueError);
}

}  // namespace
}  // namespace attend
