"""API keys: who a bearer token is, and which limits it gets.

Three sources, checked in order: keys from a `--keys` TOML file, the document's example key, and ready-made
test keys `pk_test_<tier>_<anything>`. A keys file looks like:

    [keys.pk_live_acme]
    tier = "enterprise"
    images_per_minute = 600      # enterprise keys may set their own limits
    images_per_day = 250000

    [providers.openai]           # limits of every key on a native provider face (default: the key's tier)
    images_per_minute = 5
    images_per_day = 200
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.engine.errors import ApiError, quoted
from simulator.state.base import Limits
from simulator.toml_file import NotToml, is_whole, parse_toml, read_text
from spec import errors, tiers
from spec.models import PROVIDERS

# Decision: a key is 8 to 200 characters of letters, digits, "_" and "-"; anything else is malformed.
KEY_PATTERN = re.compile(r"[A-Za-z0-9_\-]{8,200}")
KEY_FORMAT = "8-200 of A-Z a-z 0-9 _ -"
"""KEY_PATTERN as an error message says it."""
KEY_HINT = (
    f"perf-image-sim accepts {tiers.TEST_KEY_PREFIX}<tier>_<anything> (<tier>: {', '.join(tiers.TIERS)}), "
    f"{tiers.DOCUMENT_EXAMPLE_KEY} and the keys of its --keys file."
)
"""Said after the refusal of a key, on the Perf API and every native face alike: a tier typo (`pk_test_gold_x`) or a
real provider key picked up from the environment names no tier, and the refusal alone does not say which keys work."""


@dataclass(frozen=True)
class Tenant:
    key: str
    tier: str
    limits: Limits
    limits_from: str | None = None
    """Where `limits` come from when not from the tier (a keys file's `[providers.NAME]` table), for messages."""


_TIER_LIMITS = {name: Limits(tier.images_per_minute, tier.images_per_day) for name, tier in tiers.TIERS.items()}


def _tier_limits(tier: str) -> Limits:
    return _TIER_LIMITS[tier]


KEY_TABLES = ("keys", "providers")
SCENARIO_TABLES = ("simulator", "faults")
"""The other tables of a scenario file (simulator.scenario), which also serves as the run's keys file."""
KEY_FIELDS = ("tier", "images_per_minute", "images_per_day")
PROVIDER_FIELDS = ("images_per_minute", "images_per_day")


def field_above_every_table(name: str, value: object) -> str | None:
    """What to write for a key's or a provider's field written above every table, its table line forgotten (no table
    is called so), or None for any other name: the hint `[keys]` and `[providers]` give for one written under them."""
    if name not in KEY_FIELDS or isinstance(value, dict):
        return None
    if name not in PROVIDER_FIELDS:
        return f"{name} is a field of [keys.<key>]; write it under a [keys.<the key>] line"
    return (
        f"{name} is a field of [providers.<provider>] and of an enterprise key's [keys.<key>]; write it under a "
        f"[providers.<provider>] or [keys.<the key>] line; providers: {', '.join(PROVIDERS)}"
    )


def known_fields_only(entry: dict[str, Any], known: tuple[str, ...], where: str, error: type[ValueError] = ValueError) -> None:
    """Refuse a field a file's reader would not read (this registry's, a scenario's), before any check of the fields
    it does (so the message names the typo, not the field the typo was meant to be)."""
    extra = sorted(set(entry) - set(known))
    if extra:
        raise error(f"{where}: unknown field {quoted(extra[0])}; fields: {', '.join(known)}")


def _table(data: dict[str, Any], name: str, path: str | Path) -> dict[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise ValueError(f"{path}: [{name}] must be a table")
    return table


def _limits(entry: dict[str, Any], default: Limits | None, where: str) -> Limits:
    """Limits of at least one image a minute and no fewer a day than a minute (else nothing could be admitted)."""
    values = []
    for name in ("images_per_minute", "images_per_day"):
        value = entry.get(name, getattr(default, name, None))
        if not is_whole(value) or value < 1:
            raise ValueError(f"{where}: {name} must be a whole number of at least 1, got {quoted(value)}")
        values.append(value)
    if values[1] < values[0]:
        raise ValueError(f"{where}: images_per_day ({values[1]}) is below images_per_minute ({values[0]})")
    return Limits(values[0], values[1])


def bearer_token(authorization: str | None) -> str | None:
    """The key of an `Authorization: Bearer <key>` header, or None when there is none."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


class KeyRegistry:
    def __init__(self, configured: dict[str, Tenant] | None = None, provider_limits: dict[str, Limits] | None = None) -> None:
        self._configured = dict(configured or {})
        self._provider_limits = dict(provider_limits or {})

    @classmethod
    def from_file(cls, path: str | Path | None, scenario: str | Path | None = None, text: str | None = None) -> KeyRegistry:
        """Read a keys file, refusing (ValueError naming the file and the entry) anything it cannot honour; `text`: the
        file's text as the run read it at start (SimulatorConfig.file_texts), else the file is read now."""
        if path is None:
            return cls()
        try:
            data = parse_toml(read_text(path) if text is None else text)
        except NotToml as exc:
            raise ValueError(f"{path}: {exc}") from None
        if not data:
            # Decision: refused, as an empty scenario is (simulator.scenario): a keys file that is empty or only
            # comments is a failed template render, a `>` that truncated it or a /dev/stdin left unattached, and
            # read as no keys the run starts without the keys and limits the file was meant to give.
            tables = " or ".join(f"[{table}]" for table in KEY_TABLES)
            raise ValueError(f"{path}: the file holds no table ({tables}), only blanks or comments; is it the right file?")
        return cls.from_tables(data, path, scenario)

    @classmethod
    def from_tables(cls, data: dict[str, Any], path: str | Path, scenario: str | Path | None = None) -> KeyRegistry:
        """The keys of a keys file's tables (`path` names the file in messages).

        `scenario` is the run's scenario file: when it is `path`, its other tables are its own (simulator.scenario
        reads them). Decision: in a keys file they are refused, pointing to --scenario, even when they are right:
        ignored, a seed or a fault rule written there would make a run other than the one the file asks for."""
        own = {*KEY_TABLES, *SCENARIO_TABLES} if scenario is not None and str(scenario) == str(path) else set(KEY_TABLES)
        extra = sorted(set(data) - own)
        if extra and extra[0] in SCENARIO_TABLES:
            written = f"[[{extra[0]}]]" if isinstance(data[extra[0]], list) else f"[{extra[0]}]"
            raise ValueError(
                f"{path}: {written} belongs in a scenario file: give it with --scenario (a keys file takes [keys] and [providers])"
            )
        hint = field_above_every_table(extra[0], data[extra[0]]) if extra else None
        if hint is not None:
            raise ValueError(f"{path}: {hint}")
        if extra:
            what = f"table [{extra[0]}]" if isinstance(data[extra[0]], dict | list) else f"field {extra[0]} outside every table"
            raise ValueError(f"{path}: unknown {what}; tables: {', '.join(f'[{t}]' for t in KEY_TABLES)}")
        tenants: dict[str, Tenant] = {}
        for key, entry in _table(data, "keys", path).items():
            where = f"{path}: key {key!r}"
            if key in KEY_FIELDS and not isinstance(entry, dict):  # a key's field, its [keys.<key>] line forgotten
                raise ValueError(f"{path}: [keys] holds one table per key: write [keys.<the key>] above {key} = {quoted(entry)}")
            if not KEY_PATTERN.fullmatch(key):
                raise ValueError(f"{where} is malformed ({KEY_FORMAT})")
            if not isinstance(entry, dict):
                raise ValueError(f'{where} must be a table, e.g. [keys.{key}] with tier = "pro"')
            known_fields_only(entry, KEY_FIELDS, f"{path}: [keys.{key}]")
            if "tier" not in entry:  # it was pro, which nothing said: a forgotten line became a tier
                raise ValueError(f"{where} has no tier; give tier = one of {', '.join(map(repr, tiers.TIERS))}")
            tier = entry["tier"]
            if not isinstance(tier, str) or tier not in tiers.TIERS:
                raise ValueError(f"{where} has unknown tier {quoted(tier)}; tiers: {', '.join(tiers.TIERS)}")
            if tier != "enterprise" and ({"images_per_minute", "images_per_day"} & entry.keys()):
                raise ValueError(f"{where}: only enterprise keys set their own limits")
            tenants[key] = Tenant(key, tier, _limits(entry, _tier_limits(tier), where))
        provider_limits: dict[str, Limits] = {}
        for provider, entry in _table(data, "providers", path).items():
            where = f"{path}: [providers.{provider}]"
            if provider in PROVIDER_FIELDS and not isinstance(entry, dict):  # its [providers.<provider>] line forgotten
                raise ValueError(
                    f"{path}: [providers] holds one table per provider: write [providers.<provider>] above "
                    f"{provider} = {quoted(entry)}; providers: {', '.join(PROVIDERS)}"
                )
            if provider not in PROVIDERS:
                raise ValueError(f"{where}: unknown provider; providers: {', '.join(PROVIDERS)}")
            if isinstance(entry, list):
                raise ValueError(f"{where} must be a table, written [providers.{provider}] (one pair of brackets, not two)")
            if not isinstance(entry, dict):
                raise ValueError(f"{where} must be a table with images_per_minute and images_per_day, got {quoted(entry)}")
            known_fields_only(entry, PROVIDER_FIELDS, where)
            if not set(PROVIDER_FIELDS) <= entry.keys():
                raise ValueError(f"{where} needs images_per_minute and images_per_day")
            provider_limits[provider] = _limits(entry, None, where)
        return cls(tenants, provider_limits)

    def limits_on(self, provider: str, tenant: Tenant) -> Tenant:
        """The tenant as a native provider face sees it: that provider's configured limits, else its tier's."""
        limits = self._provider_limits.get(provider)
        return Tenant(tenant.key, tenant.tier, limits, f"[providers.{provider}] of the keys file") if limits else tenant

    def lookup(self, key: str) -> Tenant | None:
        if key in self._configured:
            return self._configured[key]
        tier = tiers.tier_named_by(key)
        return Tenant(key, tier, _tier_limits(tier)) if tier else None

    def configured(self) -> list[Tenant]:
        return list(self._configured.values())

    def authenticate(self, authorization: str | None) -> Tenant:
        """The tenant of an `Authorization: Bearer <key>` header, or a 401 saying what is wrong."""
        if not authorization:
            raise ApiError(errors.AUTHENTICATION_ERROR, "Missing API key: send 'Authorization: Bearer <key>'")
        token = bearer_token(authorization)
        if token is None:
            raise ApiError(errors.AUTHENTICATION_ERROR, "Malformed Authorization header: expected 'Bearer <key>'")
        return self.authenticate_key(token)

    def authenticate_key(self, token: str) -> Tenant:
        """The tenant of a key, or a 401 whose first sentence says what is wrong with it and whose second, KEY_HINT,
        which keys the simulator accepts."""
        if not KEY_PATTERN.fullmatch(token):
            raise ApiError(errors.AUTHENTICATION_ERROR, f"Malformed API key: expected {KEY_FORMAT}. {KEY_HINT}")
        tenant = self.lookup(token)
        if tenant is None:
            raise ApiError(errors.AUTHENTICATION_ERROR, f"Incorrect API key provided: {token[:8]}****. {KEY_HINT}")
        return tenant
