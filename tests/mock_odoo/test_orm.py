"""ORM semantics over RPC: search/read/write/create/unlink behave and look like Odoo 17's."""
from __future__ import annotations

import re
import xmlrpc.client

import pytest

DATETIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


def fault(odoo, model, method, *args, **kwargs) -> xmlrpc.client.Fault:
    with pytest.raises(xmlrpc.client.Fault) as err:
        odoo.x(model, method, *args, **kwargs)
    return err.value


def make_partners(odoo, names):
    return odoo.x("res.partner", "create", [{"name": n} for n in names])


def test_search_limit_offset_and_count(odoo):
    """search pages with offset/limit; search_count counts the whole domain."""
    everything = odoo.x("res.partner", "search", [], order="id")
    assert odoo.x("res.partner", "search_count", []) == len(everything)
    assert odoo.x("res.partner", "search", [], offset=5, limit=10, order="id") == everything[5:15]
    assert odoo.x("res.partner", "search", [], 5, 10, "id") == everything[5:15]
    assert odoo.x("res.partner", "search_count", [], limit=3) == 3


def test_multi_column_order(odoo):
    """order='is_company desc, name asc, id desc' sorts by each key in turn."""
    ids = make_partners(odoo, ["b", "a", "a"])
    odoo.x("res.partner", "write", [ids[0]], {"is_company": True})
    rows = odoo.x("res.partner", "search_read", [["id", "in", ids]], ["name", "is_company"],
                  order="is_company desc, name asc, id desc")
    assert [r["id"] for r in rows] == [ids[0], ids[2], ids[1]]


def test_order_puts_empty_values_last_ascending_first_descending(odoo):
    """Like PostgreSQL: NULLS LAST for asc, NULLS FIRST for desc."""
    ids = odoo.x("res.partner", "create", [{"name": "x", "city": "Bruges"}, {"name": "y"}, {"name": "z", "city": "Aalst"}])
    asc = odoo.x("res.partner", "search", [["id", "in", ids]], order="city asc")
    desc = odoo.x("res.partner", "search", [["id", "in", ids]], order="city desc")
    assert asc == [ids[2], ids[0], ids[1]]
    assert desc == [ids[1], ids[0], ids[2]]


def test_bad_order_is_an_error(odoo):
    """Ordering by an unknown field fails instead of being ignored."""
    assert fault(odoo, "res.partner", "search", [], order="nope desc").faultCode == 1


def test_read_silently_drops_missing_ids(odoo):
    """read() of a deleted id returns only the existing records."""
    a, b = make_partners(odoo, ["keep", "drop"])
    odoo.x("res.partner", "unlink", [b])
    assert odoo.x("res.partner", "read", [a, b, 999999], ["name"]) == [{"id": a, "name": "keep"}]


def test_read_of_the_id_alone_keeps_deleted_ids(odoo):
    """read(ids, ['id']) reads no column, so a deleted id comes back too (models `_read_format`,
    `fields.Id.__get__`): it is no existence test; search on the ids is."""
    a, b = make_partners(odoo, ["keep", "drop"])
    odoo.x("res.partner", "unlink", [b])
    assert odoo.x("res.partner", "read", [a, b], ["id"]) == [{"id": a}, {"id": b}]
    assert odoo.j("res.partner", "read", [a, b], ["id"], context={"active_test": False}) == [{"id": a}, {"id": b}]
    assert odoo.x("res.partner", "read", [a, b], ["id", "name"]) == [{"id": a, "name": "keep"}]
    assert odoo.x("res.partner", "search", [["id", "in", [a, b]]], context={"active_test": False}) == [a]


def test_read_unknown_field_is_an_error(odoo):
    """Reading a field the model does not have is a ValueError (fault 1)."""
    f = fault(odoo, "res.partner", "read", [1], ["no_such_field"])
    assert f.faultCode == 1 and "Invalid field 'no_such_field' on model 'res.partner'" in f.faultString


def test_value_shapes_many2one_x2many_and_false(odoo):
    """many2one is [id, name], x2many a list of ids, empty values False (not None)."""
    company = odoo.x("res.partner", "create", {"name": "Acme", "is_company": True})
    contact = odoo.x("res.partner", "create", {"name": "Jane", "parent_id": company})
    row = odoo.j("res.partner", "read", [contact], ["parent_id", "child_ids", "email", "country_id",
                                                    "category_id", "display_name"])[0]
    assert row["parent_id"] == [company, "Acme"]
    assert row["display_name"] == "Acme, Jane"
    assert row["email"] is False and row["country_id"] is False
    assert row["child_ids"] == [] and row["category_id"] == []
    parent = odoo.j("res.partner", "read", [company], ["child_ids"])[0]
    assert parent["child_ids"] == [contact]


def test_load_none_and_classic_write_give_bare_many2one_ids(odoo):
    """read(load=None) and load='_classic_write' (odoorpc) return a bare id for many2one."""
    company = odoo.x("res.partner", "create", {"name": "Acme", "is_company": True})
    contact = odoo.x("res.partner", "create", {"name": "Jane", "parent_id": company})
    for load in (None, "_classic_write"):
        assert odoo.j("res.partner", "read", [contact], ["parent_id"], load=load)[0]["parent_id"] == company
    rows = odoo.j("res.partner", "search_read", [["id", "=", contact]], ["parent_id"], load=None)
    assert rows == [{"id": contact, "parent_id": company}]


def test_datetimes_are_naive_utc_strings_to_the_second(odoo):
    """create_date/write_date look like '2024-05-01 10:00:00'; dates like '2024-05-01'."""
    pid = odoo.x("res.partner", "create", {"name": "t"})
    row = odoo.x("res.partner", "read", [pid], ["create_date", "write_date"])[0]
    assert DATETIME.match(row["create_date"]) and DATETIME.match(row["write_date"])
    move = odoo.x("account.move", "create", {"move_type": "out_invoice", "invoice_date": "2024-05-01"})
    assert odoo.x("account.move", "read", [move], ["invoice_date"])[0]["invoice_date"] == "2024-05-01"


def test_write_date_shared_by_all_records_of_one_call(odoo, server):
    """Records written by one call share write_date, the call's start in whole seconds."""
    from datetime import datetime
    ids = make_partners(odoo, [f"p{i}" for i in range(30)])
    before = datetime.utcnow().replace(microsecond=0)
    odoo.x("res.partner", "write", ids, {"city": "Namur"})
    after = datetime.utcnow()
    stamps = {r["write_date"] for r in odoo.x("res.partner", "read", ids, ["write_date"])}
    assert len(stamps) == 1
    stamp = datetime.strptime(stamps.pop(), "%Y-%m-%d %H:%M:%S")
    assert before <= stamp <= after


def test_create_one_or_many(odoo):
    """create(dict) returns an id; create([dicts]) returns a list of ids."""
    one = odoo.x("res.partner", "create", {"name": "one"})
    many = odoo.x("res.partner", "create", [{"name": "two"}, {"name": "three"}])
    assert isinstance(one, int) and len(many) == 2
    assert [r["name"] for r in odoo.x("res.partner", "read", [one] + many, ["name"])] == ["one", "two", "three"]


def test_required_field_missing_is_validation_error(odoo):
    """Creating a sale.order without its required customer is a ValidationError (fault 2)."""
    f = fault(odoo, "sale.order", "create", {})
    assert f.faultCode == 2 and "a mandatory field is not set" in f.faultString
    assert "partner_id" in f.faultString
    error = odoo.j_error("sale.order", "create", {})
    assert error["data"]["name"] == "odoo.exceptions.ValidationError"


def test_write_false_to_required_field_is_validation_error(odoo):
    """Emptying a required field is refused too."""
    order = odoo.x("sale.order", "create", {"partner_id": 1})
    assert fault(odoo, "sale.order", "write", [order], {"partner_id": False}).faultCode == 2


def test_invalid_selection_value_is_refused(odoo):
    """A selection value outside the list is refused with Odoo's 'Wrong value' ValueError."""
    order = odoo.x("sale.order", "create", {"partner_id": 1})
    f = fault(odoo, "sale.order", "write", [order], {"state": "bogus"})
    assert f.faultCode == 1 and "Wrong value for sale.order.state: 'bogus'" in f.faultString
    assert odoo.j_error("sale.order", "write", [order], {"state": "bogus"})["data"]["name"] == "builtins.ValueError"
    assert odoo.x("sale.order", "read", [order], ["state"])[0]["state"] == "draft"


def test_unknown_field_in_create_is_an_error(odoo):
    """Unknown keys in vals are rejected, not silently dropped."""
    assert fault(odoo, "res.partner", "create", {"name": "x", "nope": 1}).faultCode == 1


def test_many2one_to_missing_record_is_refused(odoo):
    """A many2one to a record that does not exist is a ValidationError (foreign key)."""
    assert fault(odoo, "res.partner", "create", {"name": "x", "country_id": 999999}).faultCode == 2


def test_failed_multi_create_rolls_back_everything(odoo):
    """One bad record in create([...]) creates none: each call is a transaction."""
    before = odoo.x("sale.order", "search_count", [])
    fault(odoo, "sale.order", "create", [{"partner_id": 1}, {}])
    assert odoo.x("sale.order", "search_count", []) == before


def test_write_missing_record_is_missing_error(odoo):
    """write() on a deleted id is a MissingError (fault 2) with the text of models `_write`."""
    f = fault(odoo, "res.partner", "write", [999999], {"name": "x"})
    assert f.faultCode == 2 and f.faultString == (
        "One of the records you are trying to modify has already been deleted (Document type: Contact)."
        "\n\n(Records: (999999,), User: 2)")
    assert odoo.j_error("res.partner", "write", [999999], {"name": "x"})["data"]["name"] == \
        "odoo.exceptions.MissingError"


def test_unlink_removes_and_unlinking_a_missing_id_is_a_no_op(odoo):
    """unlink returns True; the record is gone; unlinking it again returns True too (models `unlink`:
    `check_access_rule('unlink')` lets deleted ids through), and the others of the call are deleted."""
    a, b = make_partners(odoo, ["bye", "also"])
    assert odoo.x("res.partner", "unlink", [a]) is True
    assert odoo.x("res.partner", "search", [["id", "=", a]]) == []
    assert odoo.x("res.partner", "unlink", [a]) is True
    assert odoo.j("res.partner", "unlink", [a, 999999, b]) is True
    assert odoo.x("res.partner", "search", [["id", "in", [a, b]]]) == []


def test_unlink_cascade_and_restrict(odoo):
    """Deleting an order deletes its lines; deleting a customer with orders is refused."""
    partner = odoo.x("res.partner", "create", {"name": "buyer"})
    order = odoo.x("sale.order", "create", {"partner_id": partner, "order_line": [
        [0, 0, {"name": "desk", "price_unit": 10, "product_uom_qty": 2}]]})
    lines = odoo.x("sale.order", "read", [order], ["order_line"])[0]["order_line"]
    assert len(lines) == 1
    assert fault(odoo, "res.partner", "unlink", [partner]).faultCode == 2
    odoo.x("sale.order", "unlink", [order])
    assert odoo.x("sale.order.line", "search", [["id", "in", lines]]) == []


def test_unlink_set_null_does_not_touch_write_date(odoo):
    """Deleting a parent empties children's parent_id (SQL SET NULL) without changing write_date."""
    company = odoo.x("res.partner", "create", {"name": "Co", "is_company": True})
    child = odoo.x("res.partner", "create", {"name": "Kid", "parent_id": company})
    before = odoo.x("res.partner", "read", [child], ["write_date"])[0]["write_date"]
    odoo.x("res.partner", "unlink", [company])
    after = odoo.x("res.partner", "read", [child], ["parent_id", "write_date"])[0]
    assert after["parent_id"] is False and after["write_date"] == before


def test_x2many_commands(odoo):
    """Command triples 0..6 create, update, delete, unlink, link, clear and replace."""
    tags = odoo.x("res.partner.category", "create", [{"name": "t1"}, {"name": "t2"}, {"name": "t3"}])
    pid = odoo.x("res.partner", "create", {"name": "p", "category_id": [[6, 0, tags[:2]]]})

    def tags_of():
        return odoo.x("res.partner", "read", [pid], ["category_id"])[0]["category_id"]
    assert tags_of() == tags[:2]
    odoo.x("res.partner", "write", [pid], {"category_id": [[4, tags[2], 0]]})
    assert tags_of() == tags
    odoo.x("res.partner", "write", [pid], {"category_id": [[3, tags[0], 0]]})
    assert tags_of() == tags[1:]
    odoo.x("res.partner", "write", [pid], {"category_id": [[1, tags[1], {"name": "renamed"}]]})
    assert odoo.x("res.partner.category", "read", [tags[1]], ["name"])[0]["name"] == "renamed"
    odoo.x("res.partner", "write", [pid], {"category_id": [[0, 0, {"name": "new"}]]})
    new = [t for t in tags_of() if t not in tags]
    assert len(new) == 1
    odoo.x("res.partner", "write", [pid], {"category_id": [[2, new[0], 0]]})
    assert odoo.x("res.partner.category", "search", [["id", "=", new[0]]]) == []
    odoo.x("res.partner", "write", [pid], {"category_id": [[5, 0, 0]]})
    assert tags_of() == []


def test_one2many_commands_set_the_inverse(odoo):
    """child_ids commands set or clear the children's parent_id."""
    company = odoo.x("res.partner", "create", {"name": "Co", "is_company": True,
                                               "child_ids": [[0, 0, {"name": "A"}], [0, 0, {"name": "B"}]]})
    kids = odoo.x("res.partner", "read", [company], ["child_ids"])[0]["child_ids"]
    assert len(kids) == 2
    odoo.x("res.partner", "write", [company], {"child_ids": [[3, kids[0], 0]]})
    assert odoo.x("res.partner", "read", [kids[0]], ["parent_id"])[0]["parent_id"] is False
    odoo.x("res.partner", "write", [company], {"child_ids": [[6, 0, [kids[0]]]]})
    assert odoo.x("res.partner", "read", [company], ["child_ids"])[0]["child_ids"] == [kids[0]]


def test_order_totals_follow_lines(odoo):
    """Computed totals on sale.order follow its lines, like Odoo's stored computes."""
    order = odoo.x("sale.order", "create", {"partner_id": 1, "order_line": [
        [0, 0, {"name": "a", "price_unit": 10, "product_uom_qty": 3}],
        [0, 0, {"name": "b", "price_unit": 5, "product_uom_qty": 1}]]})
    row = odoo.x("sale.order", "read", [order], ["name", "amount_untaxed", "state"])[0]
    assert row["amount_untaxed"] == 35.0 and row["state"] == "draft" and row["name"].startswith("S")
    odoo.x("sale.order", "action_confirm", [order])
    assert odoo.x("sale.order", "read", [order], ["state"])[0]["state"] == "sale"


def test_active_test_hides_archived_records_unless_disabled(odoo):
    """Archived records are hidden from search unless context active_test is False."""
    (pid,) = make_partners(odoo, ["archived"])
    odoo.x("res.partner", "write", [pid], {"active": False})
    assert odoo.x("res.partner", "search", [["id", "=", pid]]) == []
    assert odoo.x("res.partner", "search", [["id", "=", pid]], context={"active_test": False}) == [pid]
    assert odoo.x("res.partner", "search", [["id", "=", pid], ["active", "=", False]]) == [pid]
    assert odoo.x("res.partner", "read", [pid], ["active"]) == [{"id": pid, "active": False}]


def test_fields_get_with_attributes(odoo):
    """fields_get describes types, relations and selections; attributes filters the keys."""
    fields = odoo.x("sale.order", "fields_get")
    assert fields["partner_id"]["type"] == "many2one" and fields["partner_id"]["relation"] == "res.partner"
    assert fields["partner_id"]["required"] is True
    assert ["draft", "Quotation"] in fields["state"]["selection"]
    assert fields["order_line"]["relation_field"] == "order_id"
    some = odoo.x("res.partner", "fields_get", ["name", "parent_id"], ["type", "string"])
    assert some == {"name": {"type": "char", "string": "Name"},
                    "parent_id": {"type": "many2one", "string": "Related Company"}}
    all_partner = odoo.x("res.partner", "fields_get", attributes=["type"])
    for name in ("name", "display_name", "email", "phone", "is_company", "parent_id", "child_ids",
                 "company_id", "country_id", "street", "city", "zip", "vat", "active",
                 "create_date", "write_date"):
        assert name in all_partner


def test_name_search_and_name_get(odoo):
    """name_search returns [[id, display_name]] matching the name; name_get the same shape."""
    a, b = make_partners(odoo, ["Zebulon Alpha", "Zebulon Beta"])
    assert odoo.x("res.partner", "name_search", "zebulon") == [[a, "Zebulon Alpha"], [b, "Zebulon Beta"]]
    assert odoo.x("res.partner", "name_search", "zebulon", [["id", "!=", a]]) == [[b, "Zebulon Beta"]]
    assert odoo.x("res.partner", "name_search", "zebulon", limit=1) == [[a, "Zebulon Alpha"]]
    assert odoo.x("res.partner", "name_get", [b]) == [[b, "Zebulon Beta"]]


def test_context_get_and_standard_models_exist(odoo):
    """res.users.context_get works; the standard models all answer search_count."""
    assert odoo.x("res.users", "context_get") == {"lang": "en_US", "tz": "Europe/Brussels"}
    for model in ("res.partner", "res.company", "res.country", "res.users", "ir.model", "product.product",
                  "sale.order", "sale.order.line", "account.move"):
        assert odoo.x(model, "search_count", []) > 0, model
    assert odoo.x("ir.model", "search", [["model", "=", "sale.order"]])


def test_register_extra_model_at_runtime(odoo, server):
    """A model registered from a dict is served with typed, validated fields."""
    server.register_model({"model": "x.ticket", "fields": {
        "name": {"type": "char", "required": True},
        "state": {"type": "selection", "selection": [["a", "A"], ["b", "B"]]},
        "partner_id": {"type": "many2one", "relation": "res.partner"}}})
    tid = odoo.x("x.ticket", "create", {"name": "T1", "state": "a", "partner_id": 1})
    assert odoo.j("x.ticket", "read", [tid], ["name", "state", "partner_id"]) == [
        {"id": tid, "name": "T1", "state": "a", "partner_id": [1, "YourCompany"]}]
    assert fault(odoo, "x.ticket", "create", {"state": "a"}).faultCode == 2
    assert fault(odoo, "x.ticket", "create", {"name": "x", "state": "zz"}).faultCode == 1
    assert odoo.x("ir.model", "search_count", [["model", "=", "x.ticket"]]) == 1
    assert odoo.x("x.ticket", "fields_get", ["state"], ["selection"])["state"]["selection"] == [["a", "A"], ["b", "B"]]


def test_register_model_rejects_bad_specs(server):
    """Unknown field types and dangling relations are refused with a clear message."""
    with pytest.raises(ValueError, match="unknown field type"):
        server.register_model({"model": "x.bad", "fields": {"a": {"type": "chars"}}})
    with pytest.raises(ValueError, match="needs 'relation'"):
        server.register_model({"model": "x.bad2", "fields": {"a": {"type": "many2one"}}})
