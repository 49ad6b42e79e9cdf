"""Alembic environment: the URL comes from the caller's config (db.migrate) or `alembic -x url=...`."""
from __future__ import annotations

from alembic import context

from db.models import Base
from db.session import make_engine

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    """db.migrate passes the URL in the config; the bare alembic CLI takes `-x url=...` (db/ does not read app
    settings: `python -m app migrate` is the command that knows them)."""
    url = config.get_main_option("sqlalchemy.url") or context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("no database URL: run `python -m app migrate`, or `alembic -x url=URL upgrade head`")
    return url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(_url())
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
