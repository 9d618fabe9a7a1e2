"""A workspace with suppliers and NCRs (records seeded), an admin's, a designer's and a
member's token, and a second workspace to import into."""

from __future__ import annotations

import pytest

from jizuo.platform.records import RecordStore
from tests import factories


class Caller:
    def __init__(self, client, token):
        self.client, self.headers = client, {"Authorization": f"Bearer {token}"}

    def __call__(self, method, url, json=None, **kwargs):
        return self.client.open(f"/api/v1/designer{url}", method=method, json=json,
                                headers=self.headers, **kwargs)  # fmt: skip


@pytest.fixture
def shop(session, client):
    ws = factories.workspace(session)
    admin_user, admin = factories.member(session, ws, "root", ("admin",))
    factories.published(session, admin, "erp", factories.SUPPLIER)
    factories.published(session, admin, "qms", factories.NCR)
    store = RecordStore(session, admin)
    suppliers = [store.entity("erp", "supplier").create({"name": n}).id for n in ("Acme", "Bolt")]
    ncrs = store.entity("qms", "ncr")
    for i, source in enumerate(["iqc", "iqc", "oqc"]):
        ncrs.create({"lot_no": f"L-{i}", "source": source, "qty_rejected": i + 1,
                     "unit_cost": 2, "supplier": suppliers[i % 2], "disposition": "scrap",
                     "defects": [{"code": "D1", "count": 1}]})  # fmt: skip
    designer_user, designer = factories.member(session, ws, "dee", ("designer",))
    member_user, _ = factories.member(session, ws, "max", ("member",))
    other = factories.workspace(session, "beta")
    other_user, other_admin = factories.member(session, other, "bea", ("admin",))

    class Shop:
        pass

    s = Shop()
    s.ws, s.admin, s.designer_actor, s.other_admin, s.suppliers = (
        ws,
        admin,
        designer,
        other_admin,
        suppliers,
    )
    s.root = Caller(client, factories.token(session, ws, admin_user))
    s.dee = Caller(client, factories.token(session, ws, designer_user))
    s.max = Caller(client, factories.token(session, ws, member_user))
    s.bea = Caller(client, factories.token(session, other, other_user))
    session.commit()
    return s
