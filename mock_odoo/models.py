"""Field types, the model registry, and the standard Odoo 17 models the mock serves.

Extra models are registered with a plain dict, the same shape the sync engine
derives from the spec::

    registry.register({"model": "x.y", "fields": {
        "name": {"type": "char", "required": True},
        "state": {"type": "selection", "selection": [["a", "A"]]},
        "partner_id": {"type": "many2one", "relation": "res.partner"}}})

Registering a model that already exists adds its fields (like Odoo's ``_inherit``).
"""
from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from typing import Any, Callable

FIELD_TYPES = frozenset({
    "char", "text", "html", "integer", "float", "monetary", "boolean", "date",
    "datetime", "selection", "many2one", "one2many", "many2many", "binary",
})
RELATIONAL = frozenset({"many2one", "one2many", "many2many"})
X2MANY = frozenset({"one2many", "many2many"})
NUMERIC = frozenset({"integer", "float", "monetary"})
# Fields every model has; the ORM maintains them and ignores client writes.
MAGIC_FIELDS = ("id", "display_name", "create_uid", "create_date", "write_uid", "write_date")


@dataclass
class Field:
    name: str
    type: str
    string: str = ""
    required: bool = False
    readonly: bool = False
    store: bool = True
    relation: str | None = None
    inverse_name: str | None = None  # one2many: the many2one on the comodel
    selection: list | None = None
    default: Any = None  # a value, or a callable taking the Env
    help: str = ""
    ondelete: str | None = None  # many2one: set null / restrict / cascade

    def __post_init__(self):
        if not self.string:
            label = self.name[:-3] if self.name.endswith(("_id", "_ids")) else self.name
            label = label.removesuffix("_i").removesuffix("_")
            self.string = label.replace("_", " ").title() if self.name != "id" else "ID"
        if self.type == "many2one" and self.ondelete is None:
            self.ondelete = "restrict" if self.required else "set null"

    def describe(self) -> dict:
        """This field as ``fields_get`` reports it."""
        desc = {
            "type": self.type, "string": self.string, "help": self.help or False,
            "required": self.required, "readonly": self.readonly, "store": self.store,
            "searchable": True, "sortable": self.store and self.type not in X2MANY,
            "groupable": self.store and self.type not in ("text", "html", "binary", "one2many"),
            "manual": self.name.startswith("x_"), "company_dependent": False,
            "change_default": False, "exportable": True, "depends": [], "name": self.name,
            "translate": False,
        }
        if self.type in RELATIONAL:
            desc.update(relation=self.relation, domain=[], context={})
        if self.type == "one2many":
            desc["relation_field"] = self.inverse_name
        if self.type == "selection":
            desc["selection"] = [list(pair) for pair in self.selection or []]
        if self.type == "char":
            desc["trim"] = True
        if self.type == "many2one":
            desc["ondelete"] = self.ondelete
        return desc


@dataclass
class Model:
    name: str
    description: str
    fields: dict[str, Field] = dc_field(default_factory=dict)
    order: str = "id"
    rec_name: str | None = "name"
    parent_name: str | None = None
    # compute(env, ids) refreshes stored computed fields after create/write.
    computes: list[Callable] = dc_field(default_factory=list)
    methods: dict[str, Callable] = dc_field(default_factory=dict)
    display: Callable | None = None  # display(env, record) -> str; default: the rec_name value

    def field(self, name: str) -> Field | None:
        return self.fields.get(name)


def _magic_fields() -> dict[str, Field]:
    return {
        "id": Field("id", "integer", "ID", readonly=True),
        "display_name": Field("display_name", "char", "Display Name", readonly=True, store=False),
        "create_uid": Field("create_uid", "many2one", "Created by", readonly=True, relation="res.users"),
        "create_date": Field("create_date", "datetime", "Created on", readonly=True),
        "write_uid": Field("write_uid", "many2one", "Last Updated by", readonly=True, relation="res.users"),
        "write_date": Field("write_date", "datetime", "Last Updated on", readonly=True),
    }


def field_from_spec(name: str, spec: dict, model: str) -> Field:
    if not isinstance(spec, dict):
        raise ValueError(f"{model}.{name}: a field must be a dict like {{'type': 'char'}}")
    ftype = spec.get("type")
    if ftype not in FIELD_TYPES:
        raise ValueError(f"{model}.{name}: unknown field type {ftype!r}; "
                         f"use one of {', '.join(sorted(FIELD_TYPES))}")
    relation = spec.get("relation") or spec.get("comodel_name")
    if ftype in RELATIONAL and not relation:
        raise ValueError(f"{model}.{name}: a {ftype} field needs 'relation'")
    inverse = spec.get("inverse_name") or spec.get("relation_field")
    if ftype == "one2many" and not inverse:
        raise ValueError(f"{model}.{name}: a one2many field needs 'inverse_name'")
    selection = spec.get("selection")
    if ftype == "selection":
        if not selection:
            raise ValueError(f"{model}.{name}: a selection field needs 'selection'")
        selection = [[str(p[0]), str(p[1])] if isinstance(p, list | tuple) else [str(p), str(p)]
                     for p in selection]
    known = {"type", "string", "required", "readonly", "relation", "comodel_name", "inverse_name",
             "relation_field", "selection", "default", "help", "ondelete", "store"}
    unknown = set(spec) - known
    if unknown:
        raise ValueError(f"{model}.{name}: unknown field attribute(s) {sorted(unknown)}")
    return Field(name, ftype, string=spec.get("string", ""), required=bool(spec.get("required")),
                 readonly=bool(spec.get("readonly")), relation=relation, inverse_name=inverse,
                 selection=selection, default=spec.get("default"), help=spec.get("help", ""),
                 ondelete=spec.get("ondelete"), store=spec.get("store", True))


class Registry:
    """Every model the mock knows, by technical name."""

    def __init__(self):
        self.models: dict[str, Model] = {}

    def __contains__(self, name: str) -> bool:
        return name in self.models

    def __getitem__(self, name: str) -> Model:
        return self.models[name]

    def register(self, spec: dict, check: bool = True) -> Model:
        """Add a model (or extra fields to an existing one) from a plain dict.

        With ``check``, relations must point to registered models (or to this one).
        """
        if not isinstance(spec, dict) or not isinstance(spec.get("model"), str):
            raise ValueError("a model spec is a dict with a 'model' name and 'fields'")
        name = spec["model"]
        fields = spec.get("fields") or {}
        if not isinstance(fields, dict):
            raise ValueError(f"{name}: 'fields' must be a dict of name -> field spec")
        parsed = {fname: field_from_spec(fname, fspec, name) for fname, fspec in fields.items()
                  if fname not in MAGIC_FIELDS}
        for f in parsed.values():  # check before changing anything
            if check and f.relation and f.relation not in self.models and f.relation != name:
                raise ValueError(f"{name}.{f.name} points to unknown model {f.relation!r}")
            if check and f.type == "one2many":
                co_fields = self.models[f.relation].fields if f.relation in self.models else {}
                if f.relation == name:
                    co_fields = {**co_fields, **parsed}
                if f.inverse_name not in co_fields:
                    raise ValueError(f"{name}.{f.name}: {f.relation} has no field {f.inverse_name!r}")
        model = self.models.get(name)
        if model is None:
            model = Model(name, spec.get("description") or name.replace(".", " ").title(),
                          _magic_fields())
            self.models[name] = model
        for key in ("order", "rec_name", "parent_name"):
            if key in spec:
                setattr(model, key, spec[key])
        if spec.get("description"):
            model.description = spec["description"]
        model.fields.update(parsed)
        if model.rec_name and model.rec_name not in model.fields:
            model.rec_name = None
        if model.parent_name is None and "parent_id" in model.fields \
                and model.fields["parent_id"].relation == name:
            model.parent_name = "parent_id"
        return model

    def check_relations(self) -> None:
        """Fail early when a relational field points to a model nobody registered."""
        for model in self.models.values():
            for f in model.fields.values():
                if f.relation and f.relation not in self.models:
                    raise ValueError(f"{model.name}.{f.name} points to unknown model {f.relation!r}")
                if f.type == "one2many" and f.inverse_name not in self.models[f.relation].fields:
                    raise ValueError(f"{model.name}.{f.name}: {f.relation} has no field {f.inverse_name!r}")
