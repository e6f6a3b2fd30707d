#!/usr/bin/env python3
"""Lists a crate's public API from its rustdoc JSON, one item per line, sorted.

Usage: public_api.py CRATE.json > api/CRATE.txt

Every item reachable from the crate root is listed under each public path it has: modules,
structs with their public fields, enums with their variants, traits with their items,
functions with their signatures, inherent methods, constants, statics, type aliases, macros,
the traits each type implements (auto traits and blanket implementations left out), and
re-exports of other crates' items. Types are written with the path that defines them, so
that changing an import changes nothing here. Signatures are rendered for review and diffs,
not for compiling.
"""

import json
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: public_api.py CRATE.json")
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = json.load(f)
    lister = Lister(doc)
    root = doc["index"][str(doc["root"])]
    lister.module(root, root["name"])
    for line in sorted(set(lister.lines)):
        print(line)


class Lister:
    def __init__(self, doc):
        self.index = doc["index"]
        self.paths = doc["paths"]
        self.lines = []
        self.active = set()

    def item(self, id_):
        return self.index.get(str(id_))

    # ---- items -------------------------------------------------------------------------

    def module(self, module, path):
        key = ("module", module["id"], path)
        if key in self.active:
            return
        self.active.add(key)
        self.lines.append(f"pub mod {path}")
        for child_id in module["inner"]["module"]["items"]:
            child = self.item(child_id)
            if child is None or child.get("visibility") != "public":
                continue
            self.child(child, path)

    def child(self, child, path):
        kind, inner = next(iter(child["inner"].items()))
        if kind == "use":
            target = self.item(inner["id"]) if inner.get("id") is not None else None
            if inner["is_glob"]:
                if target is not None and "module" in target["inner"]:
                    for grand in target["inner"]["module"]["items"]:
                        g = self.item(grand)
                        if g is not None and g.get("visibility") == "public":
                            self.child(g, path)
                else:
                    self.lines.append(f"pub use {path}::{inner['source']}::*")
                return
            if target is None:
                self.lines.append(f"pub use {path}::{inner['name']} = {inner['source']}")
                return
            self.named(target, f"{path}::{inner['name']}")
            return
        if child.get("name") is None:
            return
        self.named(child, f"{path}::{child['name']}")

    def named(self, it, path):
        kind, inner = next(iter(it["inner"].items()))
        attrs = self.attrs(it)
        if kind == "module":
            self.module(it, path)
        elif kind == "struct":
            self.lines.append(f"{attrs}pub struct {path}{self.generics(inner['generics'])}")
            self.struct_kind(inner["kind"], path)
            self.impls(inner["impls"], path)
        elif kind == "union":
            self.lines.append(f"{attrs}pub union {path}{self.generics(inner['generics'])}")
            self.fields(inner["fields"], path)
            self.impls(inner["impls"], path)
        elif kind == "enum":
            self.lines.append(f"{attrs}pub enum {path}{self.generics(inner['generics'])}")
            for v_id in inner["variants"]:
                v = self.item(v_id)
                if v is not None:
                    self.variant(v, path)
            self.impls(inner["impls"], path)
        elif kind == "trait":
            unsafe = "unsafe " if inner.get("is_unsafe") else ""
            bounds = self.bounds(inner.get("bounds", []))
            self.lines.append(
                f"pub {unsafe}trait {path}{self.generics(inner['generics'])}"
                + (f": {bounds}" if bounds else "")
            )
            for m_id in inner["items"]:
                m = self.item(m_id)
                if m is not None:
                    self.assoc(m, path)
        elif kind == "function":
            self.lines.append(f"{attrs}{self.function(inner, path)}")
        elif kind == "constant":
            self.lines.append(f"pub const {path}: {self.ty(inner['type'])}")
        elif kind == "static":
            mutable = "mut " if inner.get("is_mutable") else ""
            self.lines.append(f"pub static {mutable}{path}: {self.ty(inner['type'])}")
        elif kind == "type_alias":
            self.lines.append(
                f"pub type {path}{self.generics(inner['generics'])} = {self.ty(inner['type'])}"
            )
        elif kind in ("macro", "proc_macro"):
            self.lines.append(f"pub macro {path}!")
        elif kind == "trait_alias":
            self.lines.append(f"pub trait {path} = {self.bounds(inner.get('params', []))}")
        else:
            self.lines.append(f"pub {kind} {path}")

    def attrs(self, it):
        for a in it.get("attrs", []):
            if "non_exhaustive" in json.dumps(a):
                return "#[non_exhaustive] "
        return ""

    def struct_kind(self, kind, path):
        if kind == "unit":
            return
        if "tuple" in kind:
            for i, f_id in enumerate(kind["tuple"]):
                f = self.item(f_id) if f_id is not None else None
                if f is not None:
                    self.lines.append(f"pub {path}.{i}: {self.ty(f['inner']['struct_field'])}")
        elif "plain" in kind:
            self.fields(kind["plain"]["fields"], path)

    def fields(self, ids, path):
        for f_id in ids:
            f = self.item(f_id)
            if f is not None and f.get("visibility") == "public":
                self.lines.append(f"pub {path}.{f['name']}: {self.ty(f['inner']['struct_field'])}")

    def variant(self, v, path):
        kind = v["inner"]["variant"]["kind"]
        name = f"{path}::{v['name']}"
        attrs = self.attrs(v)
        if kind == "plain":
            self.lines.append(f"{attrs}pub variant {name}")
        elif "tuple" in kind:
            types = []
            for f_id in kind["tuple"]:
                f = self.item(f_id) if f_id is not None else None
                types.append(self.ty(f["inner"]["struct_field"]) if f else "_")
            self.lines.append(f"{attrs}pub variant {name}({', '.join(types)})")
        elif "struct" in kind:
            self.lines.append(f"{attrs}pub variant {name} {{ .. }}")
            for f_id in kind["struct"]["fields"]:
                f = self.item(f_id)
                if f is not None:
                    self.lines.append(f"pub {name}.{f['name']}: {self.ty(f['inner']['struct_field'])}")

    def impls(self, ids, path):
        for i_id in ids:
            imp = self.item(i_id)
            if imp is None:
                continue
            inner = imp["inner"]["impl"]
            if inner.get("is_synthetic") or inner.get("blanket_impl") is not None:
                continue
            generics = self.generics(inner["generics"])
            if inner.get("trait") is not None:
                neg = "!" if inner.get("is_negative") else ""
                self.lines.append(
                    f"impl{generics} {neg}{self.path(inner['trait'])} for {self.ty(inner['for'])}"
                )
                continue
            for m_id in inner["items"]:
                m = self.item(m_id)
                if m is not None and m.get("visibility") == "public":
                    self.assoc(m, path)

    def assoc(self, m, path):
        kind, inner = next(iter(m["inner"].items()))
        name = f"{path}::{m['name']}"
        if kind == "function":
            self.lines.append(self.function(inner, name))
        elif kind == "assoc_const":
            self.lines.append(f"pub const {name}: {self.ty(inner['type'])}")
        elif kind == "assoc_type":
            bounds = self.bounds(inner.get("bounds", []))
            self.lines.append(f"pub type {name}" + (f": {bounds}" if bounds else ""))
        elif kind == "constant":
            self.lines.append(f"pub const {name}: {self.ty(inner['type'])}")

    def function(self, inner, path):
        h = inner.get("header", {})
        prefix = "".join(
            word
            for flag, word in (("is_const", "const "), ("is_async", "async "), ("is_unsafe", "unsafe "))
            if h.get(flag)
        )
        sig = inner["sig"]
        args = []
        for name, t in sig["inputs"]:
            if name == "self":
                args.append(self.self_arg(t))
            else:
                args.append(f"{name}: {self.ty(t)}")
        out = f" -> {self.ty(sig['output'])}" if sig.get("output") is not None else ""
        where = self.where(inner["generics"])
        return f"pub {prefix}fn {path}{self.generics(inner['generics'])}({', '.join(args)}){out}{where}"

    def self_arg(self, t):
        if t == {"generic": "Self"}:
            return "self"
        if "borrowed_ref" in t and t["borrowed_ref"]["type"] == {"generic": "Self"}:
            r = t["borrowed_ref"]
            lt = f"{r['lifetime']} " if r.get("lifetime") else ""
            return f"&{lt}{'mut ' if r['is_mutable'] else ''}self"
        return f"self: {self.ty(t)}"

    # ---- generics and types ------------------------------------------------------------

    def generics(self, g):
        params = []
        for p in g.get("params", []):
            kind = p["kind"]
            if "lifetime" in kind:
                params.append(p["name"])
            elif "type" in kind:
                if kind["type"].get("is_synthetic"):
                    continue
                bounds = self.bounds(kind["type"].get("bounds", []))
                params.append(p["name"] + (f": {bounds}" if bounds else ""))
            elif "const" in kind:
                params.append(f"const {p['name']}: {self.ty(kind['const']['type'])}")
        return f"<{', '.join(params)}>" if params else ""

    def where(self, g):
        preds = []
        for w in g.get("where_predicates", []):
            if "bound_predicate" in w:
                b = w["bound_predicate"]
                preds.append(f"{self.ty(b['type'])}: {self.bounds(b['bounds'])}")
            elif "lifetime_predicate" in w:
                lp = w["lifetime_predicate"]
                preds.append(f"{lp['lifetime']}: {' + '.join(lp['outlives'])}")
            elif "eq_predicate" in w:
                e = w["eq_predicate"]
                preds.append(f"{self.ty(e['lhs'])} = {self.term(e['rhs'])}")
        return f" where {', '.join(preds)}" if preds else ""

    def bounds(self, bounds):
        out = []
        for b in bounds:
            if "trait_bound" in b:
                tb = b["trait_bound"]
                modifier = "?" if tb.get("modifier") == "maybe" else ""
                out.append(modifier + self.path(tb["trait"]))
            elif "outlives" in b:
                out.append(b["outlives"])
            elif "use" in b:
                out.append("use<..>")
        return " + ".join(out)

    def term(self, t):
        if "type" in t:
            return self.ty(t["type"])
        if "constant" in t:
            return str(t["constant"].get("expr", "_"))
        return "_"

    def path(self, p):
        """A path to a type or trait, written where it is defined, with its arguments."""
        known = self.paths.get(str(p.get("id")))
        name = "::".join(known["path"]) if known else p["path"]
        return name + self.args(p.get("args"))

    def args(self, a):
        if not a:
            return ""
        if "angle_bracketed" in a:
            ab = a["angle_bracketed"]
            parts = []
            for arg in ab.get("args", []):
                if "type" in arg:
                    parts.append(self.ty(arg["type"]))
                elif "lifetime" in arg:
                    parts.append(arg["lifetime"])
                elif "const" in arg:
                    parts.append(str(arg["const"].get("expr", "_")))
                else:
                    parts.append("_")
            for c in ab.get("constraints", []):
                binding = c.get("binding", {})
                if "equality" in binding:
                    parts.append(f"{c['name']} = {self.term(binding['equality'])}")
                elif "constraint" in binding:
                    parts.append(f"{c['name']}: {self.bounds(binding['constraint'])}")
            return f"<{', '.join(parts)}>" if parts else ""
        if "parenthesized" in a:
            p = a["parenthesized"]
            out = f" -> {self.ty(p['output'])}" if p.get("output") is not None else ""
            return f"({', '.join(self.ty(t) for t in p['inputs'])}){out}"
        return ""

    def ty(self, t):
        if t is None:
            return "()"
        kind, v = next(iter(t.items()))
        if kind == "resolved_path":
            return self.path(v)
        if kind == "dyn_trait":
            traits = " + ".join(self.path(x["trait"]) for x in v["traits"])
            lt = f" + {v['lifetime']}" if v.get("lifetime") else ""
            return f"dyn {traits}{lt}"
        if kind in ("generic", "primitive"):
            return v
        if kind == "tuple":
            return f"({', '.join(self.ty(x) for x in v)})"
        if kind == "slice":
            return f"[{self.ty(v)}]"
        if kind == "array":
            return f"[{self.ty(v['type'])}; {v['len']}]"
        if kind == "borrowed_ref":
            lt = f"{v['lifetime']} " if v.get("lifetime") else ""
            return f"&{lt}{'mut ' if v['is_mutable'] else ''}{self.ty(v['type'])}"
        if kind == "raw_pointer":
            return f"*{'mut' if v['is_mutable'] else 'const'} {self.ty(v['type'])}"
        if kind == "impl_trait":
            return f"impl {self.bounds(v)}"
        if kind == "qualified_path":
            trait = self.path(v["trait"]) if v.get("trait") else ""
            base = f"<{self.ty(v['self_type'])} as {trait}>" if trait else self.ty(v["self_type"])
            return f"{base}::{v['name']}{self.args(v.get('args'))}"
        if kind == "function_pointer":
            sig = v["sig"]
            out = f" -> {self.ty(sig['output'])}" if sig.get("output") is not None else ""
            return f"fn({', '.join(self.ty(x) for _, x in sig['inputs'])}){out}"
        if kind == "infer":
            return "_"
        if kind == "pat":
            return self.ty(v["type"])
        return kind


if __name__ == "__main__":
    main()
