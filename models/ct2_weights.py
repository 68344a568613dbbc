"""Read the variables of a CTranslate2 ``model.bin`` (binary format 5 and 6) as numpy arrays.

Layout (little-endian): version ``u32``; spec name (``u16`` length + bytes); spec revision
``u32``; variable count ``u32``; per variable: name, rank ``u8``, dimensions ``u32`` each,
data type ``u8``, byte count ``u32``, data; then aliases (count, pairs of names).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import numpy.typing as npt

from pipelines.core.errors import ModelUnavailableError

DTYPES: dict[int, type[np.generic]] = {
    0: np.float32,
    1: np.int8,
    2: np.int16,
    3: np.int32,
    4: np.float16,
}
VERSIONS = (5, 6)


def read_variables(path: Path, prefix: str = "") -> dict[str, npt.NDArray[np.generic]]:
    """The variables whose names start with ``prefix`` (prefix removed), as read-only arrays."""
    data = path.read_bytes()
    offset = 0

    def take(fmt: str) -> int:
        nonlocal offset
        (value,) = struct.unpack_from(fmt, data, offset)
        offset += struct.calcsize(fmt)
        return int(value)

    def text() -> str:
        nonlocal offset
        length = take("<H")
        value = data[offset : offset + length].rstrip(b"\0").decode("utf-8")
        offset += length
        return value

    try:
        version = take("<I")
        if version not in VERSIONS:
            raise ModelUnavailableError(str(path), f"CTranslate2 binary version {version}")
        text()  # spec name
        take("<I")  # spec revision
        out: dict[str, npt.NDArray[np.generic]] = {}
        for _ in range(take("<I")):
            name = text()
            shape = [take("<I") for _ in range(take("<B"))]
            dtype = DTYPES.get(take("<B"))
            size = take("<I")
            if dtype is None:
                raise ModelUnavailableError(str(path), f"variable {name}: unknown data type")
            if name.startswith(prefix):
                count = size // np.dtype(dtype).itemsize
                array = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
                out[name[len(prefix) :]] = array.reshape(shape)
            offset += size
    except struct.error as exc:
        raise ModelUnavailableError(str(path), "truncated CTranslate2 model file") from exc
    return out
