"""Make the batch dimension of an ONNX model symbolic, without the ``onnx`` package.

YAHPO Gym's nb301 model declares its inputs and outputs with batch size 1 (``x_cat [1, 34]``),
although its graph computes every shape from the input (``Shape`` -> ``Gather``), so
onnxruntime refuses a batch of thousands. :func:`with_symbolic_batch` rewrites the serialized
``ModelProto`` (protobuf wire format, read and written here field by field) so that the first
dimension of every graph input and output is the named dimension ``batch``, and drops the
optional ``value_info`` shape hints. Nothing else changes: the nodes and weights are copied
byte for byte, so the model computes the same numbers. The result lives in memory only.

Field numbers (onnx.proto3): ModelProto.graph = 7; GraphProto.input = 11, output = 12,
value_info = 13; ValueInfoProto.type = 2; TypeProto.tensor_type = 1; Tensor.shape = 2;
TensorShapeProto.dim = 1; Dimension.dim_value = 1, dim_param = 2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


def _read_varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = out = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise ValueError("model: truncated or malformed protobuf varint (not an ONNX model?)")
        b = buf[i]
        i += 1
        out |= (b & 0x7F) << shift
        if b < 0x80:
            return out, i
        shift += 7


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _fields(buf: bytes) -> Iterator[tuple[int, int, bytes, bytes]]:
    """``(field number, wire type, raw key+value bytes, payload)`` of each field of a message."""
    i, n = 0, len(buf)
    while i < n:
        start = i
        key, i = _read_varint(buf, i)
        field, wt = key >> 3, key & 7
        if wt == _VARINT:
            _, i = _read_varint(buf, i)
            payload = b""
        elif wt == _I64:
            i += 8
            payload = b""
        elif wt == _I32:
            i += 4
            payload = b""
        elif wt == _LEN:
            ln, j = _read_varint(buf, i)
            payload = buf[j : j + ln]
            i = j + ln
        else:
            raise ValueError(f"model: unsupported protobuf wire type {wt} (not an ONNX model?)")
        if i > n:
            raise ValueError("model: truncated protobuf message (not an ONNX model?)")
        yield field, wt, buf[start:i], payload


def _len_field(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | _LEN) + _varint(len(payload)) + payload


def _rewrite(buf: bytes, field: int, fn: Callable[[bytes], bytes | None]) -> bytes:
    """Replace every length-delimited ``field`` of message ``buf`` by ``fn(payload)`` (None drops it)."""
    out = bytearray()
    for f, wt, raw, payload in _fields(buf):
        if f == field and wt == _LEN:
            new = fn(payload)
            if new is not None:
                out += _len_field(field, new)
        else:
            out += raw
    return bytes(out)


def _first_dim_symbolic(shape: bytes) -> bytes:
    seen = False

    def dim(payload: bytes) -> bytes:
        nonlocal seen
        if seen:
            return payload
        seen = True
        return _len_field(2, b"batch")  # Dimension{dim_param: "batch"}

    return _rewrite(shape, 1, dim)


def _value_info(vi: bytes) -> bytes:
    return _rewrite(vi, 2, lambda t: _rewrite(t, 1, lambda tt: _rewrite(tt, 2, _first_dim_symbolic)))


def _graph(g: bytes) -> bytes:
    g = _rewrite(g, 11, _value_info)
    g = _rewrite(g, 12, _value_info)
    return _rewrite(g, 13, lambda _: None)


def with_symbolic_batch(model: bytes) -> bytes:
    """The serialized ONNX ``model`` with a symbolic first dimension on its inputs and outputs."""
    if not any(f == 7 for f, *_ in _fields(model)):
        raise ValueError("model: no graph in this file (not an ONNX model?)")
    return _rewrite(model, 7, _graph)
