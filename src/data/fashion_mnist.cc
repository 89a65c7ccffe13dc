#include "attend/data/fashion_mnist.h"

#include <zlib.h>

#include <filesystem>
#include <memory>

#include "attend/core/error.h"
#include "attend/io/data_locations.h"

namespace attend::data {
namespace {

constexpr int64_t kMaxIdxBytes = int64_t{1} << 31;  // far above Fashion-MNIST's 47 MB

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};

// Reads exactly n bytes or throws.
void read_exactly(gzFile file, uint8_t* out, int64_t n, const std::string& path) {
  int64_t done = 0;
  while (done < n) {
    const unsigned chunk = static_cast<unsigned>(std::min<int64_t>(n - done, 1 << 30));
    const int got = gzread(file, out + done, chunk);
    ATTEND_CHECK(got > 0, ValueError, "IDX file '{}' is truncated or corrupt: expected {} bytes of data, read {}", path,
                 n, done);
    done += got;
  }
}

ImageSet to_image_set(const IdxArray& images, const IdxArray& labels, int64_t begin, int64_t end) {
  const int64_t pixels = images.shape[1] * images.shape[2];
  ImageSet set;
  set.images = Tensor<float>::empty({end - begin, images.shape[1], images.shape[2]});
  set.labels = IndexTensor::empty({end - begin});
  for (int64_t i = begin; i < end; ++i) {
    for (int64_t p = 0; p < pixels; ++p)
      set.images.data()[(i - begin) * pixels + p] = images.values[i * pixels + p] / 255.0f;
    set.labels.data()[i - begin] = labels.values[i];
  }
  return set;
}

}  // namespace

IdxArray read_idx(const std::string& path, int expected_rank) {
  ATTEND_CHECK(std::filesystem::exists(path), ValueError,
               "'{}' does not exist: install the Debian package dataset-fashion-mnist (scripts/setup does) or pass "
               "--data DIR",
               path);
  std::unique_ptr<gzFile_s, GzCloser> file(gzopen(path.c_str(), "rb"));
  ATTEND_CHECK(file != nullptr, ValueError, "cannot open IDX file '{}'", path);
  uint8_t header[4];
  read_exactly(file.get(), header, 4, path);
  const int rank = header[3];
  ATTEND_CHECK(header[0] == 0 && header[1] == 0 && header[2] == 0x08 && rank == expected_rank, ValueError,
               "'{}' is not an IDX file of unsigned bytes with {} dimensions (magic {:02x}{:02x}{:02x}{:02x})", path,
               expected_rank, header[0], header[1], header[2], header[3]);
  IdxArray array;
  int64_t total = 1;
  for (int d = 0; d < rank; ++d) {
    uint8_t size[4];
    read_exactly(file.get(), size, 4, path);
    const int64_t n = (int64_t{size[0]} << 24) | (int64_t{size[1]} << 16) | (int64_t{size[2]} << 8) | size[3];
    array.shape.push_back(n);
    total = checked_mul(total, n);
    ATTEND_CHECK(total <= kMaxIdxBytes, ValueError, "IDX file '{}' declares {} elements, more than the {} allowed",
                 path, shape_string(array.shape), kMaxIdxBytes);
  }
  // The header's count is a claim: the bytes are read in chunks and the array grows with what
  // arrives, so a short file that declares a billion elements allocates what it holds, not a GB.
  constexpr int64_t kChunk = 16 << 20;
  for (int64_t done = 0; done < total;) {
    array.values.resize(static_cast<size_t>(std::min(total, done + kChunk)));
    const int got = gzread(file.get(), array.values.data() + done, static_cast<unsigned>(array.values.size() - done));
    ATTEND_CHECK(got > 0, ValueError, "IDX file '{}' is truncated or corrupt: expected {} bytes of data, read {}", path,
                 total, done);
    done += got;
  }
  uint8_t extra;
  ATTEND_CHECK(gzread(file.get(), &extra, 1) == 0, ValueError, "IDX file '{}' has data after its {} elements", path,
               shape_string(array.shape));
  return array;
}

std::string default_fashion_mnist_directory() { return io::locate(io::DataSet::kFashionMnist).path; }

FashionMnist load_fashion_mnist(const std::string& directory_in) {
  const std::string directory = directory_in.empty() ? default_fashion_mnist_directory() : directory_in;
  auto file = [&](const char* name) { return (std::filesystem::path(directory) / name).string(); };
  const IdxArray train_images = read_idx(file("train-images-idx3-ubyte.gz"), 3);
  const IdxArray train_labels = read_idx(file("train-labels-idx1-ubyte.gz"), 1);
  const IdxArray test_images = read_idx(file("t10k-images-idx3-ubyte.gz"), 3);
  const IdxArray test_labels = read_idx(file("t10k-labels-idx1-ubyte.gz"), 1);
  for (const auto* pair : {&train_images, &test_images}) {
    ATTEND_CHECK(pair->shape[1] == 28 && pair->shape[2] == 28, ValueError, "Fashion-MNIST images must be 28x28, got {}",
                 shape_string(pair->shape));
  }
  ATTEND_CHECK(train_images.shape[0] == train_labels.shape[0] && test_images.shape[0] == test_labels.shape[0],
               ValueError, "Fashion-MNIST: {} training images but {} labels, {} test images but {} labels",
               train_images.shape[0], train_labels.shape[0], test_images.shape[0], test_labels.shape[0]);
  for (const auto* labels : {&train_labels, &test_labels}) {
    for (uint8_t label : labels->values)
      ATTEND_CHECK(label < 10, ValueError, "Fashion-MNIST: label {} is not in [0, 10)", label);
  }
  const int64_t train_count = train_images.shape[0];
  const int64_t validation = std::min<int64_t>(5000, train_count / 10);
  FashionMnist data;
  data.train = to_image_set(train_images, train_labels, 0, train_count - validation);
  data.validation = to_image_set(train_images, train_labels, train_count - validation, train_count);
  data.test = to_image_set(test_images, test_labels, 0, test_images.shape[0]);
  return data;
}

const char* fashion_mnist_class_name(int64_t label) {
  static const char* names[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return label >= 0 && label < 10 ? names[label] : "?";
}

}  // namespace attend::data
