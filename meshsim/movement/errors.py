"""Errors raised by meshsim's mesh-movement layer."""
from ..fem.errors import SolverError


class MovementError(SolverError):
    """Mesh movement failed or cannot be set up: the Monge-Ampere iteration diverged or ran out of
    iterations, the mesh tangled (the message names the cells whose signed area changed sign), or
    the boundary cannot slide (a curved boundary not declared fixed). A `SolverError`, so dataset
    generation records the sample as failed with this message."""
