"""Debian's Chromium, headless, driven through Playwright with the system browser as its executable.

Playwright is never asked to download a browser (no `playwright install`): it starts /usr/bin/chromium, which
scripts/test.sh installs from Debian. Where either is missing the browser tests skip with the reason, except in CI
(`CI=true`), where a missing browser is a failure: the tests must run there.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip
VIEWPORT = {"width": 1280, "height": 900}


def browser_missing() -> str | None:
    """Why no browser test can run here, or None."""
    if CHROMIUM is None:
        return "no Chromium on this machine (scripts/test.sh installs Debian's chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -e '.[dev]')"
    return None


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@contextmanager
def chromium_page(width: int = VIEWPORT["width"], height: int = VIEWPORT["height"], phone: bool = False) -> Iterator[Page]:
    """A fresh page in a fresh headless Chromium, closed afterwards; `phone`: as a phone's browser lays it out (its
    meta viewport honoured, touch)."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM is not None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_FLAGS), headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": height}, is_mobile=phone, has_touch=phone)
            yield page
        finally:
            browser.close()
