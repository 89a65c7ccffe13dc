// Attention over an image: the grey input, upscaled (nearest neighbour, so its pixels stay
// visible), under a coarser map of attention weights (one per patch or feature-grid cell,
// upscaled bilinearly), coloured with viridis at some opacity. One panel per map, side by side,
// all on the scale of one colour bar.
//
// For the Fashion-MNIST classifiers: a 28 x 28 image and maps on their 7 x 7 grid of tokens,
// e.g. the rollout (viz/rollout.h) and each head's pooled attention of the last layer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "attend/viz/image_format.h"

namespace attend::viz {

struct GrayImage {
  int64_t height = 0, width = 0;
  std::vector<float> pixels;  // (height, width) row-major, 0 black .. 1 white
};

struct ImageAttentionMap {
  std::string title;                        // "rollout", "head 2"
  int64_t grid_height = 0, grid_width = 0;  // (h, w) grid of the tokens
  std::vector<float> weights;               // (h, w) row-major
};

struct OverlayOptions {
  int64_t scale = 8;    // image pixels per input pixel
  double alpha = 0.55;  // opacity of the attention colours
};

// Reads a PNG file (through cairo) as gray levels in [0, 1]: luminance 0.299 R + 0.587 G + 0.114 B
// of each pixel composited over black (Fashion-MNIST draws garments light on black). ValueError
// naming the file and cairo's reason when it cannot be read or is not a PNG.
GrayImage read_gray_png(const std::string& path);

// ValueError when a map's weights do not fill its grid, or the image is empty.
std::string render_image_attention(const std::string& title, const GrayImage& image,
                                   const std::vector<ImageAttentionMap>& maps, ImageFormat format,
                                   const OverlayOptions& options = {});
// Written atomically; the format by the extension.
void write_image_attention(const std::string& path, const std::string& title, const GrayImage& image,
                           const std::vector<ImageAttentionMap>& maps, const OverlayOptions& options = {});

}  // namespace attend::viz
