"""The master key at start-up and in the CLI: a store's keys need their master key, `kam status`
tells encryption and erasure, `kam keys rotate` re-wraps every data key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import pytest
from tests.support import TEST_MASTER_KEY

from kam_api.bootstrap import open_application, open_services
from kam_api.settings import Settings
from kam_domain.application import KamApplication
from kam_domain.commands import ErasePersonalData, IdentifyStakeholder, RegisterAccount
from kam_domain.values import BuyingRole, Envelope, PersonalData, ServiceProfile
from kam_store.crypto import MasterKey, MasterKeyError
from kam_store.env import library_env
from kam_store.features import store_features

KAM = str(Path(sys.executable).with_name("kam"))
SRC = str(Path(__file__).resolve().parents[2] / "src")
OTHER_KEY = MasterKey.generate_base64()
WHY = Envelope(actor="ann", reason="asked by the person")


def identify(app: KamApplication, name: str) -> UUID:
    account = app.handle(
        RegisterAccount(
            name=f"Acme {name}",
            industry="Retail",
            region="EMEA",
            service_profile=ServiceProfile.LIGHT,
        ),
        meta=WHY,
    ).id
    return app.handle(
        IdentifyStakeholder.of(
            account,
            PersonalData(name=name, email=f"{name.lower()}@example.com"),
            title=None,
            buying_role=BuyingRole.USER,
            influence=2,
            reports_to=None,
        ),
        meta=WHY,
    ).id


def kam(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KAM_MASTER_KEY")}
    return subprocess.run(
        [KAM, *args],
        env={**clean, "PYTHONPATH": SRC, "KAM_DATABASE_URL": database_url, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kam: "), done.stderr
    return lines[0]


@pytest.fixture
def keyed_store(database_url: str) -> str:
    """A store with two people sealed under TEST_MASTER_KEY, one of them erased."""
    with open_services(Settings(database_url=database_url, master_key=TEST_MASTER_KEY)) as s:
        identify(s.app, "Dana")
        s.app.handle(ErasePersonalData(stakeholder_id=identify(s.app, "Lee")), meta=WHY)
    return database_url


def test_a_store_with_keys_refuses_to_start_without_its_master_key(keyed_store: str) -> None:
    with pytest.raises(MasterKeyError, match="no master key is set"):
        open_application(Settings(database_url=keyed_store, master_key=None))
    with pytest.raises(MasterKeyError, match="is not the one that wraps"):
        open_application(Settings(database_url=keyed_store, master_key=OTHER_KEY))
    assert "KAM_MASTER_KEY" in one_line_error(kam(keyed_store, "status"))
    assert "not the one" in one_line_error(kam(keyed_store, "serve", KAM_MASTER_KEY=OTHER_KEY))
    assert "base64" in one_line_error(kam(keyed_store, "status", KAM_MASTER_KEY="not a key"))


def test_status_tells_encryption_keys_erasures_and_personal_data_in_clear(
    database_url: str,
) -> None:
    # Before encryption: the library's plain mapper.
    legacy = KamApplication(
        env=library_env(database_url, pool_size=2), store_features=store_features
    )
    try:
        identify(legacy, "Old")
    finally:
        legacy.close()
    plain = kam(database_url, "status")
    assert plain.returncode == 0, plain.stderr
    assert "stored in CLEAR" in plain.stdout
    assert "events holding personal data in clear: 1" in plain.stdout
    with open_services(Settings(database_url=database_url, master_key=TEST_MASTER_KEY)) as s:
        identify(s.app, "Dana")
        s.app.handle(ErasePersonalData(stakeholder_id=identify(s.app, "Lee")), meta=WHY)
    done = kam(database_url, "status", KAM_MASTER_KEY=TEST_MASTER_KEY)
    assert done.returncode == 0, done.stderr
    key_id = MasterKey.from_base64(TEST_MASTER_KEY).key_id
    assert f"encrypted per person (master key id {key_id})" in done.stdout
    assert "people with keys: 1, erased people: 1" in done.stdout
    assert "events holding personal data in clear: 1 (written before encryption" in done.stdout


def test_rotation_keeps_data_readable_with_the_new_key_only(
    keyed_store: str, tmp_path: Path
) -> None:
    new_key = tmp_path / "new.key"
    assert kam(keyed_store, "keys", "new", str(new_key)).returncode == 0
    assert kam(keyed_store, "keys", "new", str(new_key)).returncode == 1  # never overwritten
    done = kam(
        keyed_store,
        "keys",
        "rotate",
        "--new-key-file",
        str(new_key),
        KAM_MASTER_KEY=TEST_MASTER_KEY,
    )
    assert done.returncode == 0, done.stderr
    assert "re-wrapped 1 data keys" in done.stdout
    with pytest.raises(MasterKeyError):
        open_application(Settings(database_url=keyed_store, master_key=TEST_MASTER_KEY))
    settings = Settings(database_url=keyed_store, master_key=None, master_key_file=str(new_key))
    with open_services(settings) as services:
        names = {
            s.display_name
            for s in (services.app.get_stakeholder(i) for i in stakeholders(services.app))
        }
    assert names == {"Dana", "(erased)"}


def stakeholders(app: KamApplication) -> list[UUID]:
    return [
        n.originator_id
        for n in app.recorder.select_notifications(1, limit=100)
        if n.topic.endswith("Relationship.Identified")
    ]


def test_copy_store_writes_the_log_into_a_new_store(keyed_store: str, tmp_path: Path) -> None:
    new_store = f"sqlite:///{tmp_path / 'copy' / 'kam.db'}"
    done = kam(keyed_store, "keys", "copy-store", "--to", new_store, KAM_MASTER_KEY=TEST_MASTER_KEY)
    assert done.returncode == 0, done.stderr
    assert "copied 7 events" in done.stdout
    again = kam(
        keyed_store, "keys", "copy-store", "--to", new_store, KAM_MASTER_KEY=TEST_MASTER_KEY
    )
    assert again.returncode == 1 and "already holds events" in again.stderr
    settings = Settings(database_url=new_store, master_key=TEST_MASTER_KEY)
    with open_services(settings) as services:
        names = {services.app.get_stakeholder(i).display_name for i in stakeholders(services.app)}
    assert names == {"Dana", "(erased)"}
