"""The interaction log: every impression, columnar, in memory; Parquet on request.

Two tables, row-aligned:

* ``observed``: what a platform records (user, video, step, position, watch ratio, like,
  share, comment, not-interested, share parent). With a privacy epsilon set, its like bits
  are the randomized-response ones.
* ``hidden``: what only the simulator knows: the true like bit and the true utility of
  each impression (for welfare metrics).

Recommenders see the observed table through :class:`LogView` and never the hidden one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .table import ColumnTable

OBSERVED_SCHEMA = {
    "user": (np.int32, ()),
    "video": (np.int32, ()),
    "step": (np.int32, ()),
    "position": (np.uint8, ()),
    "watch_ratio": (np.float32, ()),
    "liked": (np.bool_, ()),
    "shared": (np.bool_, ()),
    "commented": (np.bool_, ()),
    "not_interested": (np.bool_, ()),
    "share_parent": (np.int32, ()),
}
HIDDEN_SCHEMA = {
    "liked_true": (np.bool_, ()),
    "utility": (np.float32, ()),
}


class LogView:
    """Read-only access to the observed log: the platform's own records.

    Attributes are read-only numpy views (``user``, ``video``, ``step``, ``position``,
    ``watch_ratio``, ``liked``, ``shared``, ``commented``, ``not_interested``,
    ``share_parent``); ``share_parent`` is the user who shared the video to this user, or -1.
    """

    __slots__ = ("_table", "_step_starts")

    def __init__(self, table: ColumnTable, step_starts: list[int]):
        self._table = table
        self._step_starts = step_starts

    def __len__(self) -> int:
        return len(self._table)

    def __getattr__(self, name: str) -> np.ndarray:
        if name in OBSERVED_SCHEMA:
            return self._table.column(name)
        raise AttributeError(name)

    def rows_since(self, step: int) -> slice:
        """Row range of every impression logged at ``step`` or later."""
        starts = self._step_starts
        if step <= 0 or not starts:
            return slice(0, len(self._table))
        if step >= len(starts):
            return slice(len(self._table), len(self._table))
        return slice(starts[step], len(self._table))

    def column(self, name: str, rows: slice | None = None) -> np.ndarray:
        rows = rows or slice(0, None)
        return self._table.column(name, rows.start or 0, rows.stop)

    def like_matrix(self, n_users: int, n_videos: int) -> sp.csr_matrix:
        """Sparse users x videos matrix of observed likes (1 where liked)."""
        liked = self._table.column("liked")
        u = self._table.column("user")[liked]
        v = self._table.column("video")[liked]
        m = sp.csr_matrix((np.ones(len(u), np.float32), (u, v)), shape=(n_users, n_videos))
        m.data[:] = 1.0
        return m


class InteractionLog:
    """Every impression of a run; the engine appends one block per step."""

    def __init__(self, capacity: int = 1 << 16):
        self.observed = ColumnTable(OBSERVED_SCHEMA, capacity)
        self.hidden = ColumnTable(HIDDEN_SCHEMA, capacity)
        self.step_starts: list[int] = []  # row index where each step's block starts
        self._like_cache: tuple[int, tuple[int, int], sp.csr_matrix] | None = None

    def __len__(self) -> int:
        return len(self.observed)

    def append(self, step: int, observed: dict[str, np.ndarray], hidden: dict[str, np.ndarray]) -> None:
        while len(self.step_starts) <= step:
            self.step_starts.append(len(self.observed))
        self.observed.append(**observed)
        self.hidden.append(**hidden)

    def view(self) -> LogView:
        """The platform's read-only view (observed table only)."""
        return LogView(self.observed, self.step_starts)

    def like_matrix(self, n_users: int, n_videos: int, observed: bool = False) -> sp.csr_matrix:
        """Sparse users x videos like matrix: true likes by default, or the platform's."""
        if observed:
            return self.view().like_matrix(n_users, n_videos)
        key = (n_users, n_videos)
        if self._like_cache and self._like_cache[0] == len(self) and self._like_cache[1] == key:
            return self._like_cache[2]
        liked = self.hidden.column("liked_true")
        u = self.observed.column("user")[liked]
        v = self.observed.column("video")[liked]
        m = sp.csr_matrix((np.ones(len(u), np.float32), (u, v)), shape=key)
        m.data[:] = 1.0
        self._like_cache = (len(self), key, m)
        return m

    def to_frame(self):
        """The whole log as a pandas DataFrame (observed and hidden columns)."""
        import pandas as pd

        cols = {k: self.observed.column(k) for k in self.observed.names}
        cols.update({k: self.hidden.column(k) for k in self.hidden.names})
        return pd.DataFrame(cols)

    def to_parquet(self, path: str | Path) -> None:
        """Write the log to one Parquet file with pyarrow."""
        import pyarrow.parquet as pq

        from .table import arrow_table

        columns = {k: self.observed.column(k) for k in self.observed.names}
        columns.update({k: self.hidden.column(k) for k in self.hidden.names})
        pq.write_table(arrow_table(columns), str(path))

    def nbytes(self) -> int:
        return self.observed.nbytes() + self.hidden.nbytes()
