"""Errors raised by meshsim's data layer."""


class DatasetError(ValueError):
    """A recipe, a dataset folder or a shard is invalid; the message names the file, key, shard or
    sample at fault."""
