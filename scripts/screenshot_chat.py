"""Screenshot the chat app answering a question, with the cited article open beside it.

    python app.py &                       # serves on 127.0.0.1:7860
    python scripts/screenshot_chat.py     # writes docs/screenshot-chat.png

Uses the system Chromium (Debian: apt-get install chromium), never a downloaded browser.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from playwright.sync_api import sync_playwright

QUESTION = "How many people have left Chechnya to join the fighting in Syria?"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-quic", "--no-first-run", "--disable-sync"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:7860/")
    parser.add_argument("--question", default=QUESTION)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs" / "screenshot-chat.png")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(120_000)
        page.goto(args.url)
        page.locator("#qa-header").get_by_text("documents indexed").wait_for()
        box = page.locator("#qa-question textarea")
        box.fill(args.question)
        box.press("Enter")
        page.locator("#qa-chat .qa-answer a.qa-cite").first.wait_for()
        page.locator("#qa-chat .qa-answer a.qa-cite").first.click()
        page.locator("#qa-article mark").wait_for()
        page.wait_for_timeout(500)  # let the scroll settle
        page.evaluate("window.scrollTo(0, 0)")  # keep the header in the picture; the article box keeps its scroll
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.out))
        browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
