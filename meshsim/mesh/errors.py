"""Errors raised by meshsim's mesh layer."""


class MeshError(ValueError):
    """A mesh is invalid or cannot be made; the message names the problem and where it is."""


def format_ids(ids, limit: int = 10) -> str:
    """Render a list of ids as ``"[3, 7, 12] (3 in all)"``, at most ``limit`` shown."""
    ids = [int(i) for i in ids]
    shown = ", ".join(str(i) for i in ids[:limit])
    more = ", ..." if len(ids) > limit else ""
    return f"[{shown}{more}] ({len(ids)} in all)"
