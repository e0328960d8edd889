"""the audit log is append-only in the database too

Revision ID: 0009
Revises: 0008

Triggers refuse every UPDATE and DELETE of ``audit_log`` rows (and, on PostgreSQL, TRUNCATE),
whoever sends them: the application never changes a row it wrote, so only a mistake or a
tampering attempt is stopped. Dropping the triggers takes a migration, which leaves a trace.
"""

from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

MESSAGE = "audit_log is append-only: rows are never updated or deleted"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
            END
            $$""")
        op.execute("CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()")
        op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()")
        return
    # SQLite: one trigger per statement kind; RAISE(ABORT) undoes the statement and says why.
    for kind in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER audit_log_no_{kind.lower()} BEFORE {kind} ON audit_log "
                   f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
        return
    for kind in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS audit_log_no_{kind}")
