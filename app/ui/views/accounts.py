"""Accounts & audit log (admins only): every account with its role and sign-in record, forms to add one, change
a role, reset a password or disable an account, and the append-only audit log."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app.services import accounts, audit
from app.ui import cache, components, session

st.title("Accounts & audit log")
components.show_flash()
if not session.can("accounts"):
    st.info(session.needs("accounts", "Managing accounts"), icon=":material/lock:")
    st.stop()
ctx = cache.ctx()
me = session.account_name() or "?"


def _when(value) -> str:  # noqa: ANN001 - datetime | None
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


rows = accounts.list_accounts(ctx)
st.dataframe(pd.DataFrame([{
    "name": a.name, "role": a.role, "disabled": a.disabled, "last sign-in": _when(a.last_sign_in_at),
    "failed sign-ins in a row": a.failed_count, "created": _when(a.created_at),
} for a in rows]), hide_index=True, key="accounts_table")

add, change = st.columns(2)
with add, st.form("accounts_add", clear_on_submit=True):
    st.subheader("Add an account")
    name = st.text_input("Name", key="accounts_add_name", max_chars=80)
    role = st.selectbox("Role", accounts.ROLES, index=1, key="accounts_add_role")
    password = st.text_input("Password (empty: a random one, shown once)", type="password", key="accounts_add_pw")
    if st.form_submit_button("Add", key="accounts_add_submit"):
        given = password or accounts.new_password()
        if components.attempt(accounts.create, ctx, name=name.strip(), role=role, password=given, actor=me):
            shown = "" if password else f" Its password (shown once): `{given}`"
            components.flash("success", "Account added." + shown)
            st.rerun()
with change, st.form("accounts_change"):
    st.subheader("Change an account")
    target = st.selectbox("Account", [a.name for a in rows], key="accounts_target")
    what = st.radio("Change", ["role", "reset password", "disable", "enable"], horizontal=True, key="accounts_what")
    new_role = st.selectbox("New role", accounts.ROLES, key="accounts_new_role")
    if st.form_submit_button("Apply", key="accounts_apply") and target:
        fresh = accounts.new_password()
        action = {"role": lambda: accounts.set_role(ctx, name=target, role=new_role, actor=me),
                  "reset password": lambda: accounts.change_password(ctx, name=target, password=fresh, actor=me),
                  "disable": lambda: accounts.set_disabled(ctx, name=target, disabled=True, actor=me),
                  "enable": lambda: accounts.set_disabled(ctx, name=target, disabled=False, actor=me)}[what]
        if components.attempt(lambda: action() or True):
            shown = f" New password (shown once): `{fresh}`" if what == "reset password" else ""
            components.flash("success", f"Done ({what}).{shown}")
            st.rerun()

st.subheader("Audit log")
action_filter = st.selectbox("Action", [None, *audit.ACTIONS], format_func=lambda a: a or "all actions",
                             key="accounts_audit_action")
events = audit.recent(ctx, limit=500, action=action_filter)
if not events:
    st.caption("No event yet.")
else:
    st.dataframe(pd.DataFrame([{"when": _when(e.at), "who": e.actor, "action": e.action, "target": e.target,
                                "detail": ", ".join(f"{k}={v}" for k, v in e.detail.items())} for e in events]),
                 hide_index=True, key="accounts_audit")
