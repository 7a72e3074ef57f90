"""The content policy refuses exactly the prompts its rule names (spec.policy): the substring clues checked first
never let a blocked term through, whatever the case or the script of its letters."""

from __future__ import annotations

import itertools
import random
import re
import sys

import pytest

from spec import policy

EVERY_CHARACTER = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)

# (prompt, refused?), written from the rule in spec/policy.py's docstring, not from its code.
PROMPTS: list[tuple[str, bool]] = [
    ("A serene Japanese garden with cherry blossoms at sunset, photorealistic", False),
    ("", False),
    # Any case, including the letters that case-insensitive matching takes for s and i.
    ("NSFW art", True),
    ("Nude", True),
    ("NUDE", True),
    ("nſfw art", True),
    ("a NUDİTY study", True),
    ("nudıty", True),
    ("nudİty", True),
    ("MASSACRE", True),
    ("maſſacre", True),
    ("Bloodbath", True),
    ("gory", True),
    ("decapitated", True),
    ("pornographic", True),
    ("beheading", True),
    # Spaces and punctuation end a word; letters, digits, "_" and "-" do not.
    ("massacre.", True),
    ("bloodbath!", True),
    ("(gore)", True),
    ("gore, blood", True),
    ("prenude", False),
    ("énude", False),
    ("nudeé", False),
    ("2nude", False),
    ("nude_", False),
    ("x-nude", False),
    ("nude-art", False),
    ("a gore-fest", False),
    ("ungory", False),
    ("beheadings", False),
    # A hyphenated term is one word, hyphen included.
    ("self-harm", True),
    ("SELF-HARM awareness", True),
    ("selfharm", False),
    ("self harm", False),
    ("x self-harm-y", False),
    # A two-word term: both words, one space between them.
    ("terrorist attack", True),
    ("Terrorist Attack!", True),
    ("terrorist  attack", False),
    ("terrorist\tattack", False),
    ("terrorist-attack", False),
    ("a terrorist attacks", False),
    # The trigger phrase anywhere, in any case, even inside a word.
    ("the sim_content_policy_violation trigger", True),
    ("xSIM_CONTENT_POLICY_VIOLATIONx", True),
    ("SIM_CONTENT_POLICY", False),
]

# Letters that case-insensitive matching takes for i or s, although str.lower() maps them elsewhere.
_OTHER_CASES = {"ı": "i", "İ": "i", "ſ": "s"}


def _is_word_character(c: str) -> bool:
    return c.isalnum() or c in "_-"


def _runs(text: str) -> list[str]:
    """The text cut into alternating runs of word characters (letters, digits, "_", "-") and of all else."""
    return ["".join(run) for _, run in itertools.groupby(text, key=_is_word_character)]


def _reference(prompt: str) -> bool:
    """The rule as written, from the term list alone: the trigger phrase anywhere, or a blocked term whose words
    are whole runs of word characters, one space apart, ignoring case."""
    if policy.TRIGGER_PHRASE.lower() in prompt.lower():
        return True
    runs = _runs("".join(_OTHER_CASES.get(c, c.lower()) for c in prompt))
    for term in policy.BLOCKED_TERMS:
        wanted = _runs(term)
        if any(runs[i : i + len(wanted)] == wanted for i in range(len(runs))):
            return True
    return False


def _random_prompts(count: int) -> list[str]:
    """Blocked terms, parts of them and their letters' other cases, among word characters and separators."""
    rng = random.Random(7)
    pieces = [*policy.BLOCKED_TERMS, *(term[:3] for term in policy.BLOCKED_TERMS), "ſ", "ı", "İ", "K", "-", " ", "_", "a", "É", "."]
    prompts = []
    for _ in range(count):
        words = [rng.choice(pieces) for _ in range(rng.randint(1, 6))]
        prompts.append("".join(word.upper() if rng.random() < 0.3 else word for word in words))
    return prompts


@pytest.mark.parametrize(("prompt", "refused"), PROMPTS)
def test_a_prompt_is_refused_exactly_when_the_rule_names_it(prompt: str, refused: bool) -> None:
    assert policy.violates_policy(prompt) == refused


@pytest.mark.parametrize(("prompt", "refused"), PROMPTS)
def test_the_reference_rule_agrees_with_the_written_examples(prompt: str, refused: bool) -> None:
    assert _reference(prompt) == refused


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
