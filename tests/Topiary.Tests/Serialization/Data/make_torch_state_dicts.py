"""Writes state dicts with real PyTorch, and what PyTorch itself reads back from them, for StateDictImportTests.

usage: make_torch_state_dicts.py OUT_DIR

- cnn.pt: torch.save(model.state_dict()) of a conv -> BatchNorm2d -> ReLU -> max-pool -> linear model (the twin of the
  tests' SmallCnn with 2 channels) after three SGD steps, so that its running statistics are not the defaults.
- odd.pt: torch.save of a plain dict of tensors that a state dict may hold: a transposed view (strides), views with a
  storage offset, two tensors sharing one storage, every dtype Topiary reads, a scalar and an empty tensor.
- expected.json: for every tensor its dtype, shape and contiguous little-endian bytes as hex; the model's eval output
  on a fixed input; the PyTorch version.
The committed copies in this folder were made with Debian's python3-torch 1.13; the tests compare them and, where a
python3 with torch exists, a fresh run of this script.
"""
import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class SmallCnn(nn.Module):
    def __init__(self, channels=2, classes=3):
        super().__init__()
        self.conv = nn.Conv2d(1, channels, 3, padding=1)
        self.bn = nn.BatchNorm2d(channels)
        self.fc = nn.Linear(channels * 16, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)
        return self.fc(x.flatten(1))


def hex_bytes(t):
    t = t.detach().contiguous().reshape(-1)
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes().hex()


def describe(tensors):
    return {name: {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape), "hex": hex_bytes(t)}
            for name, t in tensors.items()}


def main(out):
    torch.manual_seed(11)
    model = SmallCnn()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        F.cross_entropy(model(torch.randn(16, 1, 8, 8)), torch.randint(0, 3, (16,))).backward()
        optimizer.step()
    model.eval()
    state = model.state_dict()
    torch.save(state, f"{out}/cnn.pt")
    x = torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        y = model(x)

    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.5
    longs = torch.arange(10, dtype=torch.float64) / 3
    odd = {
        "transposed": base.t(),
        "row_of_shared_storage": base[1],
        "offset": longs[3:7],
        "strided_offset": longs[1::3],
        "int64": torch.tensor([-(2 ** 40), 0, 7], dtype=torch.int64),
        "int32": torch.tensor([-5, 6], dtype=torch.int32),
        "int16": torch.tensor([-300, 301], dtype=torch.int16),
        "int8": torch.tensor([-7, 8], dtype=torch.int8),
        "uint8": torch.tensor([0, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "float16": torch.randn(5).half(),
        "bfloat16": torch.randn(5).bfloat16(),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 2),
    }
    torch.save(odd, f"{out}/odd.pt")

    # What PyTorch itself reads back, so that the expectation does not rest on the writer's intent.
    expected = {
        "torch_version": torch.__version__,
        "cnn": describe(torch.load(f"{out}/cnn.pt")),
        "odd": describe(torch.load(f"{out}/odd.pt")),
        "input": x.reshape(-1).tolist(),
        "output": y.reshape(-1).tolist(),
    }
    with open(f"{out}/expected.json", "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
