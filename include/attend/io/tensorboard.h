// TensorBoard event files: scalars and PNG images that `tensorboard --logdir DIR` shows.
//
// An event file ("events.out.tfevents.<seconds>.<host>.<pid>") is a sequence of TFRecords:
//   uint64 length | uint32 masked_crc32c(length) | length bytes of data | uint32 masked_crc32c(data)
//   masked_crc32c(x) = rotate_right(crc32c(x), 15) + 0xa282ead8
// where each record's data is a serialized tensorflow.Event protocol buffer. The first event
// carries file_version "brain.Event:2"; the others a Summary with one value. The fields used
// (field number, wire type), from TensorFlow's event.proto and summary.proto:
//   Event:         wall_time 1 (double), step 2 (varint), file_version 3 (bytes), summary 5 (bytes)
//   Summary:       value 1 (repeated, bytes)
//   Summary.Value: tag 1 (bytes), simple_value 2 (float), image 4 (bytes)
//   Summary.Image: height 1, width 2, colorspace 3 (varint), encoded_image_string 4 (bytes)
// Five messages of a handful of fields each are encoded here directly; protobuf's code
// generator and TensorFlow's .proto files would be a heavier dependency than the format.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace attend::io {

// CRC-32C (Castagnoli), as TFRecord uses; Debian 12 packages no C/C++ library for it.
uint32_t crc32c(const void* data, size_t size);

class TensorBoardWriter {
 public:
  // Creates `directory` if needed and a new event file in it (never replacing another).
  explicit TensorBoardWriter(const std::string& directory);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  void add_scalar(const std::string& tag, double value, int64_t step);
  // `png` holds a complete PNG file of the given size; channels: 1 gray, 3 RGB, 4 RGBA.
  void add_png(const std::string& tag, const std::vector<uint8_t>& png, int64_t height, int64_t width, int64_t channels,
               int64_t step);
  // Pushes buffered events to the file (TensorBoard reads a file while it grows).
  void flush();

  const std::string& path() const { return path_; }

 private:
  void write_event(const std::string& event);
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace attend::io
