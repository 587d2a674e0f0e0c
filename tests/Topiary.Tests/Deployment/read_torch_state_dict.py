"""Independent reader of a torch.save state dict, using only Python's zipfile and pickle (no PyTorch).

Usage: python3 read_torch_state_dict.py FILE.pt
Prints one JSON object: the archive's records with their data offsets, the version and byteorder records,
and per tensor (in the state dict's order) its name, size, stride, storage offset, requires_grad, hooks,
and its values as float32 bit patterns. Anything unexpected raises, so the exit code is non-zero.
"""
import array
import collections
import json
import pickle
import struct
import sys
import zipfile


class FloatStorage:
    """Stand-in for torch.FloatStorage: only its identity is checked."""


class Tensor:
    def __init__(self, storage, offset, size, stride, requires_grad, hooks):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride
        self.requires_grad, self.hooks = requires_grad, hooks


def rebuild_tensor_v2(storage, offset, size, stride, requires_grad, backward_hooks):
    return Tensor(storage, offset, size, stride, requires_grad, backward_hooks)


ALLOWED = {
    ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor_v2,
    ("torch", "FloatStorage"): FloatStorage,
    ("collections", "OrderedDict"): collections.OrderedDict,
}


def main(path):
    archive = zipfile.ZipFile(path)
    infos = archive.infolist()
    prefix = infos[0].filename.split("/")[0]
    raw = open(path, "rb").read()
    records = []
    for info in infos:
        # The data offset comes from the local header, whose extra field may differ from the central one.
        name_length, extra_length = struct.unpack_from("<HH", raw, info.header_offset + 26)
        records.append({
            "name": info.filename,
            "compress_type": info.compress_type,
            "data_offset": info.header_offset + 30 + name_length + extra_length,
            "size": info.file_size,
        })
    byteorder = archive.read(prefix + "/byteorder").decode("ascii")
    version = archive.read(prefix + "/version").decode("ascii")
    if byteorder != "little":
        raise ValueError("byteorder " + byteorder)

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            return ALLOWED[(module, name)]  # anything else is a KeyError

        def persistent_load(self, pid):
            kind, storage_type, key, location, numel = pid
            if kind != "storage" or storage_type is not FloatStorage or location != "cpu":
                raise ValueError("unexpected persistent id %r" % (pid,))
            values = array.array("f")
            values.frombytes(archive.read(prefix + "/data/" + key))
            if len(values) != numel:
                raise ValueError("storage %s holds %d values, persistent id says %d" % (key, len(values), numel))
            return values

    state = Unpickler(archive.open(prefix + "/data.pkl")).load()
    if type(state) is not collections.OrderedDict:
        raise TypeError(type(state))
    tensors = []
    for name, tensor in state.items():
        count = 1
        for d in tensor.size:
            count *= d
        values = tensor.storage[tensor.offset:tensor.offset + count]
        tensors.append({
            "name": name,
            "size": list(tensor.size),
            "stride": list(tensor.stride),
            "offset": tensor.offset,
            "requires_grad": tensor.requires_grad,
            "hooks": len(tensor.hooks),
            "hooks_type": type(tensor.hooks).__name__,
            "bits": [struct.unpack("<I", struct.pack("<f", v))[0] for v in values],
        })
    print(json.dumps({"records": records, "byteorder": byteorder, "version": version, "tensors": tensors}))


if __name__ == "__main__":
    main(sys.argv[1])
