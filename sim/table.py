"""A growable columnar table: named numpy columns appended in blocks.

Capacity grows geometrically; readers get views of the filled rows, read-only, so
nothing downstream can corrupt the state it is shown.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


class ColumnTable:
    """Named columns of equal length, appended in blocks.

    Args:
        schema: column name -> (dtype, trailing shape), e.g. ``{"topics": (np.float32, (16,))}``.
        capacity: rows to reserve at first. Untouched reserved pages cost no memory.
    """

    def __init__(self, schema: Mapping[str, tuple[type | np.dtype, tuple[int, ...]]], capacity: int = 1024):
        self._schema = {k: (np.dtype(d), tuple(s)) for k, (d, s) in schema.items()}
        self._n = 0
        self._cols = {k: np.empty((max(capacity, 1),) + s, dtype=d) for k, (d, s) in self._schema.items()}

    def __len__(self) -> int:
        return self._n

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._schema)

    def append(self, **block: np.ndarray) -> None:
        """Append one block of rows; every column must be given, with equal lengths."""
        missing = set(self._schema) - set(block)
        extra = set(block) - set(self._schema)
        if missing or extra:
            raise KeyError(f"columns missing {sorted(missing)} / unknown {sorted(extra)}")
        lengths = {len(v) for v in block.values()}
        if len(lengths) != 1:
            raise ValueError(f"columns of unequal length: {sorted(lengths)}")
        m = lengths.pop()
        self._reserve(self._n + m)
        for k, v in block.items():
            self._cols[k][self._n : self._n + m] = v
        self._n += m

    def _reserve(self, rows: int) -> None:
        cap = len(next(iter(self._cols.values())))
        if rows <= cap:
            return
        new_cap = max(rows, int(cap * 1.5) + 1)
        for k, (d, s) in self._schema.items():
            grown = np.empty((new_cap,) + s, dtype=d)
            grown[: self._n] = self._cols[k][: self._n]
            self._cols[k] = grown

    def column(self, name: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """A read-only view of rows [start, stop) of one column."""
        stop = self._n if stop is None else min(stop, self._n)
        view = self._cols[name][start:stop]
        view.flags.writeable = False
        return view

    def writable(self, name: str) -> np.ndarray:
        """A writable view of one column's filled rows (for the engine's own updates)."""
        return self._cols[name][: self._n]

    def nbytes(self) -> int:
        """Bytes held by the filled rows."""
        return sum(self.column(k).nbytes for k in self._schema)

    def to_arrow(self):
        """The filled rows as a pyarrow Table (a column with a row shape, such as a topic
        mix, becomes a fixed-size list column)."""
        return arrow_table({k: self.column(k) for k in self._schema})


def arrow_table(columns: Mapping[str, np.ndarray]):
    """A pyarrow Table of equal-length numpy columns; 2-D columns become fixed-size lists."""
    import pyarrow as pa

    arrays = {}
    for name, values in columns.items():
        values = np.ascontiguousarray(values)
        if values.ndim == 1:
            arrays[name] = pa.array(values)
        else:
            width = int(np.prod(values.shape[1:]))
            arrays[name] = pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), width)
    return pa.table(arrays)
