"""A form for any job request (app.services.jobs.JobRequest), generated from its fields: a new field of the
request is a new widget here, with its default and help, and nothing else to edit. Advanced fields go in an
expander."""
from __future__ import annotations

from typing import Any

import streamlit as st

from core.modalities import MODALITIES
from core.models import registry


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _choice_label(value: str) -> str:
    try:
        spec = registry.spec(value)
    except ValueError:
        return value
    return f"{spec.display}: {spec.description}"


def _widget(opt: Any, key: str) -> Any:  # opt: app.services.jobs.Option
    help_text = opt.help or None
    if opt.choices:
        return st.selectbox(_label(opt.name), list(opt.choices), index=list(opt.choices).index(opt.default),
                            format_func=_choice_label, key=key, help=help_text)
    if opt.type is tuple:
        return tuple(st.multiselect(_label(opt.name), list(MODALITIES), default=list(opt.default), key=key,
                                    help=help_text))
    if opt.type is bool:
        return st.checkbox(_label(opt.name), value=opt.default, key=key, help=help_text)
    if opt.type is int:
        return int(st.number_input(_label(opt.name), min_value=0, value=opt.default, step=1, key=key,
                                   help=help_text))
    if opt.type is float:
        return float(st.number_input(_label(opt.name), min_value=0.0, value=opt.default, format="%g", key=key,
                                     help=help_text))
    return st.text_input(_label(opt.name), value=opt.default, key=key, help=help_text, max_chars=120)


def request_form(cls: type, *, key: str, submit: str) -> dict[str, Any] | None:
    """Draw the form of request class `cls`; the values (by field name) when submitted, else None."""
    options = cls.options()
    with st.form(f"{key}_form", border=True):
        main = [o for o in options if not o.advanced]
        values: dict[str, Any] = {}
        for col, opt in zip(st.columns(len(main)), main, strict=True):
            with col:
                values[opt.name] = _widget(opt, f"{key}_{opt.name}")
        advanced = [o for o in options if o.advanced]
        if advanced:
            with st.expander("Advanced"):
                for opt in advanced:
                    values[opt.name] = _widget(opt, f"{key}_{opt.name}")
        pressed = st.form_submit_button(submit, type="primary", icon=":material/play_arrow:", key=f"{key}_start")
    return values if pressed else None
