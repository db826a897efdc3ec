"""Errors raised by meshsim's FEM layer."""


class FEMError(ValueError):
    """A problem is set up wrongly (unknown boundary name, field of the wrong length, NaN
    coefficient, ...); raised before any solve, naming the problem."""


class SolverError(RuntimeError):
    """A linear or nonlinear solve failed to converge; the message gives the residual reached."""
