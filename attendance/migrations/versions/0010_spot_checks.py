"""spot checks: versions as received, derived rows, checklist templates (with the default one)

Revision ID: 0010
Revises: 0009

The tables refer to units and staff by code (no foreign keys into attendance tables). The
default checklist template, version 1, is written here so that every database has it.
"""

import sqlalchemy as sa
from alembic import op

from inspections.checklists import DEFAULT_TEMPLATE_V1

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('checklist_template',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checklist_template')),
    sa.UniqueConstraint('code', 'version', name='uq_checklist_template_code_version')
    )
    op.create_table('spot_check',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('unit_code', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('template_code', sa.String(length=40), nullable=False),
    sa.Column('template_version', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('headcount_at', sa.DateTime(), nullable=False),
    sa.Column('lead', sa.String(length=64), nullable=False),
    sa.Column('team', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('locked_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spot_check')),
    sa.UniqueConstraint('uuid', name=op.f('uq_spot_check_uuid'))
    )
    with op.batch_alter_table('spot_check', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spot_check_started_at'), ['started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_spot_check_unit_code'), ['unit_code'], unique=False)

    op.create_table('checklist_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('label_vi', sa.String(length=300), nullable=False),
    sa.Column('label_en', sa.String(length=300), nullable=False),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('scored', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['template_id'], ['checklist_template.id'], name=op.f('fk_checklist_item_template_id_checklist_template'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checklist_item')),
    sa.UniqueConstraint('template_id', 'code', name='uq_checklist_item_code')
    )
    op.create_table('spot_check_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('spot_check_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('assignee_code', sa.String(length=40), nullable=True),
    sa.Column('due', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('done_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['spot_check_id'], ['spot_check.id'], name=op.f('fk_spot_check_action_spot_check_id_spot_check'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spot_check_action'))
    )
    with op.batch_alter_table('spot_check_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spot_check_action_assignee_code'), ['assignee_code'], unique=False)

    op.create_table('spot_check_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('spot_check_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=True),
    sa.Column('item_code', sa.String(length=40), nullable=True),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['spot_check_id'], ['spot_check.id'], name=op.f('fk_spot_check_attachment_spot_check_id_spot_check'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spot_check_attachment')),
    sa.UniqueConstraint('spot_check_id', 'name', name='uq_spot_check_attachment_name')
    )
    op.create_table('spot_check_finding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('spot_check_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('item_code', sa.String(length=40), nullable=False),
    sa.Column('staff_code', sa.String(length=40), nullable=True),
    sa.Column('result', sa.String(length=20), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('count', sa.Integer(), nullable=True),
    sa.Column('apology_sent', sa.Boolean(), nullable=True),
    sa.ForeignKeyConstraint(['spot_check_id'], ['spot_check.id'], name=op.f('fk_spot_check_finding_spot_check_id_spot_check'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spot_check_finding'))
    )
    with op.batch_alter_table('spot_check_finding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spot_check_finding_item_code'), ['item_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_spot_check_finding_staff_code'), ['staff_code'], unique=False)

    op.create_table('spot_check_headcount',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('spot_check_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('staff_code', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('arrived_at', sa.DateTime(), nullable=True),
    sa.Column('left_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['spot_check_id'], ['spot_check.id'], name=op.f('fk_spot_check_headcount_spot_check_id_spot_check'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spot_check_headcount')),
    sa.UniqueConstraint('spot_check_id', 'staff_code', name='uq_spot_check_headcount_staff')
    )
    with op.batch_alter_table('spot_check_headcount', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spot_check_headcount_staff_code'), ['staff_code'], unique=False)

    op.create_table('spot_check_resolution',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('spot_check_id', sa.Integer(), nullable=False),
    sa.Column('staff_code', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('by', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['spot_check_id'], ['spot_check.id'], name=op.f('fk_spot_check_resolution_spot_check_id_spot_check'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spot_check_resolution')),
    sa.UniqueConstraint('spot_check_id', 'staff_code', 'kind', name='uq_spot_check_resolution')
    )
    op.create_table('spot_check_send_back',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('spot_check_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('by', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['spot_check_id'], ['spot_check.id'], name=op.f('fk_spot_check_send_back_spot_check_id_spot_check'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spot_check_send_back'))
    )
    op.create_table('spot_check_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('spot_check_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('tablet_id', sa.String(length=100), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('replaces_version', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['spot_check_id'], ['spot_check.id'], name=op.f('fk_spot_check_version_spot_check_id_spot_check'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spot_check_version')),
    sa.UniqueConstraint('spot_check_id', 'version', name='uq_spot_check_version_number')
    )
    _seed_default_template()


def _seed_default_template() -> None:
    # Plain table descriptions: the migration must not depend on the models of a later day.
    template = sa.table("checklist_template", sa.column("id", sa.Integer), sa.column("code", sa.String),
                        sa.column("version", sa.Integer), sa.column("title", sa.String))
    item = sa.table("checklist_item", sa.column("template_id", sa.Integer), sa.column("position", sa.Integer),
                    sa.column("code", sa.String), sa.column("label_vi", sa.String), sa.column("label_en", sa.String),
                    sa.column("scope", sa.String), sa.column("weight", sa.Float), sa.column("scored", sa.Boolean))
    bind = op.get_bind()
    template_id = bind.execute(template.insert().values(
        code=DEFAULT_TEMPLATE_V1["code"], version=DEFAULT_TEMPLATE_V1["version"],
        title=DEFAULT_TEMPLATE_V1["title"]).returning(template.c.id)).scalar_one()
    op.bulk_insert(item, [
        {"template_id": template_id, "position": i, "code": code, "label_vi": vi, "label_en": en, "scope": scope,
         "weight": weight, "scored": scored}
        for i, (code, vi, en, scope, weight, scored) in enumerate(DEFAULT_TEMPLATE_V1["items"])])


def downgrade() -> None:
    op.drop_table('spot_check_version')
    op.drop_table('spot_check_send_back')
    op.drop_table('spot_check_resolution')
    with op.batch_alter_table('spot_check_headcount', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spot_check_headcount_staff_code'))

    op.drop_table('spot_check_headcount')
    with op.batch_alter_table('spot_check_finding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spot_check_finding_staff_code'))
        batch_op.drop_index(batch_op.f('ix_spot_check_finding_item_code'))

    op.drop_table('spot_check_finding')
    op.drop_table('spot_check_attachment')
    with op.batch_alter_table('spot_check_action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spot_check_action_assignee_code'))

    op.drop_table('spot_check_action')
    op.drop_table('checklist_item')
    with op.batch_alter_table('spot_check', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spot_check_unit_code'))
        batch_op.drop_index(batch_op.f('ix_spot_check_started_at'))

    op.drop_table('spot_check')
    op.drop_table('checklist_template')
