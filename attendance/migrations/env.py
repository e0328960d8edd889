"""Alembic environment: the engine comes from attendance.migrate, never from an ini file."""

from alembic import context

import inspections.models  # noqa: F401 - the spot-check tables share the metadata and the chain
from attendance.models import Base
from attendance.partitions import include_name

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,  # the ledger's monthly partitions are not in the models
    )
    with context.begin_transaction():
        context.run_migrations()
