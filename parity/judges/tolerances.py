"""The tolerance table: data (``tolerances.json``), reported beside every figure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TABLE = Path(__file__).with_name("tolerances.json")


@dataclass(frozen=True)
class Tolerances:
    table: dict
    source: str

    @classmethod
    def load(cls, path: str | Path = DEFAULT_TABLE) -> "Tolerances":
        try:
            table = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"tolerance table {path}: {exc}") from None
        for level in ("forward", "backward"):
            if "max_rel" not in table.get(level, {}).get("default", {}):
                raise ValueError(f"tolerance table {path}: '{level}.default.max_rel' is missing")
        return cls(table, str(path))

    def max_rel(self, level: str, blob: str, target_layer: str | None = None) -> float:
        """The ``max_rel`` tolerance of ``blob`` at ``level`` ('forward' or 'backward').

        A blob entry wins over a target entry (backward passes from
        ``target_layer``), which wins over the level's default.
        """
        entry = self.table[level]
        chosen = entry.get("blobs", {}).get(blob) or entry.get("targets", {}).get(target_layer) or entry["default"]
        return float(chosen["max_rel"])
