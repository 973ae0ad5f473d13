"""What `threadbridge doctor` found, one row per checked part, printed as a table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bridge.contracts import Finding

OK, WARN, FAIL, SKIP = Finding.OK, Finding.WARN, Finding.FAIL, Finding.SKIP


@dataclass(frozen=True, slots=True)
class Row:
    part: str
    status: str
    detail: str
    fix: str = ""


class Report:
    """Rows in the order checked; broken when any row failed (plugins write to it as
    `bridge.contracts.Findings`)."""

    def __init__(self) -> None:
        self.rows: list[Row] = []

    def add(self, part: str, status: str, detail: str, fix: str = "") -> None:
        self.rows.append(Row(part, status, detail, fix))

    async def run(self, part: str, check: Callable[[], Awaitable[str]], fix: str) -> bool:
        """Run `check`; its answer is the detail of an ok row, an exception a failed row."""
        try:
            detail = await check()
        except Exception as exc:
            self.add(part, FAIL, _short(exc), fix)
            return False
        self.add(part, OK, detail)
        return True

    @property
    def broken(self) -> bool:
        return any(row.status == FAIL for row in self.rows)

    def table(self) -> str:
        header = Row("part", "status", "detail", "what to do")
        rows = [header, *self.rows]
        widths = [max(len(getattr(r, f)) for r in rows) for f in ("part", "status", "detail")]
        lines = []
        for row in rows:
            cells = [row.part, row.status, row.detail]
            line = "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
            lines.append(f"{line}  {row.fix}".rstrip())
        return "\n".join(lines)


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]
