"""Who is using this browser session: the sign-in form in the sidebar (account and password, or the identity
provider through st.login when configured), the signed-in account checked once per script run, and what its
role allows."""
from __future__ import annotations

from typing import Any

import streamlit as st

from app.ui import cache

AUTH_KEY = "auth"  # st.session_state: an accounts.SignedIn (name and expiry); the role is read from the database


def _oidc_configured() -> bool:
    """Whether Streamlit's st.login has an identity provider ([auth] in .streamlit/secrets.toml)."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all
        return False


def _oidc_account(ctx: Any) -> Any:
    """The account named by the identity provider's e-mail (st.user), when st.login is configured and used."""
    from app.services import accounts

    if not _oidc_configured() or not getattr(st.user, "is_logged_in", False):
        return None
    email = str(st.user.get("email") or "")
    account = accounts.get(ctx, email) if email else None
    if account is None or account.disabled:
        return None
    if st.session_state.get("_oidc_audited") != email:
        from app.services import audit

        audit.record(ctx, actor=email, action="signin.ok", target=email, detail={"via": "oidc"})
        st.session_state["_oidc_audited"] = email
    return account


def current_account() -> Any:
    """The signed-in account (db.accounts.UserRow) of this browser session, checked once per run: the session
    must not have expired and the account must still be enabled; its role is read fresh from the database."""
    cached = st.session_state.get("_account")
    if cached is not None and cached[0] == run_number():
        return cached[1]
    from app.services import accounts

    signed = st.session_state.get(AUTH_KEY)
    account = accounts.session_account(cache.ctx(), signed) if signed is not None else None
    if signed is not None and account is None:
        st.session_state.pop(AUTH_KEY, None)
        st.session_state["_session_ended"] = True
    if account is None:
        account = _oidc_account(cache.ctx())
    st.session_state["_account"] = (run_number(), account)
    return account


def _client() -> str:
    """Who is guessing, for the per-client sign-in throttle: the browser's address, else this session."""
    try:
        address = st.context.ip_address
    except Exception:  # noqa: BLE001 - no request context (AppTest)
        address = None
    if address:
        return f"ip:{address}"
    if "_client_id" not in st.session_state:
        import secrets

        st.session_state["_client_id"] = secrets.token_hex(8)
    return f"session:{st.session_state['_client_id']}"


def sidebar_identity() -> None:
    """The sign-in form (account name and password, or the identity provider when configured), or who is signed
    in with a sign-out button."""
    from app.services import accounts

    sb = st.sidebar
    account = current_account()
    if account is not None:
        sb.text(f"Signed in as {account.name} ({account.role})")
        if st.session_state.get(AUTH_KEY) is not None and sb.button("Sign out", key="signout"):
            st.session_state.pop(AUTH_KEY, None)
            st.session_state.pop("_account", None)
            st.rerun()
        elif st.session_state.get(AUTH_KEY) is None and _oidc_configured() and sb.button("Sign out", key="signout"):
            st.logout()
        return
    if st.session_state.pop("_session_ended", False):
        sb.warning("Your session ended: sign in again.", icon=":material/timer_off:")
    if not accounts.list_accounts(cache.ctx()):
        sb.info("No account exists yet. Create the first admin on the command line:\n\n"
                "`python -m app users add admin --role admin`\n\n(it prints a password once; `make run` makes one "
                "for you), then sign in here.", icon=":material/person_add:")
    with sb.form("signin_form", border=True):
        st.caption("Sign in to correct labels (annotators) or to retrain and manage accounts (admins).")
        name = st.text_input("Account name", key="signin_name", max_chars=80)
        password = st.text_input("Password", type="password", key="signin_password")
        submitted = st.form_submit_button("Sign in", key="signin_submit")
    if submitted:
        result = accounts.sign_in(cache.ctx(), name=name.strip(), password=password, client=_client())
        if result.ok and result.account is not None:
            st.session_state[AUTH_KEY] = accounts.start_session(cache.ctx(), result.account)
            st.session_state.pop("_account", None)
            st.rerun()
        sb.error(result.reason, icon=":material/lock:")
    if _oidc_configured() and sb.button("Sign in with your identity provider", key="signin_oidc"):
        st.login()


def count_run() -> None:
    """Number this script run (called once per run by the entry file)."""
    st.session_state["_run_number"] = run_number() + 1


def run_number() -> int:
    return int(st.session_state.get("_run_number", 0))


def account_name() -> str | None:
    """The signed-in account's name, whatever its role."""
    account = current_account()
    return account.name if account is not None else None


def role() -> str | None:
    """The signed-in account's role (viewer, annotator or admin), None when nobody is signed in."""
    account = current_account()
    return account.role if account is not None else None


def can(action: str) -> bool:
    """Whether the signed-in account's role allows `action` (app.services.accounts.ACTIONS)."""
    from app.services.accounts import role_allows

    return role_allows(role(), action)


def needs(action: str, doing: str) -> str:
    """One line for a person whose role may not do `action`: which account `doing` needs and how to get one (for
    st.info; no user text in it: the account's name is not repeated)."""
    from app.services.accounts import ACTIONS

    need = ACTIONS[action]
    mine = role()
    if mine is None:
        return f"{doing} needs an {need} account or higher: sign in in the sidebar."
    return (f"{doing} needs an {need} account or higher, and you are signed in as a {mine}: an admin can change "
            f"your role on Accounts & audit log (or `python -m app users role NAME {need}`).")


def annotator() -> str | None:
    """The name label changes are stamped with: the signed-in account when it may label, else None."""
    return account_name() if can("label") else None


def is_admin() -> bool:
    return role() == "admin"
