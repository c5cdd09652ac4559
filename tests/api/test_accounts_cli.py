"""``kam accounts list``: the key accounts from the portfolio, filtered by name (``--q``), as
lines or CSV, with the read models brought up to date first. Both backends."""

from __future__ import annotations

import csv
import io

from typer.testing import CliRunner

from kam_api.cli import cli
from kam_domain.application import KamApplication
from kam_domain.commands import RegisterAccount
from kam_domain.values import Envelope, ServiceProfile
from kam_store.env import library_env
from kam_store.features import store_features

NAMES = ("Zürich Réassurance", "Acme Industrial", "=Formula Foods")


def register_accounts(database_url: str) -> None:
    app = KamApplication(env=library_env(database_url, pool_size=2), store_features=store_features)
    try:
        for name in NAMES:
            command = RegisterAccount(
                name=name, industry="Retail", region="EMEA", service_profile=ServiceProfile.STANDARD
            )
            app.handle(command, meta=Envelope(actor="dora"))
    finally:
        app.close()


def test_kam_accounts_list_by_name_and_filtered_by_q(database_url: str) -> None:
    # Given three accounts in a store the read models have not seen yet
    register_accounts(database_url)
    runner = CliRunner()
    env = {"KAM_DATABASE_URL": database_url, "KAM_PG_POOL_SIZE": "2"}
    # When listing them all, and those whose name contains "zurich"
    everything = runner.invoke(cli, ["accounts", "list"], env=env)
    zurich = runner.invoke(cli, ["accounts", "list", "--q", "zurich"], env=env)
    # Then every account is a line, by name; q keeps only the match, accents ignored
    assert everything.exit_code == 0, everything.output
    lines = [line.split("\t") for line in everything.stdout.splitlines()]
    assert [cells[0] for cells in lines] == sorted(NAMES)
    assert all(len(cells) == 6 for cells in lines)
    assert zurich.exit_code == 0, zurich.output
    assert [line.split("\t")[0] for line in zurich.stdout.splitlines()] == ["Zürich Réassurance"]


def test_kam_accounts_list_as_csv_guards_formulas(database_url: str) -> None:
    # Given the accounts
    register_accounts(database_url)
    env = {"KAM_DATABASE_URL": database_url, "KAM_PG_POOL_SIZE": "2"}
    # When listing them as CSV
    result = CliRunner().invoke(cli, ["accounts", "list", "--csv", "--q", "foods"], env=env)
    # Then a header and the one matching row, its formula made text
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout, newline="")))
    assert [r["name"] for r in rows] == ["'=Formula Foods"]


def test_kam_accounts_list_refuses_a_bad_sort_tier_or_blank_q(database_url: str) -> None:
    env = {"KAM_DATABASE_URL": database_url, "KAM_PG_POOL_SIZE": "2"}
    runner = CliRunner()
    bad_sort = runner.invoke(cli, ["accounts", "list", "--sort", "size"], env=env)
    blank = runner.invoke(cli, ["accounts", "list", "--q", " "], env=env)
    bad_tier = runner.invoke(cli, ["accounts", "list", "--tier", "gold"], env=env)
    for result in (bad_sort, blank, bad_tier):
        assert result.exit_code == 2 and "Invalid value" in result.output
