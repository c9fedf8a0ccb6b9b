"""The standard Odoo 17 models the mock serves, with their computed fields and methods."""
from __future__ import annotations

from .models import Registry

SEL_PARTNER_TYPE = [["contact", "Contact"], ["invoice", "Invoice Address"],
                    ["delivery", "Delivery Address"], ["other", "Other Address"]]


def _company(env):
    return 1 if 1 in env.table("res.company") else False


def _now(env):
    return env.ts


def _today(env):
    return env.ts[:10]


STANDARD_MODELS = [
    {"model": "res.country", "description": "Country", "order": "name", "fields": {
        "name": {"type": "char", "string": "Country Name", "required": True},
        "code": {"type": "char", "string": "Country Code"},
        "phone_code": {"type": "integer", "string": "Country Calling Code"}}},
    {"model": "res.currency", "description": "Currency", "order": "active desc, name", "fields": {
        "name": {"type": "char", "string": "Currency", "required": True},
        "symbol": {"type": "char", "required": True},
        "active": {"type": "boolean", "default": True}}},
    {"model": "res.company", "description": "Companies", "order": "sequence, name", "fields": {
        "name": {"type": "char", "string": "Company Name", "required": True},
        "partner_id": {"type": "many2one", "relation": "res.partner", "string": "Partner"},
        "currency_id": {"type": "many2one", "relation": "res.currency"},
        "country_id": {"type": "many2one", "relation": "res.country"},
        "email": {"type": "char"}, "phone": {"type": "char"}, "vat": {"type": "char", "string": "Tax ID"},
        "sequence": {"type": "integer", "default": 10},
        "active": {"type": "boolean", "default": True}}},
    {"model": "res.partner.category", "description": "Partner Tags", "order": "name", "fields": {
        "name": {"type": "char", "string": "Tag Name", "required": True},
        "color": {"type": "integer", "string": "Color"},
        "active": {"type": "boolean", "default": True}}},
    {"model": "res.partner", "description": "Contact", "order": "complete_name ASC, id DESC", "fields": {
        "name": {"type": "char"},
        "complete_name": {"type": "char", "string": "Complete Name", "readonly": True},
        "title": {"type": "char"},
        "ref": {"type": "char", "string": "Reference"},
        "email": {"type": "char"}, "phone": {"type": "char"}, "mobile": {"type": "char"},
        "website": {"type": "char", "string": "Website Link"},
        "is_company": {"type": "boolean", "string": "Is a Company", "default": False},
        "parent_id": {"type": "many2one", "relation": "res.partner", "string": "Related Company"},
        "child_ids": {"type": "one2many", "relation": "res.partner", "inverse_name": "parent_id",
                      "string": "Contact"},
        "category_id": {"type": "many2many", "relation": "res.partner.category", "string": "Tags"},
        "company_id": {"type": "many2one", "relation": "res.company", "string": "Company"},
        "country_id": {"type": "many2one", "relation": "res.country", "string": "Country"},
        "street": {"type": "char"}, "street2": {"type": "char"}, "city": {"type": "char"},
        "zip": {"type": "char"}, "vat": {"type": "char", "string": "Tax ID"},
        "comment": {"type": "html", "string": "Notes"},
        "type": {"type": "selection", "selection": SEL_PARTNER_TYPE, "string": "Address Type",
                 "default": "contact"},
        "lang": {"type": "char", "string": "Language"},
        "customer_rank": {"type": "integer"}, "supplier_rank": {"type": "integer"},
        "active": {"type": "boolean", "default": True}}},
    {"model": "res.users", "description": "User", "order": "name, login", "fields": {
        "name": {"type": "char", "required": True},
        "login": {"type": "char", "required": True},
        "partner_id": {"type": "many2one", "relation": "res.partner", "string": "Related Partner"},
        "company_id": {"type": "many2one", "relation": "res.company", "default": _company},
        "company_ids": {"type": "many2many", "relation": "res.company", "string": "Companies"},
        "email": {"type": "char"},
        "lang": {"type": "char", "default": "en_US"},
        "tz": {"type": "char", "string": "Timezone", "default": "Europe/Brussels"},
        "share": {"type": "boolean", "string": "Share User"},
        "active": {"type": "boolean", "default": True}}},
    {"model": "ir.model", "description": "Models", "order": "model", "fields": {
        "name": {"type": "char", "string": "Model Description", "required": True},
        "model": {"type": "char", "string": "Model", "required": True},
        "info": {"type": "text", "string": "Information"},
        "state": {"type": "selection", "selection": [["manual", "Custom Object"], ["base", "Base Object"]],
                  "string": "Type", "default": "base"},
        "transient": {"type": "boolean", "string": "Transient Model"}}},
    {"model": "product.product", "description": "Product Variant",
     "order": "default_code, name, id", "fields": {
        "name": {"type": "char", "required": True},
        "default_code": {"type": "char", "string": "Internal Reference"},
        "barcode": {"type": "char"},
        "list_price": {"type": "float", "string": "Sales Price", "default": 1.0},
        "standard_price": {"type": "float", "string": "Cost"},
        "detailed_type": {"type": "selection", "string": "Product Type", "default": "consu",
                          "selection": [["consu", "Consumable"], ["service", "Service"],
                                        ["product", "Storable Product"]]},
        "sale_ok": {"type": "boolean", "string": "Can be Sold", "default": True},
        "company_id": {"type": "many2one", "relation": "res.company"},
        "active": {"type": "boolean", "default": True}}},
    {"model": "sale.order", "description": "Sales Order", "order": "date_order desc, id desc", "fields": {
        "name": {"type": "char", "string": "Order Reference", "required": True, "default": "New"},
        "partner_id": {"type": "many2one", "relation": "res.partner", "string": "Customer",
                       "required": True},
        "date_order": {"type": "datetime", "string": "Order Date", "required": True, "default": _now},
        "state": {"type": "selection", "string": "Status", "default": "draft", "selection": [
            ["draft", "Quotation"], ["sent", "Quotation Sent"], ["sale", "Sales Order"],
            ["cancel", "Cancelled"]]},
        "order_line": {"type": "one2many", "relation": "sale.order.line", "inverse_name": "order_id",
                       "string": "Order Lines"},
        "client_order_ref": {"type": "char", "string": "Customer Reference"},
        "note": {"type": "html", "string": "Terms and conditions"},
        "amount_untaxed": {"type": "monetary", "string": "Untaxed Amount", "readonly": True},
        "amount_tax": {"type": "monetary", "string": "Taxes", "readonly": True},
        "amount_total": {"type": "monetary", "string": "Total", "readonly": True},
        "user_id": {"type": "many2one", "relation": "res.users", "string": "Salesperson"},
        "company_id": {"type": "many2one", "relation": "res.company", "required": True,
                       "default": _company}}},
    {"model": "sale.order.line", "description": "Sales Order Line",
     "order": "order_id, sequence, id", "fields": {
        "order_id": {"type": "many2one", "relation": "sale.order", "string": "Order Reference",
                     "required": True, "ondelete": "cascade"},
        "sequence": {"type": "integer", "default": 10},
        "name": {"type": "text", "string": "Description", "required": True},
        "product_id": {"type": "many2one", "relation": "product.product", "string": "Product"},
        "product_uom_qty": {"type": "float", "string": "Quantity", "default": 1.0},
        "price_unit": {"type": "float", "string": "Unit Price"},
        "price_subtotal": {"type": "monetary", "string": "Subtotal", "readonly": True}}},
    {"model": "account.move", "description": "Journal Entry", "order": "date desc, name desc, id desc",
     "fields": {
        "name": {"type": "char", "string": "Number", "default": "/"},
        "move_type": {"type": "selection", "string": "Type", "required": True, "default": "entry",
                      "selection": [["entry", "Journal Entry"], ["out_invoice", "Customer Invoice"],
                                    ["out_refund", "Customer Credit Note"],
                                    ["in_invoice", "Vendor Bill"], ["in_refund", "Vendor Credit Note"]]},
        "partner_id": {"type": "many2one", "relation": "res.partner", "string": "Partner"},
        "date": {"type": "date", "required": True, "default": _today},
        "invoice_date": {"type": "date", "string": "Invoice/Bill Date"},
        "invoice_origin": {"type": "char", "string": "Origin"},
        "ref": {"type": "char", "string": "Reference"},
        "state": {"type": "selection", "string": "Status", "required": True, "default": "draft",
                  "selection": [["draft", "Draft"], ["posted", "Posted"], ["cancel", "Cancelled"]]},
        "payment_state": {"type": "selection", "default": "not_paid", "selection": [
            ["not_paid", "Not Paid"], ["in_payment", "In Payment"], ["paid", "Paid"],
            ["partial", "Partially Paid"], ["reversed", "Reversed"]]},
        "amount_total": {"type": "monetary", "string": "Total"},
        "company_id": {"type": "many2one", "relation": "res.company", "default": _company}}},
]


def _partner_name(table, rec):
    parent = table.get(rec.get("parent_id")) if rec.get("parent_id") else None
    name = rec.get("name") or ""
    if parent and not rec.get("is_company"):
        name = f"{parent.get('name') or ''}, {name}" if name else parent.get("name") or ""
    return name or False


def _partner_complete_name(env, ids):
    """complete_name is "Company, Contact" for a contact with a parent; contacts follow renames."""
    table = env.table("res.partner")
    renamed = set()
    for rid in ids:
        rec = table.get(rid)
        if rec is None:
            continue
        rec["complete_name"] = _partner_name(table, rec)
        old = env.undo.get(("res.partner", rid))
        if old is not None and old.get("name") != rec.get("name"):
            renamed.add(rid)
    if renamed:
        done = set(ids)
        for rid, rec in table.items():
            if rec.get("parent_id") in renamed and rid not in done:
                value = _partner_name(table, rec)
                if rec.get("complete_name") != value:
                    env.set_values("res.partner", rid, {"complete_name": value})
                    table[rid]["display_name"] = value or f"res.partner,{rid}"  # the private copy


def _line_subtotal(env, ids):
    table = env.table("sale.order.line")
    orders = set()
    for rid in ids:
        rec = table.get(rid)
        if rec is None:
            continue
        rec["price_subtotal"] = round((rec.get("product_uom_qty") or 0) * (rec.get("price_unit") or 0), 2)
        if rec.get("order_id"):
            orders.add(rec["order_id"])
    _order_amounts(env, sorted(orders), touch=True)


def _order_amounts(env, ids, touch=False):
    orders = env.table("sale.order")
    wanted = {rid for rid in ids if rid in orders}
    if not wanted:
        return
    totals = dict.fromkeys(wanted, 0.0)
    for line in env.table("sale.order.line").values():
        if line.get("order_id") in wanted:
            totals[line["order_id"]] += line.get("price_subtotal") or 0.0
    for rid in sorted(wanted):
        untaxed = round(totals[rid], 2)
        vals = {"amount_untaxed": untaxed, "amount_tax": round(untaxed * 0.15, 2),
                "amount_total": round(untaxed * 1.15, 2)}
        if orders[rid].get("name") in (False, "New", "/"):
            vals["name"] = f"S{rid:05d}"
        if any(orders[rid].get(k) != v for k, v in vals.items()):
            if touch:
                env.set_values("sale.order", rid, vals)
            else:
                env._remember("sale.order", rid)
                orders[rid].update(vals)
        if orders[rid].get("display_name") != orders[rid]["name"]:
            env._remember("sale.order", rid)  # changed on this transaction's copy only
            orders[rid]["display_name"] = orders[rid]["name"]


def _record_method(fn):
    fn.record_method = True
    return fn


@_record_method
def _action_confirm(env, ids):
    env.write("sale.order", ids, {"state": "sale"})
    return True


@_record_method
def _action_cancel(env, ids):
    env.write("sale.order", ids, {"state": "cancel"})
    return True


@_record_method
def _action_post(env, ids):
    table = env.table("account.move")
    for rid in env._existing("account.move", ids):
        vals = {"state": "posted"}
        if table[rid].get("name") in (False, "/"):
            prefix = {"out_invoice": "INV", "out_refund": "RINV", "in_invoice": "BILL",
                      "in_refund": "RBILL"}.get(table[rid]["move_type"], "MISC")
            vals["name"] = f"{prefix}/{table[rid]['date'][:4]}/{rid:05d}"
        env.write("account.move", [rid], vals)
    return True


def _context_get(env):
    user = env.table("res.users").get(env.uid) or {}
    return {"lang": user.get("lang") or "en_US", "tz": user.get("tz") or "Europe/Brussels"}


def _product_display(env, rec):
    code = rec.get("default_code")
    return f"[{code}] {rec.get('name') or ''}" if code else rec.get("name")


def _line_display(env, rec):
    order = env.table("sale.order").get(rec.get("order_id")) or {}
    return f"{order.get('name') or ''} - {(rec.get('name') or '').splitlines()[0] if rec.get('name') else ''}"


def _line_defaults(env, ids):
    table = env.table("sale.order.line")
    products = env.table("product.product")
    for rid in ids:
        rec = table.get(rid)
        product = products.get(rec.get("product_id")) if rec else None
        if product and not rec.get("price_unit"):
            rec["price_unit"] = product.get("list_price") or 0.0


def standard_registry() -> Registry:
    """A registry holding the standard Odoo 17 models above."""
    registry = Registry()
    for spec in STANDARD_MODELS:
        registry.register(spec, check=False)
    partner = registry["res.partner"]
    partner.computes.append(_partner_complete_name)
    partner.display = lambda env, rec: rec.get("complete_name")
    registry["res.users"].methods["context_get"] = _context_get
    registry["product.product"].display = _product_display
    line = registry["sale.order.line"]
    line.rec_name = None
    line.computes += [_line_defaults, _line_subtotal]
    line.display = _line_display
    order = registry["sale.order"]
    order.computes.append(lambda env, ids: _order_amounts(env, ids))
    order.methods.update(action_confirm=_action_confirm, action_cancel=_action_cancel)
    registry["account.move"].methods["action_post"] = _action_post
    registry.check_relations()
    return registry
