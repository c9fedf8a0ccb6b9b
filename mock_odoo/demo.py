"""Base records every Odoo database has, and deterministic demo data (``--demo N``).

Demo records carry fixed timestamps (from 2024-01-01 09:00:00 UTC, ten records per
second-truncated ``write_date``, like a module install writing in batches), so the
same N always gives byte-identical data.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from .orm import DATETIME_FMT, Database

BASE_TIME = datetime(2024, 1, 1, 9, 0, 0)
COUNTRIES = [("Belgium", "BE", 32), ("France", "FR", 33), ("Germany", "DE", 49),
             ("Netherlands", "NL", 31), ("Luxembourg", "LU", 352), ("Spain", "ES", 34),
             ("Italy", "IT", 39), ("United Kingdom", "GB", 44), ("Ireland", "IE", 353),
             ("United States", "US", 1), ("Canada", "CA", 1), ("Switzerland", "CH", 41),
             ("Austria", "AT", 43), ("Portugal", "PT", 351), ("Denmark", "DK", 45),
             ("Sweden", "SE", 46), ("Poland", "PL", 48), ("India", "IN", 91)]
CITIES = {"BE": ["Brussels", "Antwerp", "Ghent", "Liège"], "FR": ["Paris", "Lyon", "Lille"],
          "DE": ["Berlin", "Hamburg", "Köln"], "NL": ["Amsterdam", "Utrecht"],
          "US": ["New York", "Austin", "Chicago"], "GB": ["London", "Leeds"]}
FIRST = ["Azure", "Deco", "Gemini", "Ready", "Lumber", "Wood", "Jackson", "Marc", "Toni", "Anita",
         "Lorraine", "Colleen", "Brandon", "Kim", "Chester", "Edith", "Floyd", "Nicole", "Oscar",
         "Sandra", "Tom", "Billy", "Jeff", "Theodore", "Ruth", "Zoë", "Élodie", "Søren"]
LAST = ["Interior", "Addict", "Furniture", "Mat", "Inc", "Firm", "Group", "Demo", "Douglas",
        "Ramirez", "Freeman", "Fox", "Gomez", "Miller", "Lambert", "Gray", "Williams", "Holt",
        "Reed", "Dupont", "Müller", "O'Brien"]
STREETS = ["Main Street", "Rue de la Loi", "Avenue Louise", "Kerkstraat", "Market Square",
           "Oak Lane", "Chaussée de Namur"]
PRODUCTS = ["Desk", "Chair", "Lamp", "Cabinet", "Shelf", "Drawer", "Table", "Sofa", "Screen",
            "Whiteboard", "Locker", "Stool"]
ADJECTIVES = ["Large", "Small", "Corner", "Office", "Customizable", "Acoustic", "Conference"]


def _stamp(seq: int) -> str:
    return (BASE_TIME + timedelta(seconds=60 * (seq // 10))).strftime(DATETIME_FMT)


def _env(db: Database, seq: int):
    env = db.env(uid=1)
    env.ts = _stamp(seq)
    return env


def _run(env, fn):
    try:
        result = fn(env)
    except BaseException:
        env.rollback()
        raise
    env.commit()
    return result


def sync_ir_model(db: Database) -> None:
    """One ir.model record per registered model (call again after registering more)."""
    table = db.table("ir.model")
    known = {rec["model"] for rec in table.values()}
    new = [{"model": m.name, "name": m.description, "state": "manual" if m.name.startswith("x_") else "base",
            "transient": False}
           for name, m in sorted(db.registry.models.items()) if name not in known]
    if new:
        _run(_env(db, 0), lambda env: env.create("ir.model", new))


def seed_base(db: Database, login: str = "admin", password: str = "admin") -> None:
    """The records of a fresh database: company, users, countries, currencies, ir.model."""
    def base(env):
        env.create("res.currency", [{"name": "EUR", "symbol": "€"}, {"name": "USD", "symbol": "$"}])
        env.create("res.country", [{"name": n, "code": c, "phone_code": p} for n, c, p in COUNTRIES])
        env.create("res.partner", [
            {"name": "YourCompany", "is_company": True, "email": "info@yourcompany.com",
             "street": "250 Executive Park Blvd, Suite 3400", "city": "San Francisco", "zip": "94134"},
            {"name": "OdooBot", "email": "odoobot@example.com", "active": False},
            {"name": "Mitchell Admin", "email": "admin@yourcompany.example.com", "parent_id": 1}])
        env.create("res.company", {"name": "YourCompany", "partner_id": 1, "currency_id": 1,
                                   "email": "info@yourcompany.com"})
        env.write("res.partner", [1, 2, 3], {"company_id": 1})
        env.create("res.users", [
            {"name": "OdooBot", "login": "__system__", "partner_id": 2, "active": False,
             "company_ids": [(6, 0, [1])]},
            {"name": "Mitchell Admin", "login": login, "partner_id": 3, "email": "admin@yourcompany.example.com",
             "company_ids": [(6, 0, [1])]}])
    _run(_env(db, 0), base)
    db.passwords[2] = password
    sync_ir_model(db)


def seed_demo(db: Database, count: int, seed: int = 17) -> None:
    """``count`` partners (companies and their contacts), plus products, orders and invoices."""
    if count <= 0:
        return
    rng = random.Random(seed)
    countries = sorted(db.table("res.country"))
    codes = {rid: rec["code"] for rid, rec in db.table("res.country").items()}
    _run(_env(db, 1), lambda env: env.create("res.company", {
        "name": "My Belgian Company", "currency_id": 1, "country_id": countries[0], "sequence": 20}))
    _run(_env(db, 2), lambda env: env.create("res.partner.category", [
        {"name": n, "color": i} for i, n in enumerate(["Customer", "Vendor", "Prospect", "VIP"], 1)]))
    companies: list[int] = []
    for start in range(0, count, 10):
        batch = []
        for i in range(start, min(start + 10, count)):
            country = rng.choice(countries)
            city = rng.choice(CITIES.get(codes[country], ["Springfield"]))
            is_company = not companies or rng.random() < 0.2
            first, last = rng.choice(FIRST), rng.choice(LAST)
            name = f"{first} {last}" + ("" if is_company else f" {i}") if not is_company \
                else f"{first} {last} {rng.choice(['SA', 'BV', 'GmbH', 'LLC', 'Ltd'])} {i}"
            slug = name.lower().replace(" ", ".").replace("'", "")
            vals = {"name": name, "is_company": is_company, "email": f"{slug}@example.com",
                    "phone": f"+{rng.randint(1, 99)} {rng.randint(100, 999)} {rng.randint(10, 99)} "
                             f"{rng.randint(10, 99)} {rng.randint(10, 99)}",
                    "street": f"{rng.randint(1, 250)} {rng.choice(STREETS)}", "city": city,
                    "zip": str(rng.randint(1000, 99999)), "country_id": country,
                    "company_id": 1 if rng.random() < 0.7 else False,
                    "active": rng.random() >= 0.05, "customer_rank": rng.randint(0, 3)}
            if is_company:
                vals["vat"] = f"{codes[country]}{rng.randint(100000000, 999999999)}"
            elif rng.random() < 0.6:
                vals["parent_id"] = rng.choice(companies[-50:])
            if rng.random() < 0.3:
                vals["category_id"] = [(6, 0, [rng.randint(1, 4)])]
            batch.append(vals)
        env = _env(db, 10 + start)
        ids = _run(env, lambda env, batch=batch: env.create("res.partner", batch))
        companies += [rid for rid, vals in zip(ids, batch) if vals["is_company"]]
    n_products = max(10, min(200, count // 50))
    products = _run(_env(db, 10 + count), lambda env: env.create("product.product", [
        {"name": f"{rng.choice(ADJECTIVES)} {rng.choice(PRODUCTS)}", "default_code": f"FURN_{i:04d}",
         "list_price": round(rng.uniform(5, 2000), 2), "standard_price": round(rng.uniform(2, 800), 2),
         "detailed_type": rng.choice(["consu", "product", "service"])} for i in range(n_products)]))
    partners = sorted(db.table("res.partner"))
    n_orders = max(5, min(5000, count // 10))
    for start in range(0, n_orders, 100):
        env = _env(db, 20 + count + start)
        size = min(100, n_orders - start)
        orders = [{"partner_id": rng.choice(partners), "user_id": 2,
                   "state": rng.choice(["draft", "sent", "sale", "sale", "cancel"]),
                   "date_order": _stamp(20 + count + start + j)} for j in range(size)]
        line_specs = [[(rng.choice(products), rng.randint(1, 12)) for _ in range(rng.randint(1, 3))]
                      for _ in range(size)]

        def make(env, orders=orders, line_specs=line_specs):
            ids = env.create("sale.order", orders)
            env.create("sale.order.line", [
                {"order_id": oid, "product_id": pid, "product_uom_qty": qty,
                 "name": db.table("product.product")[pid]["display_name"]}
                for oid, specs in zip(ids, line_specs) for pid, qty in specs])
            confirmed = [oid for oid in ids if env.table("sale.order")[oid]["state"] == "sale"]
            moves = env.create("account.move", [
                {"move_type": "out_invoice", "partner_id": env.table("sale.order")[oid]["partner_id"],
                 "invoice_origin": env.table("sale.order")[oid]["name"], "date": env.ts[:10],
                 "invoice_date": env.ts[:10], "amount_total": env.table("sale.order")[oid]["amount_total"]}
                for oid in confirmed[::2]])
            if moves:
                env.registry["account.move"].methods["action_post"](env, moves)
        _run(env, make)
