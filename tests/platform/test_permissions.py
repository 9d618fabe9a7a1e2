"""Permissions as metadata: actions per role, field levels and row scopes, enforced by the
record store for every caller (checked here through the API)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from jizuo.platform.errors import PermissionDenied, ValidationFailed
from jizuo.platform.models import App, Record
from jizuo.platform.permissions import define_role, save_app_permissions
from jizuo.platform.records import RecordStore
from tests import factories
from tests.plant import INSPECTOR_POLICY, SECRET_COST, Plant


@pytest.fixture
def plant(session):  # noqa: ANN001, ANN201
    return Plant(session)


NCRS = "/api/v1/apps/qms/entities/ncr/records"
SUPPLIERS = "/api/v1/apps/erp/entities/supplier/records"


def _policy_for_both_apps(plant: Plant) -> None:
    plant.policy("qms", {"entities": {"ncr": INSPECTOR_POLICY["entities"]["ncr"]}})
    plant.policy("erp", {"entities": {"supplier": INSPECTOR_POLICY["entities"]["supplier"]}})


# -- actions -------------------------------------------------------------------------


def test_built_in_members_may_do_everything_until_a_policy_says_otherwise(plant, client):
    member = plant.person("mo", ("member",))
    assert client.post(SUPPLIERS, json={"name": "Cogs"}, headers=member).status_code == 201
    plant.policy("erp", {"entities": {"*": {"member": {"actions": ["read"]}}}})
    refused = client.post(SUPPLIERS, json={"name": "Dyn"}, headers=member)
    assert refused.status_code == 403 and "may not create" in refused.json["detail"]
    assert client.get(SUPPLIERS, headers=member).status_code == 200


def test_a_defined_role_may_do_nothing_until_granted(plant, client):
    visitor = plant.person("vic", ("visitor",))
    assert client.get(SUPPLIERS, headers=visitor).status_code == 403
    assert client.get(f"{SUPPLIERS}/{plant.s1}", headers=visitor).status_code == 403
    plant.policy("erp", {"entities": {"supplier": {"visitor": {"actions": ["read"]}}}})
    assert len(client.get(SUPPLIERS, headers=visitor).json["items"]) == 2
    patch = client.patch(
        f"{SUPPLIERS}/{plant.s1}", json={"name": "X"}, headers={**visitor, "If-Match": '"1"'}
    )
    assert patch.status_code == 403
    assert client.delete(f"{SUPPLIERS}/{plant.s1}", headers=visitor).status_code == 403


def test_roles_add_up(plant, client):
    plant.policy(
        "erp",
        {
            "entities": {
                "supplier": {"visitor": {"actions": ["read"]}, "inspector": {"actions": ["create"]}}
            }
        },
    )
    both = plant.person("bo", ("visitor", "inspector"))
    assert client.post(SUPPLIERS, json={"name": "Cogs"}, headers=both).status_code == 201
    assert client.get(SUPPLIERS, headers=both).status_code == 200


# -- fields --------------------------------------------------------------------------


def test_hidden_fields_appear_nowhere_in_api_responses(plant, client, session):
    _policy_for_both_apps(plant)
    inspector = plant.person("ina", ("inspector",))
    created = client.post(
        NCRS, json={"lot_no": "L1", "source": "iqc", "qty_rejected": 2}, headers=inspector
    )
    assert created.status_code == 201
    rid = created.json["id"]
    # An admin fills in the cost; the inspector must not learn it, by any route.
    store = RecordStore(session, plant.admin).entity("qms", "ncr")
    store.update(rid, {"unit_cost": SECRET_COST}, 1)
    session.commit()
    responses = [
        client.get(f"{NCRS}/{rid}", headers=inspector),
        client.get(NCRS, headers=inspector),
        client.get(f"{NCRS}/{rid}/history", headers=inspector),
    ]
    for response in responses:
        body = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "unit_cost" not in body and '"cost"' not in body
        assert str(SECRET_COST) not in body and str(SECRET_COST * 2) not in body
    # ...and it cannot be probed by filtering or sorting on it.
    for query in ("?unit_cost__gte=0", "?cost=1975.3086", "?order_by=-unit_cost"):
        probe = client.get(NCRS + query, headers=inspector)
        assert probe.status_code == 400 and "Unknown field" in probe.json["detail"], query
    # The admin still sees everything.
    admin_view = RecordStore(session, plant.admin).entity("qms", "ncr").get(rid)
    assert admin_view.data["unit_cost"] == SECRET_COST


def test_hidden_and_read_only_fields_cannot_be_written(plant, client, session):
    _policy_for_both_apps(plant)
    inspector = plant.person("ina", ("inspector",))
    sneaky = {"lot_no": "L1", "source": "iqc", "qty_rejected": 2, "unit_cost": 1}
    refused = client.post(NCRS, json=sneaky, headers=inspector)
    assert refused.status_code == 422
    assert refused.json["errors"][0] == {
        "path": "/unit_cost",
        "message": "you may not change this field",
        "code": "invalid",
    }
    created = client.post(
        NCRS, json={"lot_no": "L1", "source": "iqc", "qty_rejected": 2}, headers=inspector
    ).json
    url, h = f"{NCRS}/{created['id']}", {**inspector, "If-Match": '"1"'}
    changed = client.patch(url, json={"disposition": "scrap"}, headers=h)
    assert changed.status_code == 422 and changed.json["errors"][0]["path"] == "/disposition"
    hidden = client.patch(url, json={"unit_cost": None}, headers=h)
    assert hidden.status_code == 422 and hidden.json["errors"][0]["path"] == "/unit_cost"
    # A read-only value sent back unchanged is fine (clients echo what they read).
    same = client.patch(url, json={"disposition": None, "lot_no": "L2"}, headers=h)
    assert same.status_code == 200 and same.json["data"]["lot_no"] == "L2"
    session.rollback()
    assert "disposition" not in session.get(Record, created["id"]).data


# -- rows ----------------------------------------------------------------------------


def test_row_scope_limits_lists_and_look_ups_in_sql(plant, client):
    _policy_for_both_apps(plant)
    inspector = plant.person("ina", ("inspector",))
    others = plant.ncr(lot_no="ADMIN-LOT")
    mine = client.post(
        NCRS, json={"lot_no": "MINE", "source": "iqc", "qty_rejected": 1}, headers=inspector
    ).json["id"]
    listing = client.get(NCRS, headers=inspector).json["items"]
    assert [r["id"] for r in listing] == [mine]
    assert client.get(f"{NCRS}?lot_no=ADMIN-LOT", headers=inspector).json["items"] == []
    for response in (
        client.get(f"{NCRS}/{others}", headers=inspector),
        client.get(f"{NCRS}/{others}/history", headers=inspector),
        client.patch(
            f"{NCRS}/{others}", json={"lot_no": "X"}, headers={**inspector, "If-Match": '"1"'}
        ),
    ):
        assert response.status_code == 404


def test_row_scope_on_user_attributes_guards_creates_and_updates(plant, client, session):
    plant.policy(
        "qms",
        {
            "entities": {
                "ncr": {
                    "supplier_portal": {
                        "actions": ["read", "create", "update"],
                        "scope": "record.supplier in user.suppliers",
                    }
                }
            }
        },
    )
    plant.policy("erp", {"entities": {"supplier": {"supplier_portal": {"actions": ["read"]}}}})
    portal = plant.person("sam", ("supplier_portal",), suppliers=[plant.s1])
    ours, theirs = plant.ncr(supplier=plant.s1), plant.ncr(supplier=plant.s2)
    assert [r["id"] for r in client.get(NCRS, headers=portal).json["items"]] == [ours]
    assert client.get(f"{NCRS}/{theirs}", headers=portal).status_code == 404
    body = {"lot_no": "L", "source": "iqc", "qty_rejected": 1}
    outside = client.post(NCRS, json={**body, "supplier": plant.s2}, headers=portal)
    assert outside.status_code == 403 and "outside" in outside.json["detail"]
    inside = client.post(NCRS, json={**body, "supplier": plant.s1}, headers=portal)
    assert inside.status_code == 201
    moved = client.patch(
        f"{NCRS}/{ours}", json={"supplier": plant.s2}, headers={**portal, "If-Match": '"1"'}
    )
    assert moved.status_code == 403
    session.rollback()
    assert session.get(Record, ours).data["supplier"] == plant.s1


def test_links_only_to_records_the_user_may_read(plant, client):
    plant.policy("qms", {"entities": {"ncr": {"supplier_portal": {"actions": ["read", "create"]}}}})
    plant.policy(
        "erp",
        {
            "entities": {
                "supplier": {
                    "supplier_portal": {"actions": ["read"], "scope": "record.id in user.suppliers"}
                }
            }
        },
    )
    portal = plant.person("sam", ("supplier_portal",), suppliers=[plant.s1])
    body = {"lot_no": "L", "source": "iqc", "qty_rejected": 1}
    unreadable = client.post(NCRS, json={**body, "supplier": plant.s2}, headers=portal)
    assert unreadable.status_code == 422 and unreadable.json["errors"][0]["path"] == "/supplier"
    assert client.post(NCRS, json={**body, "supplier": plant.s1}, headers=portal).status_code == 201


def test_a_scope_that_cannot_be_evaluated_for_the_user_fails_closed(plant, client):
    plant.policy(
        "erp",
        {
            "entities": {
                "supplier": {
                    "visitor": {"actions": ["read"], "scope": "record.id in user.suppliers"}
                }
            }
        },
    )
    visitor = plant.person("vic", ("visitor",))  # no 'suppliers' attribute
    refused = client.get(SUPPLIERS, headers=visitor)
    assert refused.status_code == 403 and "row scope" in refused.json["detail"]


# -- policies ------------------------------------------------------------------------


def test_bad_policies_are_refused_with_every_problem_and_nothing_saved(plant, session):
    app = session.scalar(select(App).where(App.key == "qms"))
    bad = {
        "entities": {
            "nope": {"inspector": {"actions": ["read"]}},
            "ncr": {
                "admin": {"actions": ["read"]},
                "ghost": {"actions": ["read"]},
                "inspector": {
                    "actions": ["read"],
                    "fields": {"no_such_field": "hidden"},
                    "scope": "record.no_such_field == 1",
                },
            },
        }
    }
    with pytest.raises(ValidationFailed) as caught:
        save_app_permissions(session, plant.admin, app, bad)
    paths = sorted(e["path"] for e in caught.value.errors)
    assert paths == [
        "/entities/ncr/admin",
        "/entities/ncr/ghost",
        "/entities/ncr/inspector/fields/no_such_field",
        "/entities/ncr/inspector/scope",
        "/entities/nope",
    ]
    with pytest.raises(ValidationFailed) as shape:
        save_app_permissions(
            session, plant.admin, app, {"entities": {"ncr": {"inspector": {"actions": ["fly"]}}}}
        )
    assert shape.value.errors[0]["path"] == "/entities/ncr/inspector/actions/0"
    hostile = {"entities": {"ncr": {"inspector": {"scope": "record.__class__ == 1"}}}}
    with pytest.raises(ValidationFailed):
        save_app_permissions(session, plant.admin, app, hostile)
    session.rollback()
    assert session.scalar(select(App.permissions).where(App.key == "qms")) is None


def test_only_admins_change_permissions_and_roles(plant, session, client):
    designer = plant.person("dee", ("designer",))
    _, designer_actor = factories.member(session, plant.ws, "dan", ("designer",))
    session.commit()
    app = session.scalar(select(App).where(App.key == "qms"))
    with pytest.raises(PermissionDenied):
        save_app_permissions(session, designer_actor, app, {"entities": {}})
    with pytest.raises(PermissionDenied):
        define_role(session, designer_actor, "auditor", "Auditor")
    session.rollback()
    put = client.put("/api/v1/apps/qms/permissions", json={"entities": {}}, headers=designer)
    assert put.status_code == 403
    assert client.get("/api/v1/apps/qms/permissions", headers=designer).status_code == 403


def test_permissions_api_round_trip(plant, client, session):
    root = {"Authorization": f"Bearer {factories.token(session, plant.ws, plant.admin_user)}"}
    session.commit()
    put = client.put(
        "/api/v1/apps/qms/permissions",
        json={"entities": {"ncr": {"visitor": {"actions": ["read"]}}}},
        headers=root,
    )
    assert put.status_code == 200
    assert client.get("/api/v1/apps/qms/permissions", headers=root).json == put.json
    bad = client.put("/api/v1/apps/qms/permissions", json={"entities": {"x": 1}}, headers=root)
    assert bad.status_code == 422 and bad.json["errors"]
    roles = [r["key"] for r in client.get("/api/v1/roles", headers=root).json["items"]]
    assert roles == ["admin", "designer", "member", "inspector", "supplier_portal", "visitor"]
    made = client.post("/api/v1/roles", json={"key": "auditor", "title": "Auditor"}, headers=root)
    assert made.status_code == 201
    again = client.post("/api/v1/roles", json={"key": "auditor", "title": "Auditor"}, headers=root)
    assert again.status_code == 409


def test_field_levels_take_the_most_open_of_the_granting_roles(plant, session):
    from jizuo.platform.actor import Actor
    from jizuo.platform.catalog import published_entity
    from jizuo.platform.permissions import entity_access

    plant.policy(
        "qms",
        {
            "entities": {
                "ncr": {
                    "inspector": {"actions": ["read"], "fields": {"unit_cost": "hidden"}},
                    "visitor": {
                        "actions": ["read"],
                        "fields": {"unit_cost": "read", "lot_no": "hidden"},
                    },
                    "supplier_portal": {"actions": [], "fields": {"lot_no": "write"}},
                }
            }
        },
    )
    published = published_entity(session, plant.admin, "qms", "ncr")

    def levels(*roles: str) -> dict[str, str]:
        actor = Actor(plant.ws.id, 99, "x", frozenset(roles))
        return entity_access(actor, published.app, published.definition).field_levels

    assert levels("inspector") == {"unit_cost": "hidden"}
    assert levels("visitor") == {"unit_cost": "read", "lot_no": "hidden"}
    assert levels("inspector", "visitor") == {"unit_cost": "read"}
    # A role granting no action opens no field.
    assert levels("visitor", "supplier_portal") == {"unit_cost": "read", "lot_no": "hidden"}


INSPECTION = {
    "key": "inspection",
    "title": "Inspection",
    "schema": {
        "type": "object",
        "properties": {
            "lot_no": {"type": "string"},
            "photo": {"type": "integer", "x-attachment": True},
            "invoice": {"type": "integer", "x-attachment": True},
        },
    },
}


def _upload(client, headers: dict, content: bytes) -> int:  # noqa: ANN001
    import io

    data = {"file": (io.BytesIO(content), "f.bin")}
    response = client.post("/api/v1/attachments", data=data, headers=headers)
    assert response.status_code == 201
    return response.json["id"]


def test_files_are_readable_through_readable_records_and_visible_fields_only(
    plant, client, session
):
    factories.published(session, plant.admin, "qms", INSPECTION)
    plant.policy(
        "qms",
        {
            "entities": {
                "inspection": {
                    "inspector": {
                        "actions": ["read", "create"],
                        "fields": {"invoice": "hidden"},
                        "scope": "record.lot_no != 'SECRET'",
                    }
                }
            }
        },
    )
    inspector = plant.person("ina", ("inspector",))
    root = {"Authorization": f"Bearer {factories.token(session, plant.ws, plant.admin_user)}"}
    session.commit()
    shown, hidden_field, other_lot, loose = (
        _upload(client, root, b"photo"),
        _upload(client, root, b"invoice"),
        _upload(client, root, b"secret photo"),
        _upload(client, root, b"never linked"),
    )
    url = "/api/v1/apps/qms/entities/inspection/records"
    made = client.post(
        url, json={"lot_no": "L1", "photo": shown, "invoice": hidden_field}, headers=root
    )
    assert made.status_code == 201
    client.post(url, json={"lot_no": "SECRET", "photo": other_lot}, headers=root)

    def status(attachment_id: int) -> int:
        path = f"/api/v1/attachments/{attachment_id}/content"
        with client.get(path, headers=inspector) as response:
            return response.status_code

    assert status(shown) == 200
    assert status(hidden_field) == 404  # held by a field hidden from inspectors
    assert status(other_lot) == 404  # held by a record outside their scope
    assert status(loose) == 404  # nobody linked it
    # Nor can an inspector reach a file by linking it into a record of their own.
    grab = client.post(url, json={"lot_no": "L2", "photo": other_lot}, headers=inspector)
    assert grab.status_code == 422 and grab.json["errors"][0]["path"] == "/photo"
    assert status(other_lot) == 404
    # Their own uploads are theirs.
    own = _upload(client, inspector, b"my photo")
    assert (
        client.post(url, json={"lot_no": "L3", "photo": own}, headers=inspector).status_code == 201
    )
    assert status(own) == 200
