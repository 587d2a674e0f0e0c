#!/usr/bin/env python3
"""Loads a `topiary export --format pytorch` file with real PyTorch and checks it.

Usage:
  python3 scripts/check-pytorch-export.py MODEL.pt [--safetensors MODEL.safetensors]
                                          [--reference REFERENCE.json] [--data DIR [--expect-accuracy PCT]]

Needs PyTorch (Debian: python3-torch, for /usr/bin/python3); nothing else beyond the standard library.
1. torch.load(MODEL.pt) (weights_only=True where this torch has it): it must be a dict of float32 CPU tensors.
2. --safetensors: the same model exported as safetensors, parsed by hand (8-byte header length, JSON header,
   raw little-endian data); every tensor must have the same name, order, shape and values (max |difference| 0).
3. A LeNet-300-100 or LeNet-5 torch.nn module built here (sizes read from the state dict, so simplified models
   fit too) takes the state dict with load_state_dict(strict=True).
4. --reference: a JSON file {"input_shape": [...], "input": [...], "output": [...]} with TorchSharp's output for
   that input (the test suite writes one); the module's output must agree to 1e-5.
5. --data: test accuracy on the IDX test set in DIR, with Topiary's normalization (pixels / 255, standardized by
   the mean and deviation of the whole training file); --expect-accuracy: the percentage `topiary eval` printed,
   which it must match to within one image.
Prints one line per check and exits 1 on the first mismatch, 2 on a usage error.
"""
import argparse
import collections
import gzip
import inspect
import json
import os
import struct
import sys

try:
    import torch
    from torch import nn
except ImportError:
    print("check-pytorch-export: error: PyTorch is not installed for " + sys.executable
          + " (Debian: apt-get install python3-torch, then run it with /usr/bin/python3)", file=sys.stderr)
    sys.exit(2)


def fail(message):
    print("MISMATCH " + message)
    sys.exit(1)


def load_pt(path):
    weights_only = "weights_only" in inspect.signature(torch.load).parameters
    state = torch.load(path, map_location="cpu", weights_only=True) if weights_only else torch.load(path, map_location="cpu")
    if not isinstance(state, dict):
        fail("%s holds a %s, not a state dict" % (path, type(state).__name__))
    for name, tensor in state.items():
        if not isinstance(tensor, torch.Tensor) or tensor.dtype != torch.float32 or tensor.device.type != "cpu":
            fail("%s: %s is not a float32 CPU tensor" % (path, name))
    print("torch %s: torch.load(%s%s) gave %s of %d tensors, %d values"
          % (torch.__version__, os.path.basename(path), ", weights_only=True" if weights_only else "",
             type(state).__name__, len(state), sum(t.numel() for t in state.values())))
    return state


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (length,) = struct.unpack_from("<Q", raw, 0)
    header = json.loads(raw[8:8 + length], object_pairs_hook=collections.OrderedDict)
    header.pop("__metadata__", None)
    data = raw[8 + length:]
    tensors = collections.OrderedDict()
    for name, entry in header.items():
        if entry["dtype"] != "F32":
            fail("%s: %s is %s, expected F32" % (path, name, entry["dtype"]))
        start, end = entry["data_offsets"]
        values = torch.frombuffer(bytearray(data[start:end]), dtype=torch.float32) if end > start else torch.zeros(0)
        tensors[name] = values.reshape(entry["shape"])
    return tensors


def compare_state(state, reference, what):
    if list(state) != list(reference):
        fail("names or order differ from %s: %s vs %s" % (what, list(state), list(reference)))
    for name, tensor in state.items():
        other = reference[name]
        if tuple(tensor.shape) != tuple(other.shape):
            fail("%s: shape %s vs %s in %s" % (name, tuple(tensor.shape), tuple(other.shape), what))
        difference = (tensor - other).abs().max().item() if tensor.numel() else 0.0
        nonzero = int((tensor != 0).sum())
        print("  %-12s %-18s non-zero %7d  max |pt - %s| = %g" % (name, tuple(tensor.shape), nonzero, what, difference))
        if difference != 0 or not torch.equal(tensor, other):
            fail("%s differs from %s" % (name, what))


class LeNet300(nn.Module):
    """flatten → fc1 → ReLU → fc2 → ReLU → fc3, as Topiary's lenet300."""

    def __init__(self, state):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = (nn.Linear(*reversed(state[n + ".weight"].shape)) for n in ("fc1", "fc2", "fc3"))

    def forward(self, x):
        x = torch.relu(self.fc1(x.flatten(1)))
        return self.fc3(torch.relu(self.fc2(x)))


class LeNet5(nn.Module):
    """conv1 → max-pool 2 → conv2 → max-pool 2 → flatten → fc1 → ReLU → fc2, as Topiary's lenet5 (no ReLU after the convolutions)."""

    def __init__(self, state):
        super().__init__()
        conv = lambda n: nn.Conv2d(state[n].shape[1], state[n].shape[0], state[n].shape[2])
        self.conv1, self.conv2 = conv("conv1.weight"), conv("conv2.weight")
        self.fc1, self.fc2 = (nn.Linear(*reversed(state[n + ".weight"].shape)) for n in ("fc1", "fc2"))

    def forward(self, x):
        x = torch.max_pool2d(self.conv1(x), 2)
        x = torch.max_pool2d(self.conv2(x), 2)
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


def build_module(state):
    model = LeNet5(state) if "conv1.weight" in state else LeNet300(state)
    result = model.load_state_dict(state, strict=True)
    model.eval()
    print("load_state_dict(strict=True) into a torch.nn %s: ok (%s)" % (type(model).__name__, result))
    return model


def check_reference(model, path):
    with open(path) as f:
        reference = json.load(f)
    x = torch.tensor(reference["input"], dtype=torch.float32).reshape(reference["input_shape"])
    expected = torch.tensor(reference["output"], dtype=torch.float32)
    with torch.no_grad():
        actual = model(x)
    expected = expected.reshape(actual.shape)
    difference = (actual - expected).abs().max().item()
    print("forward on %s inputs from %s: max |torch - TorchSharp| = %g" % (list(x.shape), os.path.basename(path), difference))
    if not difference <= 1e-5:
        fail("the forward output differs from TorchSharp's by %g (limit 1e-5)" % difference)


def read_idx(directory, stem):
    for name in (stem, stem + ".gz"):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            with (gzip.open if name.endswith(".gz") else open)(path, "rb") as f:
                raw = f.read()
            dimensions = raw[3]
            shape = struct.unpack_from(">" + "I" * dimensions, raw, 4)
            return torch.frombuffer(bytearray(raw[4 + 4 * dimensions:]), dtype=torch.uint8).reshape(shape)
    fail("%s has no %s[.gz]" % (directory, stem))


def check_accuracy(model, directory, expected):
    train = read_idx(directory, "train-images-idx3-ubyte").float().div_(255)
    mean, std = train.mean().item(), train.std().item()
    images = read_idx(directory, "t10k-images-idx3-ubyte").float().div_(255).unsqueeze(1).sub_(mean).div_(std)
    labels = read_idx(directory, "t10k-labels-idx1-ubyte").long()
    with torch.no_grad():
        correct = sum(int((model(images[i:i + 1000]).argmax(1) == labels[i:i + 1000]).sum()) for i in range(0, len(labels), 1000))
    accuracy = 100.0 * correct / len(labels)
    print("test accuracy in torch: %.2f%% (%d of %d)" % (accuracy, correct, len(labels)))
    # One image is 100 / len(labels) points; the printed percentage is rounded to 0.01.
    if expected is not None and abs(accuracy - expected) > 100.0 / len(labels) + 0.005:
        fail("test accuracy %.2f%% in torch, %.2f%% expected" % (accuracy, expected))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pt")
    parser.add_argument("--safetensors")
    parser.add_argument("--reference")
    parser.add_argument("--data")
    parser.add_argument("--expect-accuracy", type=float)
    args = parser.parse_args()
    torch.manual_seed(0)  # the module's initial values are all overwritten; this only makes the run repeatable
    state = load_pt(args.pt)
    if args.safetensors:
        compare_state(state, load_safetensors(args.safetensors), "safetensors")
    model = build_module(state)
    if args.reference:
        check_reference(model, args.reference)
    if args.data:
        check_accuracy(model, args.data, args.expect_accuracy)
    print("OK")


if __name__ == "__main__":
    main()
