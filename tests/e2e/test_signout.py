"""A password change ends a signed-in browser session: two Chromium contexts sign in (an annotator and the admin),
the annotator's password is changed on the command line (another process, acting as an admin), and the
annotator's tab is signed out at its next interaction while the admin's tab stays signed in."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import ROOT, TIMEOUT_MS
from tests.e2e.test_browser import settle
from tests.fixtures import AS_ADMIN, Workspace

NAME, OLD, NEW = "browser-bea", "first secret of bea 71", "second secret of bea 72"


def _tab(browser: Browser) -> Page:
    """A tab in its own browser context (its own cookies and Streamlit session)."""
    tab = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    return tab


def _sign_in(tab: Page, server: str, name: str, password: str) -> None:
    tab.goto(server)
    tab.wait_for_selector('[data-testid="stApp"]')
    settle(tab)
    sidebar = tab.get_by_test_id("stSidebar")
    sidebar.get_by_role("textbox", name="Account name").fill(name)
    sidebar.get_by_role("textbox", name="Password").fill(password)
    sidebar.get_by_role("button", name="Sign in").click()
    settle(tab)
    expect(sidebar.get_by_text(f"Signed in as {name}")).to_be_visible()


def _interact(tab: Page, page: str) -> None:
    """Go to another page through the navigation: a script run in the same Streamlit session (no reload)."""
    tab.get_by_test_id("stSidebarNav").get_by_role("link", name=page).click()
    settle(tab)


def test_a_password_change_signs_out_the_open_browser_session(browser: Browser, server: str, workspace: Workspace,
                                                              artifacts: Path) -> None:
    env = {**os.environ, **workspace.env(), "PYTHONPATH": str(ROOT)}

    def users(*args: str, stdin: str) -> None:
        done = subprocess.run([sys.executable, "-m", "app", "users", *args, "--password-stdin", *AS_ADMIN], cwd=ROOT,
                              env=env,
                              input=stdin + "\n", capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]

    users("add", NAME, "--role", "annotator", stdin=OLD)
    bea, admin = _tab(browser), _tab(browser)
    try:
        _sign_in(bea, server, NAME, OLD)
        _sign_in(admin, server, workspace.admin, workspace.admin_password)
        _interact(bea, "Annotate")  # still signed in while the password is unchanged
        expect(bea.get_by_test_id("stSidebar").get_by_text(f"Signed in as {NAME}")).to_be_visible()

        users("passwd", NAME, stdin=NEW)  # another process: the command line

        _interact(bea, "Browse")
        sidebar = bea.get_by_test_id("stSidebar")
        expect(sidebar.get_by_text("Your session ended: sign in again.")).to_be_visible()
        expect(sidebar.get_by_text(f"Signed in as {NAME}")).to_have_count(0)
        expect(sidebar.get_by_role("button", name="Sign in")).to_be_visible()
        bea.screenshot(path=str(artifacts / "signout-after-password-change.png"))
        _interact(admin, "Annotate")  # another account's session is untouched
        expect(admin.get_by_test_id("stSidebar").get_by_text(f"Signed in as {workspace.admin}")).to_be_visible()
        _sign_in(bea, server, NAME, NEW)  # the new password signs in again
    finally:
        bea.context.close()
        admin.context.close()
