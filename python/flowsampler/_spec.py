"""Target spec dicts to JSON text for the library's parser (numpy values become lists)."""
import json


def _plain(value):
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars
    if tolist is not None:
        return tolist()
    raise TypeError(f"target: {type(value).__name__} is not JSON")


def to_json(spec: dict) -> str:
    return json.dumps(spec, default=_plain)
