"""Scenario files: one TOML file that sets up a simulator at start-up (`perf-sim --scenario FILE`).

A scenario holds what a team wants every run to begin with: the seed, the clock, its keys and tiers (the same
`[keys.*]` and `[providers.*]` tables as a `--keys` file, read by `simulator.keys`), and fault rules (`[[faults]]`,
each a rule as `POST /_sim/faults` takes it). docs/scenario.md describes the format; docs/scenario.example.toml is
a complete example. Anything the simulator could not honour is refused before it starts serving, with a message
naming the table and the field, so a typo never turns into a silently different run.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from simulator.config import START_TIME_RANGE, SimulatorConfig, valid_start_time
from simulator.control.actions import WHOLE_FIELDS
from simulator.control.rules import RuleSpec, rule_spec_from_json
from simulator.engine.errors import ApiError, quoted
from simulator.keys import KEY_TABLES, SCENARIO_TABLES, KeyRegistry, field_above_every_table, known_fields_only
from simulator.state.base import CLOCK_MANUAL, CLOCK_REAL
from simulator.toml_file import NotToml, is_whole, parse_toml, read_text
from spec.model_names import KNOWN_MODEL_NAMES, is_known_model
from spec.models import MODELS

SIMULATOR_TABLE, FAULTS_TABLE = SCENARIO_TABLES
TABLES = (SIMULATOR_TABLE, *KEY_TABLES, FAULTS_TABLE)
TABLE_LINES = (*(f"[{table}]" for table in TABLES[:-1]), f"[[{FAULTS_TABLE}]]")
"""The tables as a message names them, as they are written: `[[faults]]` is an array of tables, and `[faults]` is
refused."""
SIMULATOR_FIELDS = ("seed", "clock", "start_time", "prompt_tokens")
UNIX_SECONDS = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")
"""A string that is Unix seconds written in quotes (`start_time = "1772442000"`), for the hint to drop them."""


class ScenarioError(ValueError):
    """A scenario file the simulator cannot honour; the message names the file, the table and the field."""


class ScenarioWarning(UserWarning):
    """A scenario's line the simulator honours but that may not mean what was meant (`Scenario.warnings`), as
    `simulator_running` warns of it; perf-sim prints it on stderr."""


@dataclass(frozen=True)
class Scenario:
    path: str
    text: str
    """The file's text as it was read and checked: the run uses this, never the path again (SimulatorConfig.file_texts)."""
    settings: dict[str, Any] = field(default_factory=dict)
    """Start-up settings of the [simulator] table, named as SimulatorConfig names them (seed, clock, start_time,
    prompt_tokens)."""
    faults: list[dict[str, Any]] = field(default_factory=list)
    """Fault rules as `POST /_sim/faults` bodies, in file order."""
    has_keys: bool = False
    """Whether the file has [keys.*] or [providers.*] tables (then it is also the run's keys file)."""
    warnings: tuple[str, ...] = ()
    """What the file says that the simulator honours but that may not be what was meant (a rule's model no face
    knows), each naming the file and the rule: said once as the run starts (perf-sim on stderr, simulator_running as
    a Python warning), never refused."""

    def rule_specs(self) -> list[RuleSpec]:
        return [rule_spec_from_json(rule) for rule in self.faults]

    def keys_file(self, given: str | None) -> str | None:
        """The run's keys file: this scenario when it has keys tables (and no other was `given`), else `given`."""
        if not self.has_keys:
            return given
        if given:
            raise ScenarioError(f"{self.path} has [keys] or [providers] tables: give keys in one place, not also in a keys file")
        return self.path

    def configure(self, config: SimulatorConfig, given: Collection[str] = ()) -> SimulatorConfig:
        """`config` with this scenario's settings, except those the caller set explicitly (`given`), and its keys."""
        settings = {name: value for name, value in self.settings.items() if name not in given}
        return replace(
            config,
            **settings,
            keys_file=self.keys_file(config.keys_file),
            scenario=self.path,
            file_texts={**config.file_texts, self.path: self.text},
        )


def start_time_seconds(value: object, where: str) -> float:
    """A Unix time, an ISO 8601 string or a TOML date-time (without a zone: UTC), in the range the clock can keep."""
    given = quoted(value)
    if isinstance(value, str):
        text = value
        try:
            # upper case: RFC 3339 allows a lower-case t and z (TOML's own date-times take them)
            value = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
        except ValueError:
            # a number in quotes is Unix seconds written as a string (the command line's --start-time takes them so)
            hint = "; write Unix seconds without quotes" if UNIX_SECONDS.fullmatch(text.strip()) else ""
            raise ScenarioError(f"{where}: not an ISO 8601 date-time: {given}{hint}") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if isinstance(value, datetime):
        seconds = (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise ScenarioError(f"{where}: must be Unix seconds or an ISO 8601 date-time, got {quoted(value)}")
    if not valid_start_time(seconds):
        raise ScenarioError(f"{where}: must be {START_TIME_RANGE}, got {given}")
    return seconds


def _settings(table: object, path: str) -> dict[str, Any]:
    where = f"{path}: [{SIMULATOR_TABLE}]"
    if not isinstance(table, dict):
        raise ScenarioError(f"{where} must be a table")
    known_fields_only(table, SIMULATOR_FIELDS, where, ScenarioError)
    settings: dict[str, Any] = {}
    if "seed" in table:
        if not is_whole(table["seed"]):
            raise ScenarioError(f"{where} seed: must be a whole number, got {quoted(table['seed'])}")
        settings["seed"] = table["seed"]
    if "clock" in table:
        if table["clock"] not in (CLOCK_REAL, CLOCK_MANUAL):
            raise ScenarioError(f"{where} clock: must be {CLOCK_REAL!r} or {CLOCK_MANUAL!r}, got {quoted(table['clock'])}")
        settings["clock"] = table["clock"]
    if "prompt_tokens" in table:
        if not isinstance(table["prompt_tokens"], bool):
            raise ScenarioError(f"{where} prompt_tokens: must be true or false, got {quoted(table['prompt_tokens'])}")
        settings["prompt_tokens"] = table["prompt_tokens"]
    if "start_time" in table:
        settings["start_time"] = start_time_seconds(table["start_time"], f"{where} start_time")
        if table.get("clock") != CLOCK_MANUAL:
            # Decision: as --start-time without --clock manual, refused: the real clock would quietly ignore it.
            raise ScenarioError(
                f'{where} start_time: sets where the manual clock starts; add clock = "manual" to [{SIMULATOR_TABLE}] (the real '
                "clock follows wall time, and a clock set outside the file, such as --clock manual, does not carry its start_time)"
            )
    return settings


def _model_warning(rule: dict[str, Any], where: str) -> str | None:
    """A warning for a rule whose `match.model` no face knows, which matches only requests naming that model: a typo
    (`dall-e3`), or a bad model on purpose, which a rule may target (so it is taken, unlike a rule that can never
    match, which is refused)."""
    model = rule.get("match", {}).get("model")
    if model is None or is_known_model(model):
        return None
    close = difflib.get_close_matches(model, KNOWN_MODEL_NAMES, n=1)
    guess = f"did you mean {close[0]!r}? " if close else ""
    return (
        f"{where}: match.model {quoted(model)} is no model the simulator knows, so the rule matches only requests naming "
        f"it; {guess}models: {', '.join(MODELS)} (and their providers' names for them)"
    )


def _fault(rule: object, number: int, path: str) -> dict[str, Any]:
    """A rule checked by the code that checks `POST /_sim/faults`, so the file and the API accept the same rules."""
    where = f"{path}: [[{FAULTS_TABLE}]] #{number}"
    if not isinstance(rule, dict):
        raise ScenarioError(f"{where} must be a table")
    try:
        rule_spec_from_json(rule)
    except ApiError as exc:
        raise ScenarioError(f"{where}: {exc.message}") from None
    action = rule["action"]  # an object: rule_spec_from_json took it
    for name, value in [("times", rule.get("times")), *((f"action.{name}", action.get(name)) for name in WHOLE_FIELDS)]:
        if isinstance(value, float):
            # Decision: a whole number in a scenario is a TOML integer, in [[faults]] as in [simulator] and [keys]
            # (toml_file.is_whole): TOML has a type for it, and `times = 2.0` is the slip `seed = 7.0` is, which the
            # file refused while it took the rule's as 2. The control API's JSON takes 2.0 as 2, as JSON Schema's
            # integer does: JSON has one type of number, and some encoders write a whole float with a point.
            raise ScenarioError(f"{where}: {name} must be a whole number, got {quoted(value)}")
    return rule


def load_scenario(path: str | Path, text: str | None = None) -> Scenario:
    """Read and check a scenario file (keys through `KeyRegistry`, so a keys table fails as it would in --keys);
    `text`: the file's text as the run read it at start (SimulatorConfig.file_texts), else the file is read now."""
    name = str(path)
    try:
        if text is None:
            text = read_text(path)
        data = parse_toml(text)
    except NotToml as exc:
        raise ScenarioError(f"{name}: {exc}") from None
    if not data:
        # Decision: refused. Every table is optional, but a file with none is a failed template render, a `>` that
        # truncated it, or a /dev/stdin a container was started without: taken, it was a plain run (seed 0, real
        # clock, no keys, no rules) in place of the committed scenario, with the banner naming the file.
        tables = ", ".join(TABLE_LINES[:-1]) + f" or {TABLE_LINES[-1]}"
        raise ScenarioError(f"{name}: the file holds no table ({tables}), only blanks or comments; is it the right file?")
    extra = sorted(set(data) - set(TABLES))
    if extra and extra[0] in SIMULATOR_FIELDS and not isinstance(data[extra[0]], dict):
        # a [simulator] setting written above every table, the header forgotten: no table is called so
        raise ScenarioError(f"{name}: {extra[0]} is a setting of [{SIMULATOR_TABLE}]; write it under a [{SIMULATOR_TABLE}] line")
    hint = field_above_every_table(extra[0], data[extra[0]]) if extra else None
    if hint is not None:
        raise ScenarioError(f"{name}: {hint}")
    if extra:
        what = f"table [{extra[0]}]" if isinstance(data[extra[0]], dict | list) else f"field {extra[0]} outside every table"
        raise ScenarioError(f"{name}: unknown {what}; tables: {', '.join(TABLE_LINES)}")
    settings = _settings(data.get(SIMULATOR_TABLE, {}), name)
    faults = data.get(FAULTS_TABLE, [])
    if not isinstance(faults, list):
        raise ScenarioError(f"{name}: [{FAULTS_TABLE}] must be an array of tables, written [[{FAULTS_TABLE}]]")
    rules = [_fault(rule, number, name) for number, rule in enumerate(faults, start=1)]
    try:
        KeyRegistry.from_tables(data, name, scenario=name)
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None
    warnings = (_model_warning(rule, f"{name}: [[{FAULTS_TABLE}]] #{number}") for number, rule in enumerate(rules, start=1))
    return Scenario(
        name,
        text,
        settings,
        rules,
        has_keys=any(table in data for table in KEY_TABLES),
        warnings=tuple(warning for warning in warnings if warning is not None),
    )
