"""Saving and loading state dicts as safetensors files (em.save / em.load).

A file is plain safetensors: an 8-byte little-endian header length, a JSON
header giving each tensor's dtype, shape and byte range, then the raw bytes.
The nesting of the saved object (dicts, lists, tuples) and its non-tensor
values live as JSON in the header's "__metadata__", so loading never runs
code. Files written by the safetensors library load as a flat dict.
"""

from __future__ import annotations

import json
import math
import os
import struct
import tempfile
from collections import OrderedDict
from typing import Any, BinaryIO, Union

import numpy as np

from . import _C
from .tensor import Tensor

__all__ = ["load", "save"]

PathLike = Union[str, "os.PathLike[str]"]

_STRUCTURE_KEY = "ember.structure"
_FORMAT_KEY = "format"
_FORMAT_VERSION = "ember/1"
# A header this large is not a state dict's: refuse it before allocating.
_MAX_HEADER_BYTES = 100 * 1024 * 1024

_TO_SAFETENSORS = {
    _C.DType.float32: ("F32", np.dtype("<f4")),
    _C.DType.float64: ("F64", np.dtype("<f8")),
    _C.DType.int64: ("I64", np.dtype("<i8")),
    _C.DType.int32: ("I32", np.dtype("<i4")),
    _C.DType.bool: ("BOOL", np.dtype("?")),
    _C.DType.float16: ("F16", np.dtype("<f2")),
    # numpy has no bfloat16: its 16 bits travel as unsigned integers.
    _C.DType.bfloat16: ("BF16", np.dtype("<u2")),
}
_FROM_SAFETENSORS = {code: npdtype for code, npdtype in _TO_SAFETENSORS.values()}


# ---------------------------------------------------------------- encoding
class _Encoder:
    """Turns a nested object into JSON-able structure plus named tensors.

    Tensor names follow the path to the tensor (dotted, like state_dict keys),
    so a flat state dict reads naturally with other safetensors tools.
    """

    def __init__(self):
        self.tensors: dict[str, Tensor] = {}
        self._names_by_id: dict[int, str] = {}

    def encode(self, obj: Any, path: list[str]) -> Any:
        if isinstance(obj, Tensor):
            return {"T": self._add_tensor(obj, path)}
        if isinstance(obj, np.generic) and not isinstance(obj, np.ndarray):
            obj = obj.item()
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return {"I": str(obj)}
        if isinstance(obj, float):
            return {"F": repr(obj)}
        if isinstance(obj, dict):
            tag = "O" if isinstance(obj, OrderedDict) else "D"
            items = []
            for key, value in obj.items():
                if isinstance(key, Tensor) or not _is_plain_key(key):
                    raise TypeError(f"save: dict keys must be str, int, float, bool or None, "
                                    f"got {type(key).__name__} at {_show_path(path)}")
                items.append([self.encode(key, path), self.encode(value, path + [str(key)])])
            return {tag: items}
        if isinstance(obj, (list, tuple)):
            tag = "U" if isinstance(obj, tuple) else "L"
            return {tag: [self.encode(v, path + [str(i)]) for i, v in enumerate(obj)]}
        raise TypeError(f"save: cannot save a {type(obj).__name__} at {_show_path(path)}; "
                        "only tensors, dicts, lists, tuples, numbers, strings, bools and None")

    def _add_tensor(self, tensor: Tensor, path: list[str]) -> str:
        known = self._names_by_id.get(id(tensor))
        if known is not None:
            return known
        if tensor.dtype not in _TO_SAFETENSORS:
            raise TypeError(f"save: tensors of dtype {tensor.dtype} cannot be saved "
                            f"(at {_show_path(path)})")
        name = ".".join(path) or "tensor"
        if name == "__metadata__" or name in self.tensors:
            suffix = 1
            while f"{name}#{suffix}" in self.tensors:
                suffix += 1
            name = f"{name}#{suffix}"
        self.tensors[name] = tensor
        self._names_by_id[id(tensor)] = name
        return name


def _is_plain_key(key: Any) -> bool:
    return key is None or isinstance(key, (bool, int, float, str))


def _show_path(path: list[str]) -> str:
    return "'" + ".".join(path) + "'" if path else "the top level"


def _serialize(obj: Any) -> bytes:
    encoder = _Encoder()
    structure = encoder.encode(obj, [])
    header: dict[str, Any] = {
        "__metadata__": {_FORMAT_KEY: _FORMAT_VERSION, _STRUCTURE_KEY: json.dumps(structure)}
    }
    chunks = []
    offset = 0
    for name, tensor in encoder.tensors.items():
        code, npdtype = _TO_SAFETENSORS[tensor.dtype]
        if tensor.dtype == _C.DType.bfloat16:
            # A bfloat16 widened to float32 keeps its bits in the top half.
            widened = np.ascontiguousarray(tensor._host_values(), dtype="<f4")
            array = (widened.view("<u4") >> 16).astype(npdtype)
        else:
            array = np.asarray(tensor.detach().cpu()._data.numpy(), dtype=npdtype, order="C")
        data = array.tobytes()
        header[name] = {"dtype": code, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    # Pad with spaces so the data starts 8-byte aligned, as the safetensors library does.
    header_bytes += b" " * (-len(header_bytes) % 8)
    return struct.pack("<Q", len(header_bytes)) + header_bytes + b"".join(chunks)


# ---------------------------------------------------------------- save
def save(obj: Any, f: PathLike | BinaryIO) -> None:
    """Saves a state dict (nested dicts/lists/tuples of tensors and plain values).

    The file is safetensors. Writing to a path is atomic: the data goes to a
    temporary file in the same directory, is flushed to disk, then renamed over
    `f`, so a crash mid-save leaves any previous file intact.

    Args:
        obj: tensors, dicts (keys: str/int/float/bool/None), lists, tuples,
            ints, floats, strings, bools and None, nested in any way.
        f: a path, or a binary file object opened for writing.

    Example:
        >>> em.save(model.state_dict(), "model.safetensors")
    """
    data = _serialize(obj)
    if hasattr(f, "write"):
        f.write(data)
        return
    path = os.fspath(f)
    if not isinstance(path, str):
        path = os.fsdecode(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save: directory '{directory}' does not exist (saving '{path}')")
    mode = _file_mode(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def _file_mode(path: str) -> int:
    """The permissions a plain open() would give: the old file's, else 0o666 less umask."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        pass
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except OSError:
        pass
    return 0o644


def _fsync_directory(directory: str) -> None:
    """Makes the rename itself durable (POSIX); not possible on every platform."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------- load
def load(f: PathLike | BinaryIO, map_location=None, *, device=None) -> Any:
    """Loads what `save` wrote (or any safetensors file, as a flat dict of tensors).

    Loading parses JSON and copies bytes; it never runs code from the file.

    Args:
        f: a path, or a binary file object opened for reading.
        map_location: the device to put the tensors on (default CPU).
        device: same as map_location (give one or the other).

    Returns:
        The saved object, with the same nesting, tuples kept as tuples, and
        tensors with exactly the saved values and dtypes.

    Raises:
        FileNotFoundError if the path does not exist; ValueError naming the file
        when it is truncated, corrupt or not a safetensors file.
    """
    if map_location is not None and device is not None:
        raise TypeError("load: give map_location or device, not both")
    target = device if device is not None else map_location
    if target is not None and not isinstance(target, (str, _C.Device)):
        raise TypeError(f"load: map_location must be a device or a string like 'cpu', "
                        f"got {type(target).__name__}")
    if hasattr(f, "read"):
        name = getattr(f, "name", "<file object>")
        data = f.read()
    else:
        name = os.fspath(f)
        with open(name, "rb") as stream:
            data = stream.read()
    return _deserialize(bytes(data), str(name), target)


def _deserialize(data: bytes, name: str, target) -> Any:
    def corrupt(what: str) -> ValueError:
        return ValueError(f"load: '{name}' is not a valid safetensors file: {what}")

    if data[:4] == b"PK\x03\x04":
        raise corrupt("it is a zip archive (a torch.save checkpoint?); ember loads safetensors")
    if len(data) < 8:
        raise corrupt(f"only {len(data)} bytes, shorter than the 8-byte header length")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > min(len(data) - 8, _MAX_HEADER_BYTES):
        raise corrupt(f"header length {header_len} exceeds the {len(data) - 8} bytes that "
                      "follow (truncated, or not a safetensors file)")
    try:
        header = json.loads(data[8:8 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise corrupt(f"the header is not JSON ({err})") from None
    if not isinstance(header, dict):
        raise corrupt("the header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise corrupt("__metadata__ is not a JSON object")
    body = memoryview(data)[8 + header_len:]
    arrays = {key: _read_tensor(key, info, body, corrupt) for key, info in header.items()}
    _check_coverage(header, len(body), corrupt)
    tensors = {key: _to_tensor(array, header[key]["dtype"], target) for key, array in arrays.items()}

    structure_json = metadata.get(_STRUCTURE_KEY)
    if structure_json is None:
        order = sorted(header, key=lambda k: header[k]["data_offsets"][0])
        return {key: tensors[key] for key in order}
    try:
        structure = json.loads(structure_json)
    except (TypeError, ValueError) as err:
        raise corrupt(f"the structure in __metadata__ is not JSON ({err})") from None
    return _decode(structure, tensors, corrupt)


def _read_tensor(key: str, info: Any, body: memoryview, corrupt) -> np.ndarray:
    if not isinstance(info, dict):
        raise corrupt(f"entry '{key}' is not a JSON object")
    npdtype = _FROM_SAFETENSORS.get(info.get("dtype"))
    if npdtype is None:
        raise corrupt(f"tensor '{key}' has unsupported dtype {info.get('dtype')!r} "
                      f"(ember reads {', '.join(_FROM_SAFETENSORS)})")
    shape = info.get("shape")
    if not isinstance(shape, list) or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape):
        raise corrupt(f"tensor '{key}' has an invalid shape {shape!r}")
    offsets = info.get("data_offsets")
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)):
        raise corrupt(f"tensor '{key}' has invalid data_offsets {offsets!r}")
    begin, end = offsets
    if not 0 <= begin <= end <= len(body):
        raise corrupt(f"tensor '{key}' spans bytes [{begin}, {end}) but the data section has "
                      f"{len(body)} bytes (truncated?)")
    expected = math.prod(shape) * npdtype.itemsize
    if end - begin != expected:
        raise corrupt(f"tensor '{key}' of shape {shape} and dtype {info['dtype']} needs "
                      f"{expected} bytes, its data_offsets give {end - begin}")
    array = np.frombuffer(body[begin:end], dtype=npdtype).reshape(shape)
    if npdtype == np.bool_ and array.size and array.view(np.uint8).max() > 1:
        raise corrupt(f"bool tensor '{key}' holds bytes other than 0 and 1")
    return array


def _check_coverage(header: dict, body_len: int, corrupt) -> None:
    """The byte ranges must tile the data section, as the safetensors spec requires."""
    position = 0
    for key in sorted(header, key=lambda k: tuple(header[k]["data_offsets"])):
        begin, end = header[key]["data_offsets"]
        if begin != position:
            raise corrupt(f"tensor '{key}' starts at byte {begin}, expected {position} "
                          "(overlapping or gapped data)")
        position = end
    if position != body_len:
        raise corrupt(f"the data section has {body_len} bytes but the tensors use {position}")


def _to_tensor(array: np.ndarray, code: str, target) -> Tensor:
    if code == "BF16":
        # Widened to float32 (bits in the top half), then narrowed exactly.
        widened = (array.astype("<u4") << 16).view("<f4")
        raw = _C.from_numpy(np.array(widened, copy=True, order="C")).to(_C.DType.bfloat16)
    else:
        raw = _C.from_numpy(np.array(array, copy=True, order="C"))
    out = Tensor._make(raw, False, None, 0)
    if target is not None and str(target) != "cpu":
        out = out.to(target)
    return out


def _decode(node: Any, tensors: dict[str, Tensor], corrupt) -> Any:
    if node is None or isinstance(node, (bool, str)):
        return node
    if not isinstance(node, dict) or len(node) != 1:
        raise corrupt(f"unexpected node {str(node)[:80]!r} in the structure")
    ((tag, value),) = node.items()
    try:
        if tag == "T":
            return tensors[value]
        if tag == "I":
            return int(value)
        if tag == "F":
            return float(value)
        if tag == "L":
            return [_decode(v, tensors, corrupt) for v in value]
        if tag == "U":
            return tuple(_decode(v, tensors, corrupt) for v in value)
        if tag in ("D", "O"):
            cls = OrderedDict if tag == "O" else dict
            return cls((_decode(k, tensors, corrupt), _decode(v, tensors, corrupt))
                       for k, v in value)
    except KeyError:
        raise corrupt(f"the structure names tensor {value!r}, which the file lacks") from None
    except (TypeError, ValueError):
        raise corrupt(f"malformed {tag!r} node in the structure") from None
    raise corrupt(f"unknown node tag {tag!r} in the structure")

