"""The content policy refuses exactly the prompts its rule names (spec.policy): the substring clues checked first
never let a blocked term through, whatever the case or the script of its letters."""

from __future__ import annotations

import random
import re
import sys

import pytest

from spec import policy

EVERY_CHARACTER = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
PROMPTS = [
    "A serene Japanese garden with cherry blossoms at sunset, photorealistic",
    "NSFW art",
    "nſfw art",
    "a NUDİTY study",
    "nudıty",
    "self-harm",
    "SELF-HARM awareness",
    "selfharm",
    "terrorist attack",
    "terrorist  attack",
    "a gore-fest",
    "gory",
    "x-nude",
    "prenude",
    "nude_",
    "massacre.",
    "MASSACRE",
    "maſſacre",
    "bloodbath!",
    "decapitated",
    "pornographic",
    "beheading",
    "the sim_content_policy_violation trigger",
    "",
]


def _reference(prompt: str) -> bool:
    """The rule as written: the trigger phrase anywhere, or a blocked term as a whole word, case-insensitively."""
    return policy.TRIGGER_PHRASE.lower() in prompt.lower() or policy._BLOCKED.search(prompt) is not None


def _random_prompts(count: int) -> list[str]:
    """Blocked terms, parts of them and their letters' other cases, among word characters and separators."""
    rng = random.Random(7)
    pieces = [*policy.BLOCKED_TERMS, *(term[:3] for term in policy.BLOCKED_TERMS), "ſ", "ı", "İ", "K", "-", " ", "_", "a", "É", "."]
    prompts = []
    for _ in range(count):
        words = [rng.choice(pieces) for _ in range(rng.randint(1, 6))]
        prompts.append("".join(word.upper() if rng.random() < 0.3 else word for word in words))
    return prompts


@pytest.mark.parametrize("prompt", PROMPTS)
def test_a_prompt_is_refused_exactly_when_the_rule_names_it(prompt: str) -> None:
    assert policy.violates_policy(prompt) == _reference(prompt)


def test_generated_prompts_are_refused_exactly_when_the_rule_names_them() -> None:
    prompts = _random_prompts(20_000)
    assert sum(map(_reference, prompts)) > 1_000, "the sample holds refused prompts"
    assert [policy.violates_policy(p) for p in prompts] == [_reference(p) for p in prompts]


def test_a_clues_letters_match_no_character_that_lower_cases_to_another() -> None:
    letters = set("".join(policy._CLUES))
    assert not letters & set(policy.EXOTIC_CASE_LETTERS)
    for letter in letters:
        others = {c for c in re.findall(re.escape(letter), EVERY_CHARACTER, re.IGNORECASE) if c.lower() != letter}
        assert not others, f"{letter!r} also matches {others}"


def test_the_exotic_letters_are_exotic() -> None:
    for letter in policy.EXOTIC_CASE_LETTERS:
        assert any(c.lower() != letter for c in re.findall(letter, EVERY_CHARACTER, re.IGNORECASE))
