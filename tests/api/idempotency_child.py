"""A child API process for the idempotency test: it sends one command with an idempotency key
and is killed (``os._exit``) right after the command's transaction commits, before the answer
is sent, as an API process that dies at the worst moment.

``python -m tests.api.idempotency_child <database_url> <token> <key> <json body>``; exits with
``KILLED`` once the commit happened (any other code: the test fails).
"""

from __future__ import annotations

import json
import os
import sys

from fastapi.testclient import TestClient
from tests.support import TEST_MASTER_KEY

from kam_api.main import create_app
from kam_api.settings import Settings

#: The exit code of a child killed right after its commit.
KILLED = 17


def main(database_url: str, token: str, key: str, body: str) -> None:
    settings = Settings(
        database_url=database_url,
        embedded_projector=False,
        pg_pool_size=2,
        master_key=TEST_MASTER_KEY,
    )
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        # Called with the position once the events are committed: die before answering.
        app.state.kam.saved_listeners.append(lambda _position: os._exit(KILLED))
        client.post(
            "/accounts",
            json=json.loads(body),
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
        )
    sys.exit(1)  # the hook never ran: nothing was committed


if __name__ == "__main__":
    main(*sys.argv[1:5])
