"""`threadbridge doctor`'s Teams rows: credentials, keys and the messaging endpoint."""

from __future__ import annotations

from adapters.teams.doctor import check_teams
from bridge.doctor.report import FAIL, OK, Report
from tests.teams_kit import teams_bridge, teams_settings


async def test_doctor_checks_token_keys_and_endpoint(redis_url: str, prefix: str) -> None:
    async with teams_bridge(redis_url, prefix) as env:
        report = Report()
        endpoint = env.teams.bot_endpoints[0]
        await check_teams(teams_settings(env.teams), report, endpoint)
        assert [(r.part, r.status) for r in report.rows] == [
            ("teams token", OK),
            ("teams keys", OK),
            ("teams endpoint", OK),
        ]
        wrong = Report()
        await check_teams(teams_settings(env.teams, app_password="nope"), wrong)
        (row, _) = wrong.rows
        assert row.status == FAIL and "AADSTS7000215" in row.detail
        assert "nope" not in row.detail
