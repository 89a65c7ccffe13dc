// Colour maps for weights in [0, 1].
#pragma once

namespace attend::viz {

struct Rgb {
  double r = 0, g = 0, b = 0;  // each in [0, 1]
};

// Viridis (van der Walt and Smith, matplotlib 2.0's default): perceptually uniform, readable in
// grey and by the colour blind. t is clamped to [0, 1]; 0 is dark blue, 1 is yellow.
Rgb viridis(double t);

}  // namespace attend::viz
