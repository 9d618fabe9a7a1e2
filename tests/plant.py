"""A plant to test permissions on: suppliers, NCRs, an admin and people in pack-style roles."""

from __future__ import annotations

from sqlalchemy import select

from jizuo.platform.auth import add_member
from jizuo.platform.models import App
from jizuo.platform.permissions import define_role, save_app_permissions
from jizuo.platform.records import RecordStore
from tests import factories

SECRET_COST = 987.6543  # a value that must never appear in an inspector's response


class Plant:
    """A workspace with suppliers, NCRs, an admin and people in pack-style roles."""

    def __init__(self, session):  # noqa: ANN001
        self.session = session
        self.ws = factories.workspace(session)
        self.admin_user, self.admin = factories.member(session, self.ws, "root", ("admin",))
        factories.published(session, self.admin, "erp", factories.SUPPLIER)
        factories.published(session, self.admin, "qms", factories.NCR)
        for key in ("inspector", "supplier_portal", "visitor"):
            define_role(session, self.admin, key, key.title())
        store = RecordStore(session, self.admin)
        self.s1 = store.entity("erp", "supplier").create({"name": "Acme"}).id
        self.s2 = store.entity("erp", "supplier").create({"name": "Bolt"}).id
        session.commit()

    def person(self, name: str, roles: tuple[str, ...], **attributes):  # noqa: ANN003, ANN201
        user, actor = factories.member(self.session, self.ws, name, roles)
        if attributes:
            add_member(self.session, user, self.ws, list(roles), attributes)
        token = factories.token(self.session, self.ws, user)
        self.session.commit()
        return {"Authorization": f"Bearer {token}"}

    def policy(self, app_key: str, policy: dict) -> None:
        app = self.session.scalar(select(App).where(App.key == app_key))
        save_app_permissions(self.session, self.admin, app, policy)
        self.session.commit()

    def ncr(self, **data):  # noqa: ANN003, ANN201
        body = {"lot_no": "L", "source": "iqc", "qty_rejected": 2, **data}
        record = RecordStore(self.session, self.admin).entity("qms", "ncr").create(body)
        self.session.commit()
        return record.id


INSPECTOR_POLICY = {
    "entities": {
        "ncr": {
            "inspector": {
                "actions": ["read", "create", "update"],
                "fields": {"unit_cost": "hidden", "cost": "hidden", "disposition": "read"},
                "scope": "record.created_by == user.id",
            }
        },
        "supplier": {"inspector": {"actions": ["read"]}},
    }
}
