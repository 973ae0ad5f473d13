"""`threadbridge doctor`'s Teams rows: credentials, keys and the messaging endpoint, asked by
the real command of the adapter's `Doctored` declaration (the test Redis keeps no snapshots, so
the exit code is not asserted)."""

from __future__ import annotations

from pathlib import Path

from adapters.teams import TeamsAdapter
from bridge.contracts import Doctored
from bridge.doctor.report import FAIL, Report
from tests.procs import replica_env
from tests.teams_kit import teams_bridge, teams_env, teams_settings
from tests.test_doctor import row, run_doctor


async def test_doctor_checks_token_keys_and_endpoint(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    assert isinstance(TeamsAdapter, Doctored)
    async with teams_bridge(redis_url, prefix) as env:
        values = replica_env(redis_url, prefix, env.neuroflash) | teams_env(env.teams)
        values["TEAMS_MESSAGING_ENDPOINT"] = env.teams.bot_endpoints[0]
        _, output = await run_doctor(values, tmp_path)
        assert "messengers: teams" in row(output, "settings"), output
        for part in ("teams token", "teams keys", "teams endpoint"):
            assert " ok " in row(output, part), output
        wrong = Report()
        await TeamsAdapter.doctor(teams_settings(env.teams, app_password="nope"), wrong)
        (found, _) = wrong.rows
        assert found.status == FAIL and "AADSTS7000215" in found.detail
        assert "nope" not in found.detail
