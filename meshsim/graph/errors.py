"""Errors raised by meshsim's graph layer."""


class GraphError(ValueError):
    """A graph or the fields put on it are invalid; the message names the field or attribute."""
