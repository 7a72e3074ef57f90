"""Which of the run's keys a finding or a wait is about, named by the option that gives it (never the key itself).

A message that said "--generous-key KEY avoids this" for a 429 on a free key sent a user to buy a bigger key that
would not have shortened the wait: advice must follow the key that was refused.
"""

from __future__ import annotations

from contract_tests.target import Target, other_keys, stated_minute_limit
from spec import tiers

KEY_OPTION = "--key"
GENEROUS_OPTION = "--generous-key"
FREE_OPTION = "--free-key"
NOT_FREE_TIMES = 10
"""A --free-key whose answers state at least this many times the free tier's minute limit (or a paid tier's limit) is
likely not a free-tier key: the run's header says so."""


def key_option(target: Target, key: str | None) -> str:
    """The option naming `key`: `--key`, `--free-key #2`, `--generous-key`, `--tier-key pro=...`; on the simulator
    its ready-made keys stand in those options' places and are named by them."""
    if key is None:
        return "a key of the run"
    if key == target.key:
        return KEY_OPTION
    generous = target.generous_key if target.generous_key != target.key else None
    named = {given: option for option, given in other_keys(target.free_keys, generous, target.tier_keys)}
    return named.get(key, "a key of the run")


def bearer_key(request_headers: dict[str, str]) -> str | None:
    """The key a request was sent with (its Authorization: Bearer), or None."""
    value = next((v for k, v in request_headers.items() if k.lower() == "authorization"), "")
    scheme, _, token = value.partition(" ")
    return token if scheme == "Bearer" and token else None


def wait_advice(option: str, generous_given: bool) -> str:
    """What would have spared a wait for a 429 on the key `option` names (empty when nothing the run was given would)."""
    if option == GENEROUS_OPTION:
        if generous_given:
            return "the --generous-key given was spent too: give one with a higher limit"
        return "the simulator's generous key was spent: give --generous-key, a key with a higher limit"
    if option == KEY_OPTION:
        # Without --generous-key the generated traffic goes to --key; with one, --key carries only its own rules.
        if generous_given:
            return "--key's minute limit was spent by the rules that use it (a --generous-key would not change this)"
        return "give --generous-key, a key with a high limit, to run without waiting"
    if option.startswith(FREE_OPTION):
        free = tiers.TIERS["free"].images_per_minute
        return (
            f"the free tier's {free} images a minute were spent by earlier rate-limit rules on this key "
            "(no --generous-key helps): more --free-key keys spread those rules over more keys"
        )
    return ""


def free_key_warnings(target: Target) -> list[str]:
    """A line for the run's header for each `--free-key` whose probe's answer stated a paid tier's minute limit, or
    NOT_FREE_TIMES the free tier's or more: given an enterprise key as --free-key, the run failed the target by the
    document ("7 were admitted on a free key") for the user's mistake. The key is still judged as a free one: a target
    whose free tier has a paid tier's limit looks the same from here."""
    free = tiers.TIERS["free"].images_per_minute
    paid = {tiers.TIERS[name].images_per_minute: name for name in tiers.PAID_TIERS}
    lines = []
    for option, key in other_keys(target.free_keys, None, ()):
        stated = stated_minute_limit(target.base_url, key)
        if stated is None or stated <= free or (stated not in paid and stated < NOT_FREE_TIMES * free):
            continue
        whose = f"the {paid[stated]} tier's" if stated in paid else f"{stated / free:g} times the free tier's {free}"
        lines.append(
            f"perf-contract: warning: {option}'s answers state {stated} images a minute ({whose}): is it a free-tier key? "
            f"Its rate-limit rules will fail if it is not (they hold it to the free tier's {free} a minute)"
        )
    return lines
