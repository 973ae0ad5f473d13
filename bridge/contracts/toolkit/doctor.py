"""The `threadbridge doctor` rows every adapter writes alike: a check that passed or failed
(with the fix), and a host it could not reach, so each adapter's folder holds only its checks."""

from __future__ import annotations

from collections.abc import Awaitable

import httpx

from bridge.contracts.adapter import Finding, Findings


def reason(exc: BaseException) -> str:
    """What went wrong, for a row: the message, or the exception's name when it has none (a
    bare timeout)."""
    return str(exc) or type(exc).__name__


def verdict(
    findings: Findings,
    part: str,
    passed: bool,
    *,
    ok: str,
    failed: str,
    fix: str,
    status: Finding = Finding.FAIL,
) -> None:
    """One row for `part`: `ok` when the check passed, else `failed` at `status` with its fix."""
    if passed:
        findings.add(part, Finding.OK, ok)
    else:
        findings.add(part, status, failed, fix)


def unreachable(findings: Findings, part: str, where: str, exc: BaseException, fix: str) -> None:
    """A failed row naming the host the check could not reach, and why."""
    findings.add(part, Finding.FAIL, f"cannot reach {where}: {reason(exc)}", fix)


async def reaching(check: Awaitable[None], findings: Findings, part: str, fix: str) -> None:
    """Run `check` over httpx; an HTTP error it raises becomes a failed row naming the host
    (`part` itself when the error is about an answer, not the connection)."""
    try:
        await check
    except httpx.HTTPError as exc:
        where = exc.request.url.host if isinstance(exc, httpx.RequestError) else part
        unreachable(findings, part, where, exc, fix)
