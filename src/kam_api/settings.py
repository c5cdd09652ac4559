"""Settings from ``KAM_*`` environment variables (pydantic-settings), read once at start-up."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kam_api.auth import valid_email
from kam_api.digest.mail import SmtpSettings
from kam_api.report.document import check_base_url
from kam_domain.values import Tier, is_currency
from kam_projections.health_model import HealthWeights
from kam_projections.money import ClvAssumptions
from kam_store.checkpoint import SigningKey
from kam_store.crypto import MasterKey, MasterKeyError
from kam_store.env import library_env
from kam_store.url import DatabaseURL, PostgresTarget


class Settings(BaseSettings):
    """Every setting of the service; each field reads ``KAM_<FIELD>`` from the environment."""

    model_config = SettingsConfigDict(env_prefix="KAM_", extra="ignore")

    database_url: str = Field(
        "sqlite:///./var/kam.db",
        description="sqlite:///path/to/file.db (embedded default) or postgresql://user:pass@host/db",
    )
    read_database_url: str | None = Field(
        None,
        description="postgresql://... of a streaming replica of database_url: the API's GET "
        "endpoints query the read models there (min_position waits for the replica to have "
        "applied the position); writes, sessions, users and LISTEN stay on database_url. "
        "Name one server, not a pool of replicas behind one address",
    )
    snapshot_interval: int = Field(50, ge=1, description="Snapshot an aggregate every N events")
    aggregate_cache_size: int = Field(
        10_000,
        ge=0,
        description="Aggregates kept in memory between commands (0 = none); a stale copy is "
        "caught by the version check at save and the command re-run on fresh state",
    )
    command_retries: int = Field(
        8,
        ge=0,
        le=100,
        description="Times a command sent without If-Match is re-run on fresh state after "
        "another writer changed the same aggregate first (jittered waits); an If-Match'd one "
        "answers 412 instead",
    )
    idempotency_hours: float = Field(
        24.0,
        gt=0,
        le=24 * 30,
        description="Hours a command's Idempotency-Key and its stored answer are kept; a "
        "repeat after that runs the command again (expired keys are deleted as new ones "
        "are written)",
    )
    liveness_ttl: float = Field(
        2.0,
        ge=0,
        description="Seconds a 'this account has not exited' check is trusted before re-reading",
    )
    embedded_projector: bool | None = Field(
        None,
        description="Run the projector inside the API process; default: yes on SQLite, no on "
        "PostgreSQL (run `kam project` there)",
    )
    read_wait_seconds: float = Field(
        5.0, gt=0, le=60, description="How long a read with min_position waits before a 503"
    )
    projector_poll_interval: float = Field(1.0, gt=0, description="Seconds between log polls")
    readiness_max_lag: int = Field(
        10_000, ge=0, description="Events the read models may lag before /readyz says not ready"
    )
    health_weight_coverage: int = Field(25, ge=0, description="Weight of stakeholder coverage")
    health_weight_recency: int = Field(20, ge=0, description="Weight of recency of contact")
    health_weight_sentiment: int = Field(20, ge=0, description="Weight of sentiment")
    health_weight_voice_of_customer: int = Field(15, ge=0, description="Weight of NPS / CSAT")
    health_weight_execution: int = Field(10, ge=0, description="Weight of plan execution")
    health_weight_assessment: int = Field(10, ge=0, description="Weight of formal assessment")
    tier_cap_strategic: int = Field(10, ge=0, description="Accounts in the strategic tier")
    tier_cap_key: int = Field(30, ge=0, description="Accounts in the key tier")
    tier_cap_emerging: int = Field(60, ge=0, description="Accounts in the emerging tier")
    reporting_currency: str = Field(
        "EUR",
        description="ISO 4217 currency the portfolio's money is reported in; rates are recorded "
        "to it (POST /exchange-rates). Changing it needs `kam rebuild --model portfolio`",
    )
    clv_retention: float = Field(
        0.85,
        gt=0,
        lt=1,
        description="Yearly retention rate r of the customer lifetime value: "
        "annual gross margin x r / (1 + d - r)",
    )
    clv_discount_rate: float = Field(
        0.10, ge=0, lt=1, description="Yearly discount rate d of the customer lifetime value"
    )
    pg_pool_size: int = Field(20, ge=1, description="PostgreSQL connections kept open")
    pg_max_overflow: int = Field(10, ge=0, description="Extra connections under load")
    pg_connect_timeout: int = Field(5, ge=1, description="Seconds to connect or check out")
    today: date | None = Field(
        None,
        description="Fix 'today' (YYYY-MM-DD) for overdue actions, health recency, reports and "
        "the dates commands may carry (see future_tolerance_days), "
        "for demos and tests; default: the system date, read afresh each time",
    )
    future_tolerance_days: int = Field(
        1,
        ge=0,
        le=366,
        description="Days after today (the clock above) that what happened (occurred_on, an "
        "interaction's day) may be dated; later dates are refused with 422",
    )
    public_url: str | None = Field(
        None,
        description="The service's address as its readers reach it (e.g. "
        "https://kam.example.com): the base of the links in handover reports (the API "
        "otherwise uses the request's own address; `kam handover-report` writes plain text)",
    )
    session_idle_minutes: int = Field(
        480,
        ge=1,
        le=7 * 24 * 60,
        description="A web session not used for this many minutes has ended: sign in again",
    )
    session_max_hours: int = Field(
        72, ge=1, le=90 * 24, description="A web session ends this many hours after sign-in"
    )
    session_cache_seconds: float = Field(
        5.0,
        ge=0,
        le=60,
        description="Seconds a web session found is kept in memory (0: read on every page); "
        "a session ended in another process of the service may be accepted this long",
    )
    secure_cookies: bool | None = Field(
        None,
        description="Mark the web session cookie Secure (sent over HTTPS only). Unset: when "
        "the request came over HTTPS (behind a proxy, run uvicorn with --proxy-headers) or "
        "public_url is https",
    )
    pg_lock_timeout: int = Field(5, ge=1, description="Seconds to wait for the events lock")
    database_setup: bool = Field(
        True,
        description="Create (or update) the event store's tables and functions at start-up "
        "(PostgreSQL). false when the service connects as the service role of `kam db-setup`, "
        "which may not replace the owner's functions: run `kam db-setup` before it starts",
    )
    ledger_key: SecretStr | None = Field(
        None, description="The ledger's Ed25519 signing key: base64 of the 32-byte private seed"
    )
    ledger_key_file: Path | None = Field(
        None, description="A file holding the ledger key (base64), if ledger_key is not set"
    )
    ledger_origin: str = Field(
        "kam-ledger.dev/log",
        pattern=r"^[^\s+]{1,200}$",
        description="The log's name in its checkpoints (also the signing key's name)",
    )
    ledger_tail_entries: int = Field(
        100, ge=0, description="Chain entries /readyz re-hashes at the tail of the log"
    )
    master_key: SecretStr | None = Field(
        None,
        description="Base64 of 32 random bytes: the key that wraps each person's data key, so "
        "personal data is stored encrypted and erasure destroys it; unset (and no "
        "master_key_file): personal data is stored in clear",
    )
    master_key_file: str | None = Field(
        None, description="A file holding the master key (instead of master_key)"
    )
    key_cache_seconds: float = Field(
        1.0,
        ge=0,
        description="Seconds an unwrapped data key is kept in memory; another replica may "
        "still read an erased person's data for this long after the erasure",
    )
    key_cache_size: int = Field(
        20_000, ge=0, description="People whose unwrapped data key is kept in memory, at most"
    )
    token_cache_size: int = Field(
        10_000, ge=0, description="API tokens whose user is kept in memory (30 s), at most"
    )
    session_cache_size: int = Field(
        10_000, ge=0, description="Web sessions kept in memory (see session_cache_seconds), at most"
    )
    health_cache_size: int = Field(
        512, ge=0, description="Accounts' computed health reports kept in memory, at most"
    )
    page_cache_size: int = Field(
        256,
        ge=0,
        description="Rendered parts of the portfolio page kept in memory while the read models "
        "stand still, at most (table pages; its summaries and charts take 1/8 of it)",
    )
    answer_cache_size: int = Field(
        128,
        ge=0,
        description="API answers (the portfolio's pages and summary) kept serialised while the "
        "read models stand still, at most",
    )
    sql_cache_size: int = Field(
        2048, ge=0, description="SQL texts kept translated to the driver's parameter style"
    )
    projector_row_cache_size: int = Field(
        20_000,
        ge=0,
        description="Read-model rows the projector keeps in memory between batches, per table",
    )
    rebuild_row_cache_size: int = Field(
        5_000,
        ge=0,
        description="Read-model rows a rebuild keeps in memory between chunks, per table: "
        "what bounds its memory however long the log",
    )
    projector_owner_cache_size: int = Field(
        50_000,
        ge=0,
        description="Plans' and relationships' accounts the projector keeps in memory, at most",
    )
    webhook_delivery: bool = Field(
        True, description="Deliver webhooks from this process (one process per subscription)"
    )
    webhook_timeout_seconds: float = Field(
        5.0, gt=0, le=60, description="Seconds a webhook receiver has to answer"
    )
    webhook_backoff_seconds: float = Field(
        1.0, gt=0, description="First retry delay of a failed delivery (doubling, jittered)"
    )
    webhook_backoff_cap_seconds: float = Field(
        300.0, gt=0, description="Longest delay between two attempts at one delivery"
    )
    webhook_max_attempts: int = Field(
        10, ge=1, description="Failed attempts at one event before the subscription is paused"
    )
    webhook_max_failing_seconds: float = Field(
        86_400.0, gt=0, description="Seconds of failing before the subscription is paused"
    )
    webhook_poll_interval: float = Field(
        1.0, gt=0, description="Seconds between the deliverer's polls when nothing wakes it"
    )

    smtp_host: str | None = Field(
        None, description="The SMTP server `kam digest --send` sends the digests through"
    )
    smtp_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Its port; default 465 with smtp_ssl, else 587 with smtp_starttls, else 25",
    )
    smtp_username: str | None = Field(None, description="Log in as this user (none: no login)")
    smtp_password: SecretStr | None = Field(None, description="The SMTP user's password")
    smtp_starttls: bool = Field(False, description="Upgrade the connection with STARTTLS")
    smtp_ssl: bool = Field(False, description="Connect over TLS from the start (SMTPS)")
    smtp_from: str | None = Field(
        None, description="The digests' From address (e.g. kam@example.com)"
    )
    smtp_timeout: float = Field(10.0, gt=0, le=300, description="Seconds to wait for the server")
    log_format: Literal["auto", "json", "text"] = Field(
        "auto",
        description="Log lines of `kam serve`: json (one object a line), text, or auto (text "
        "on a terminal, JSON otherwise); each carries the request's correlation id",
    )
    metrics_public: bool = Field(
        False,
        description="Serve GET /metrics to anyone (a Prometheus on a private network); "
        "false: only to the bearer of metrics_token or an admin",
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="A bearer token that may read GET /metrics (Prometheus's scrape "
        "credentials), besides admins",
    )

    max_body_bytes: int = Field(
        1_048_576,
        ge=1024,
        description="Largest request body accepted, in bytes; a larger one (announced by "
        "Content-Length or found while reading a chunked body) is refused with 413 unread",
    )

    _database: DatabaseURL | None = PrivateAttr(None)
    _read_database: DatabaseURL | None = PrivateAttr(None)

    @field_validator("reporting_currency")
    @classmethod
    def _iso_currency(cls, code: str) -> str:
        if not is_currency(code):
            raise ValueError(f"{code!r} is not an ISO 4217 currency code, e.g. EUR")
        return code

    @property
    def clv(self) -> ClvAssumptions:
        return ClvAssumptions(self.clv_retention, self.clv_discount_rate)

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        return None if value is None or not value.strip() else check_base_url(value)

    @model_validator(mode="after")
    def _parse_database_url(self) -> Self:
        self._database = DatabaseURL.parse(self.database_url)  # refuses an unknown scheme
        self._read_database = self._parse_read_database()
        return self

    def _parse_read_database(self) -> DatabaseURL | None:
        """``read_database_url`` parsed (None if unset): a PostgreSQL replica of a PostgreSQL
        store, in the store's schema; anything else is refused at start-up, not at a read."""
        if self.read_database_url is None or not self.read_database_url.strip():
            return None
        replica = DatabaseURL.parse(self.read_database_url.strip())
        primary = self.database.target
        if not isinstance(primary, PostgresTarget) or not isinstance(
            replica.target, PostgresTarget
        ):
            raise ValueError(
                "read_database_url names a PostgreSQL replica of a PostgreSQL database_url"
            )
        schema = replica.target.schema
        if schema is not None and schema != primary.schema:
            raise ValueError(
                f"read_database_url's schema {schema!r} is not database_url's "
                f"({primary.schema or 'the default'}): a replica holds the same schema"
            )
        return replica

    @property
    def read_database(self) -> DatabaseURL | None:
        """The streaming replica the API's read-model queries go to, or None (the store's
        own database); parsed again only if the field was changed since."""
        text = (self.read_database_url or "").strip()
        if (self._read_database.text if self._read_database else "") != text:
            self._read_database = self._parse_read_database()
        return self._read_database

    @property
    def database(self) -> DatabaseURL:
        """``database_url``, parsed once (again only if the field was changed since)."""
        if self._database is None or self._database.text != self.database_url:
            self._database = DatabaseURL.parse(self.database_url)
        return self._database

    def ledger_signing_key(self) -> SigningKey | None:
        """The configured signing key (None if none is); raises ``CheckpointError`` for a key
        that does not read, ``OSError`` for a key file that cannot be read."""
        if self.ledger_key is not None and self.ledger_key.get_secret_value().strip():
            return SigningKey.from_base64(self.ledger_origin, self.ledger_key.get_secret_value())
        if self.ledger_key_file is not None:
            text = self.ledger_key_file.read_text(encoding="ascii")
            return SigningKey.from_base64(self.ledger_origin, text)
        return None

    def master(self) -> MasterKey | None:
        """The master key the settings name (``MasterKeyError``, one line, if it is unusable);
        None: plaintext mode."""
        key = self.master_key.get_secret_value() if self.master_key is not None else ""
        if key.strip() and self.master_key_file:
            raise MasterKeyError("set KAM_MASTER_KEY or KAM_MASTER_KEY_FILE, not both")
        if key.strip():
            return MasterKey.from_base64(key)
        if not self.master_key_file:
            return None
        path = Path(self.master_key_file)
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as error:
            raise MasterKeyError(f"KAM_MASTER_KEY_FILE {path}: {error}") from None
        return MasterKey.from_base64(text, source=f"KAM_MASTER_KEY_FILE {path}")

    def smtp(self) -> SmtpSettings:
        """The SMTP server the digests go through; ``ValueError`` (one line) when the settings
        do not name one, or name it inconsistently."""
        if not self.smtp_host or not self.smtp_host.strip():
            raise ValueError("set KAM_SMTP_HOST (and KAM_SMTP_FROM) to send digests")
        if not self.smtp_from or not valid_email(self.smtp_from):
            raise ValueError("set KAM_SMTP_FROM to the digests' sender address")
        if self.smtp_ssl and self.smtp_starttls:
            raise ValueError("set KAM_SMTP_SSL or KAM_SMTP_STARTTLS, not both")
        port = self.smtp_port or (465 if self.smtp_ssl else 587 if self.smtp_starttls else 25)
        password = self.smtp_password.get_secret_value() if self.smtp_password else None
        return SmtpSettings(
            host=self.smtp_host.strip(),
            port=port,
            sender=self.smtp_from,
            username=self.smtp_username or None,
            password=password,
            starttls=self.smtp_starttls,
            ssl=self.smtp_ssl,
            timeout=self.smtp_timeout,
        )

    def clock(self) -> date:
        """Today: the fixed ``today`` if set, else the system date."""
        return self.today if self.today is not None else date.today()

    @property
    def tier_caps(self) -> dict[Tier, int]:
        return {
            Tier.STRATEGIC: self.tier_cap_strategic,
            Tier.KEY: self.tier_cap_key,
            Tier.EMERGING: self.tier_cap_emerging,
        }

    @property
    def runs_embedded_projector(self) -> bool:
        if self.embedded_projector is None:
            return not self.is_postgres
        return self.embedded_projector

    @property
    def health_weights(self) -> HealthWeights:
        return HealthWeights(
            coverage=self.health_weight_coverage,
            recency=self.health_weight_recency,
            sentiment=self.health_weight_sentiment,
            voice_of_customer=self.health_weight_voice_of_customer,
            execution=self.health_weight_execution,
            assessment=self.health_weight_assessment,
        )

    @property
    def is_postgres(self) -> bool:
        return self.database.is_postgres

    def library_env(self) -> dict[str, str]:
        """The eventsourcing library's environment for these settings (the one translation)."""
        return library_env(
            self.database,
            pool_size=self.pg_pool_size,
            max_overflow=self.pg_max_overflow,
            connect_timeout=self.pg_connect_timeout,
            lock_timeout=self.pg_lock_timeout,
            create_tables=self.database_setup,
        )
