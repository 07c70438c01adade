"""A data-only store for the what-if state: JSON for the structure, one ``.npz`` of plain arrays for the data.

Reading a store never executes code: the JSON is parsed with :mod:`json`, the
arrays are read with ``numpy.load(allow_pickle=False)`` (object arrays are
refused when writing), geometries are WKB decoded by shapely, and the only
Python objects rebuilt are the classes listed in the ``classes`` table given
to :func:`decode` (their fields set from the decoded data, no method of
theirs called except a declared constructor).  Anything else in the JSON is an
error, not an instruction.

The encoding of one value is a JSON node:

* ``null``, booleans, integers, floats (``NaN`` / ``Infinity`` as Python's
  :mod:`json` writes them), strings: themselves;
* ``{"$": "list" | "tuple" | "set", "v": [...]}``; ``{"$": "dict", "v": [[key, value], ...]}``
  (keys of any encodable type);
* ``{"$": "array", "a": NAME}``: a numeric, boolean, datetime or fixed-width
  text array of the ``.npz``; ``{"$": "texts" | "wkb", ...}``: strings or
  geometries as one byte blob with offsets;
* ``{"$": "frame", ...}``: a (Geo)DataFrame, column by column;
* ``{"$": "crs", "v": WKT}``, ``{"$": "geom", "v": HEX_WKB}``, numpy scalars;
* ``{"$": "obj", "cls": NAME, "f": {field: node}}``: an instance of a listed class.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path, PurePath
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

__all__ = ["StoreError", "Encoder", "decode", "write_store", "read_store", "file_sha256"]


class StoreError(ValueError):
    """The store holds something it may not hold (or was damaged)."""


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            b = fh.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


# ---------------------------------------------------------------------------
# byte blobs (strings, WKB): one uint8 array and int64 offsets
# ---------------------------------------------------------------------------
def _blob(items: list[bytes | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lens = np.fromiter((0 if b is None else len(b) for b in items), dtype=np.int64, count=len(items))
    offsets = np.zeros(len(items) + 1, dtype=np.int64)
    np.cumsum(lens, out=offsets[1:])
    data = np.frombuffer(b"".join(b for b in items if b is not None), dtype=np.uint8)
    missing = np.fromiter((b is None for b in items), dtype=bool, count=len(items))
    return data, offsets, missing


def _unblob(data: np.ndarray, offsets: np.ndarray) -> list[bytes]:
    raw = data.tobytes()
    o = offsets.tolist()
    return [raw[o[i]:o[i + 1]] for i in range(len(o) - 1)]


class Encoder:
    """Encode values into a JSON tree, collecting arrays under generated names.

    Parameters
    ----------
    classes : mapping
        Class -> (name, encode_fields) where ``encode_fields(obj) -> dict`` gives the
        fields to store (None: the dataclass fields).
    """

    def __init__(self, classes: Mapping[type, tuple[str, Callable[[Any], dict] | None]]):
        self.classes = dict(classes)
        self.arrays: dict[str, np.ndarray] = {}

    # -- arrays ----------------------------------------------------------------
    def _put(self, arr: np.ndarray) -> str:
        arr = np.ascontiguousarray(arr)
        if arr.dtype.hasobject:
            raise StoreError(f"object array of shape {arr.shape} cannot be stored as data")
        name = f"a{len(self.arrays)}"
        self.arrays[name] = arr
        return name

    def _array(self, arr: np.ndarray) -> dict:
        if arr.dtype.kind == "O":
            return self._object_values(list(arr.ravel()), shape=list(arr.shape))
        return {"$": "array", "a": self._put(arr)}

    def _object_values(self, values: list, shape: list | None = None) -> dict:
        """An object array: all text, all geometries, else value by value."""
        shape = shape if shape is not None else [len(values)]
        if all(v is None or isinstance(v, str) for v in values) and any(isinstance(v, str) for v in values):
            data, off, miss = _blob([None if v is None else v.encode("utf-8") for v in values])
            return {"$": "texts", "d": self._put(data), "o": self._put(off), "m": self._put(miss), "shape": shape}
        if all(v is None or isinstance(v, shapely.Geometry) for v in values) and any(v is not None for v in values):
            wkb = shapely.to_wkb(np.asarray(values, dtype=object), hex=False, include_srid=False, flavor="extended")
            data, off, miss = _blob(list(wkb))
            return {"$": "wkb", "d": self._put(data), "o": self._put(off), "m": self._put(miss), "shape": shape}
        return {"$": "objects", "v": [self.enc(v) for v in values], "shape": shape}

    # -- frames ----------------------------------------------------------------
    def _column(self, s: pd.Series | pd.Index) -> dict:
        dt = s.dtype
        if isinstance(dt, gpd.array.GeometryDtype):
            return {"kind": "geometry", "v": self._object_values(list(np.asarray(s.values, dtype=object)))}
        if isinstance(dt, pd.CategoricalDtype):
            return {"kind": "category", "codes": self._put(np.asarray(s.cat.codes if isinstance(s, pd.Series) else s.codes)),
                    "categories": self._column(dt.categories), "ordered": bool(dt.ordered)}
        if isinstance(dt, np.dtype) and dt.kind != "O":
            return {"kind": "numpy", "a": self._put(np.asarray(s.to_numpy()))}
        if isinstance(dt, np.dtype):  # object
            return {"kind": "object", "v": self._object_values(list(s.to_numpy()))}
        # pandas extension dtypes (str, Int64, boolean, Float64 ...): values and a mask of missing ones
        miss = np.asarray(pd.isna(s), dtype=bool)
        vals = list(np.asarray(s.astype(object)).ravel())
        vals = [None if m else v for v, m in zip(vals, miss)]
        return {"kind": "extension", "dtype": str(dt), "v": self._object_values(vals) if vals else
                {"$": "objects", "v": [], "shape": [0]}}

    def _frame(self, df: pd.DataFrame) -> dict:
        if isinstance(df.columns, pd.MultiIndex) or isinstance(df.index, pd.MultiIndex):
            raise StoreError("multi-indexed tables are not stored")
        node: dict[str, Any] = {"$": "frame", "columns": [self.enc(c) for c in df.columns],
                                "data": [self._column(df.iloc[:, i]) for i in range(df.shape[1])]}
        idx = df.index
        if isinstance(idx, pd.RangeIndex):
            node["index"] = {"range": [idx.start, idx.stop, idx.step], "name": self.enc(idx.name)}
        else:
            node["index"] = {"values": self._column(idx), "name": self.enc(idx.name)}
        if isinstance(df, gpd.GeoDataFrame):
            node["geo"] = True
            name = df._geometry_column_name
            node["geometry"] = self.enc(name)
            node["crs"] = self.enc(df.crs) if name in df.columns else None
            # the CRS of every geometry column
            node["crs_of"] = [self.enc(getattr(df[c], "crs", None)) if isinstance(df[c].dtype, gpd.array.GeometryDtype)
                              else None for c in df.columns] if name in df.columns else []
        return node

    # -- any value -------------------------------------------------------------
    def enc(self, v: Any) -> Any:
        """The JSON node of ``v``."""
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, int) and not isinstance(v, np.integer):
            return v
        if isinstance(v, float) and not isinstance(v, np.floating):
            return v
        if isinstance(v, np.generic):
            if v.dtype.kind == "O":
                raise StoreError("object scalar")
            return {"$": "scalar", "dtype": v.dtype.str, "v": v.item() if v.dtype.kind in "biuf" else str(v)}
        if isinstance(v, np.ndarray):
            return self._array(v)
        if isinstance(v, gpd.GeoSeries):
            return {"$": "geoseries", "v": self._frame(v.to_frame(name=v.name if v.name is not None else "geometry")
                                                       .set_geometry(v.name if v.name is not None else "geometry")),
                    "name": self.enc(v.name)}
        if isinstance(v, pd.DataFrame):
            return self._frame(v)
        if isinstance(v, pd.Series):
            return {"$": "series", "v": self._frame(v.to_frame(name=0 if v.name is None else v.name)),
                    "name": self.enc(v.name)}
        if isinstance(v, pyproj.CRS):
            code = v.to_epsg(min_confidence=100)
            return {"$": "crs", "v": f"EPSG:{code}" if code is not None and v == pyproj.CRS.from_epsg(code) else v.to_wkt()}
        if isinstance(v, shapely.Geometry):
            return {"$": "geom", "v": shapely.to_wkb(v, hex=True, include_srid=False, flavor="extended")}
        if isinstance(v, PurePath):
            return {"$": "path", "v": str(v)}
        if isinstance(v, tuple):
            return {"$": "tuple", "v": [self.enc(x) for x in v]}
        if isinstance(v, list):
            return {"$": "list", "v": [self.enc(x) for x in v]}
        if isinstance(v, (set, frozenset)):
            return {"$": "set", "v": [self.enc(x) for x in sorted(v, key=repr)]}
        if isinstance(v, dict):
            return {"$": "dict", "v": [[self.enc(k), self.enc(x)] for k, x in v.items()]}
        spec = self.classes.get(type(v))
        if spec is None:
            raise StoreError(f"a {type(v).__module__}.{type(v).__qualname__} is not a stored kind of value")
        name, fields_of = spec
        f = fields_of(v) if fields_of is not None else {fd.name: getattr(v, fd.name) for fd in dataclasses.fields(v)}
        return {"$": "obj", "cls": name, "f": {k: self.enc(x) for k, x in f.items()}}


# ---------------------------------------------------------------------------
# decoding
# ---------------------------------------------------------------------------
class _Decoder:
    def __init__(self, arrays: Mapping[str, np.ndarray], classes: Mapping[str, tuple[type, Callable[[dict], Any] | None]]):
        self.arrays = arrays
        self.classes = classes

    def _get(self, name: Any) -> np.ndarray:
        if not isinstance(name, str) or name not in self.arrays:
            raise StoreError(f"missing array {name!r}")
        a = self.arrays[name]
        if a.dtype.hasobject:
            raise StoreError("object array")
        return a

    def _blob_values(self, node: dict, fn: Callable[[list[bytes]], list]) -> np.ndarray:
        items = _unblob(self._get(node["d"]), self._get(node["o"]))
        miss = self._get(node["m"])
        vals = np.empty(len(items), dtype=object)
        if len(items):
            keep = np.nonzero(~miss)[0]
            if len(keep):
                vals[keep] = fn([items[i] for i in keep.tolist()])
        return vals.reshape(tuple(node.get("shape") or [len(items)]))

    def _values(self, node: dict) -> np.ndarray:
        kind = node.get("$")
        if kind == "texts":
            return self._blob_values(node, lambda bs: [b.decode("utf-8") for b in bs])
        if kind == "wkb":
            return self._blob_values(node, lambda bs: list(shapely.from_wkb(np.asarray(bs, dtype=object))))
        if kind == "objects":
            out = np.empty(len(node["v"]), dtype=object)
            for i, x in enumerate(node["v"]):
                out[i] = self.dec(x)
            return out.reshape(tuple(node.get("shape") or [len(node["v"])]))
        if kind == "array":
            return self._get(node["a"])
        raise StoreError(f"unknown values {kind!r}")

    def _column(self, node: dict, name: Any = None, crs: Any = None) -> pd.Series:
        kind = node.get("kind")
        if kind == "numpy":
            return pd.Series(self._get(node["a"]), name=name, copy=False)
        if kind == "object":
            return pd.Series(self._values(node["v"]), dtype=object, name=name)
        if kind == "geometry":
            return gpd.GeoSeries(self._values(node["v"]), crs=crs, name=name)
        if kind == "category":
            cats = self._column(node["categories"])
            return pd.Series(pd.Categorical.from_codes(self._get(node["codes"]), categories=pd.Index(cats),
                                                       ordered=bool(node["ordered"])), name=name)
        if kind == "extension":
            dtype = pd.api.types.pandas_dtype(str(node["dtype"]))
            return pd.Series(pd.array(list(self._values(node["v"])), dtype=dtype), name=name)
        raise StoreError(f"unknown column kind {kind!r}")

    def _frame(self, node: dict) -> pd.DataFrame:
        cols = [self.dec(c) for c in node["columns"]]
        crs_of = [self.dec(c) for c in node.get("crs_of") or []] or [None] * len(cols)
        series = [self._column(d, name=c, crs=k) for d, c, k in zip(node["data"], cols, crs_of)]
        ix = node["index"]
        if "range" in ix:
            a, b, c = (int(x) for x in ix["range"])
            index = pd.RangeIndex(a, b, c, name=self.dec(ix.get("name")))
        else:
            index = pd.Index(self._column(ix["values"]), name=self.dec(ix.get("name")))
        n = len(index)
        data = {i: s.set_axis(pd.RangeIndex(n)) if len(s) == n else s for i, s in enumerate(series)}
        df = pd.DataFrame(data, index=pd.RangeIndex(n)) if series else pd.DataFrame(index=pd.RangeIndex(n))
        df.columns = pd.Index(cols, dtype=object) if cols else df.columns
        if cols and all(isinstance(c, str) for c in cols):
            df.columns = pd.Index(cols)
        df.index = index
        if node.get("geo"):
            geom = self.dec(node.get("geometry"))
            crs = self.dec(node.get("crs"))
            if geom in df.columns:
                return gpd.GeoDataFrame(df, geometry=geom, crs=crs)
            return gpd.GeoDataFrame(df)
        return df

    def dec(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict):
            raise StoreError(f"unexpected JSON value {type(node).__name__}")
        kind = node.get("$")
        if kind in ("array", "texts", "wkb", "objects"):
            return self._values(node)
        if kind == "frame":
            return self._frame(node)
        if kind == "series":
            df = self._frame(node["v"])
            return df.iloc[:, 0].rename(self.dec(node.get("name")))
        if kind == "geoseries":
            df = self._frame(node["v"])
            return df.geometry.rename(self.dec(node.get("name")))
        if kind == "list":
            return [self.dec(x) for x in node["v"]]
        if kind == "tuple":
            return tuple(self.dec(x) for x in node["v"])
        if kind == "set":
            return {self.dec(x) for x in node["v"]}
        if kind == "dict":
            return {self.dec(k): self.dec(x) for k, x in node["v"]}
        if kind == "path":
            return Path(str(node["v"]))
        if kind == "crs":
            return pyproj.CRS.from_user_input(str(node["v"]))
        if kind == "geom":
            return shapely.from_wkb(str(node["v"]))
        if kind == "scalar":
            return np.array(node["v"], dtype=np.dtype(str(node["dtype"]))).reshape(())[()]
        if kind == "obj":
            spec = self.classes.get(node.get("cls"))
            if spec is None:
                raise StoreError(f"unknown class {node.get('cls')!r}")
            cls, build = spec
            fields = {str(k): self.dec(x) for k, x in node["f"].items()}
            if build is not None:
                return build(fields)
            return _dataclass_from(cls, fields)
        raise StoreError(f"unknown node {kind!r}")


def _dataclass_from(cls: type, fields: dict) -> Any:
    """An instance of a dataclass with the given field values (defaults for the others; no __init__ run)."""
    obj = cls.__new__(cls)
    for fd in dataclasses.fields(cls):
        if fd.name in fields:
            value = fields[fd.name]
        elif fd.default is not dataclasses.MISSING:
            value = fd.default
        elif fd.default_factory is not dataclasses.MISSING:
            value = fd.default_factory()
        else:
            raise StoreError(f"{cls.__name__}: field {fd.name} missing")
        object.__setattr__(obj, fd.name, value)
    return obj


def decode(tree: Any, arrays: Mapping[str, np.ndarray], classes: Mapping[str, tuple[type, Callable[[dict], Any] | None]]) -> Any:
    """Rebuild a value from its JSON tree and arrays (see the module docstring)."""
    try:
        return _Decoder(arrays, classes).dec(tree)
    except StoreError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise StoreError(f"{type(exc).__name__}: {exc}") from exc


# ---------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------
def write_store(folder: Path, json_name: str, npz_name: str, tree: Any, arrays: Mapping[str, np.ndarray],
                header: dict) -> Path:
    """Write ``npz_name`` (arrays) and ``json_name`` (``header`` + the tree + the SHA-256 of the arrays file)."""
    folder = Path(folder)
    npz = folder / npz_name
    with open(npz, "wb") as fh:
        np.savez(fh, **{k: np.ascontiguousarray(v) for k, v in arrays.items()}, allow_pickle=False)
    doc = dict(header)
    doc["arrays"] = {"file": npz_name, "sha256": file_sha256(npz)}
    doc["state"] = tree
    path = folder / json_name
    path.write_text(json.dumps(doc, ensure_ascii=False, allow_nan=True, separators=(",", ":")), encoding="utf-8")
    return path


def read_header(path: Path) -> dict:
    """The JSON document of a store (structure and header; no arrays read)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreError(f"not a readable JSON document ({exc})") from exc
    if not isinstance(doc, dict):
        raise StoreError("not a state document")
    return doc


def read_store(folder: Path, doc: dict) -> dict[str, np.ndarray]:
    """The arrays of a store whose JSON document is ``doc``, after checking their SHA-256."""
    meta = doc.get("arrays") or {}
    name = str(meta.get("file", ""))
    if not name or Path(name).name != name:
        raise StoreError("no arrays file named")
    npz = Path(folder) / name
    if not npz.exists():
        raise StoreError(f"{name} is missing")
    if file_sha256(npz) != meta.get("sha256"):
        raise StoreError(f"{name} does not match its checksum (changed after the audit)")
    with np.load(npz, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}




