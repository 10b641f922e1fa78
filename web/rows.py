"""Lists edited as rows of a form: a service's requirements and form fields, an office's
subsidy rules.

Each row's inputs are named ``{prefix}-{index}-{cell}`` (``req-3-name``). The page sends
them all at once; rows come back in index order and a row left blank is dropped. Adding and
removing rows works without script: the "add" and "remove" buttons submit the form with
``row_action`` (``add:req`` or ``remove:req:3``) and the page comes back with one row more or
less, nothing saved. With script (``static/js/app.js``) the same buttons add and remove rows
in place.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

ROW_ACTION = "row_action"
_CELL = re.compile(r"^(?P<prefix>[a-z]+)-(?P<index>\d{1,4})-(?P<cell>[a-z_]+)$")


@dataclass(frozen=True)
class RowAction:
    kind: str  # "add" or "remove"
    prefix: str
    index: int | None = None


def row_action(form: Mapping[str, Any]) -> RowAction | None:
    """The add/remove button that sent the form (without script), if any."""
    value = form.get(ROW_ACTION)
    if not isinstance(value, str):
        return None
    parts = value.split(":")
    if len(parts) == 2 and parts[0] == "add":
        return RowAction("add", parts[1])
    if len(parts) == 3 and parts[0] == "remove" and parts[2].isdigit():
        return RowAction("remove", parts[1], int(parts[2]))
    return None


def rows_from_form(form: Any, prefix: str, *, text_cells: Iterable[str],
                   remove: int | None = None) -> list[dict[str, str]]:
    """The rows of ``prefix`` in index order, each a dict of its cells (a ticked box is
    ``"1"``, an unticked one is missing). A row whose ``text_cells`` are all blank is dropped,
    as is the row numbered ``remove``."""
    rows: dict[int, dict[str, str]] = {}
    for key in list(form):
        match = _CELL.match(key)
        if not match or match["prefix"] != prefix:
            continue
        value = form.get(key)
        if not isinstance(value, str):
            continue
        rows.setdefault(int(match["index"]), {})[match["cell"]] = value.strip()
    texts = tuple(text_cells)
    return [row for index, row in sorted(rows.items())
            if index != remove and any(row.get(cell) for cell in texts)]


def slug_code(text: str, taken: set[str], *, sep: str = "_") -> str:
    """A code for a new row from its name (``Foto rumah tampak depan`` → ``foto_rumah_tampak``
    …), unique among ``taken``, matching ``core.catalog.schemas.CODE``."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    base = re.sub(r"[^a-z0-9]+", sep, plain).strip(sep)[:40] or "isian"
    if len(base) < 2:
        base = f"{base}{sep}1"
    code, n = base, 2
    while code in taken:
        code = f"{base}{sep}{n}"
        n += 1
    taken.add(code)
    return code


def row_errors(errors: Mapping[str, str], field: str) -> dict[int, list[str]]:
    """Messages of ``{field}.{i}.{cell}`` (and ``{field}.{i}``) grouped by row number."""
    out: dict[int, list[str]] = {}
    pattern = re.compile(rf"^{re.escape(field)}\.(\d+)(?:\.|$)")
    for name, message in errors.items():
        match = pattern.match(name)
        if match and message not in out.get(int(match[1]), []):
            out.setdefault(int(match[1]), []).append(message)
    return out


def split_list(text: str, *, spaces: bool = True) -> list[str]:
    """``005, 006 007`` → ``["005", "006", "007"]``: split at commas, semicolons, line ends
    and (unless ``spaces`` is False: ``0812 3456 0001`` is one phone) spaces."""
    pattern = r"[,;\s]+" if spaces else r"\s*[,;\n]+\s*"
    return [part.strip() for part in re.split(pattern, text or "") if part.strip()]
