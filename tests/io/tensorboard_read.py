"""Reads a TensorBoard log directory with the `tensorboard` package and prints what it found as
JSON: {"scalars": {tag: [[step, value], ...]}, "images": {tag: [[step, height, width, bytes_hex], ...]}}.
Used by tests/io/tensorboard_test.cc to check attend's event files against the real reader."""
import json
import sys

from tensorboard.backend.event_processing import event_accumulator


def main(log_dir):
    accumulator = event_accumulator.EventAccumulator(log_dir, size_guidance={"scalars": 0, "images": 0})
    accumulator.Reload()
    tags = accumulator.Tags()
    result = {"scalars": {}, "images": {}}
    for tag in tags["scalars"]:
        result["scalars"][tag] = [[e.step, e.value] for e in accumulator.Scalars(tag)]
    for tag in tags["images"]:
        result["images"][tag] = [[e.step, e.height, e.width, e.encoded_image_string.hex()] for e in accumulator.Images(tag)]
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
