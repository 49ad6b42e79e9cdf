"""Database layer: typed ORM models, the session factory, repository functions, migrations."""
