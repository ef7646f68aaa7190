"""Typed errors. Every error a user can cause is an ``AshbenchError``: the CLI prints its message
as one line and exits with code 2; no traceback. Library callers catch the subclass they care for."""


class AshbenchError(Exception):
    """Base class: a problem with what the user asked for (exit code 2 from the CLI)."""

    exit_code = 2


class ModelNotFoundError(AshbenchError):
    """An unknown registered model name, or a factory path that cannot be loaded."""


class FactoryError(AshbenchError):
    """A model factory that fails or returns the wrong thing."""


class CheckpointError(AshbenchError):
    """A missing, corrupt, truncated or mismatching checkpoint."""


class InputError(AshbenchError):
    """Inputs of the wrong shape or layout, or an invalid batch size / number of time steps."""


class SpikeSemanticsError(AshbenchError):
    """A spiking neuron emitted values outside the declared spike semantics."""


class UnsupportedOpError(AshbenchError):
    """``strict=True`` and an op ran for which the profiler has no counting rule."""


class EnergyModelError(AshbenchError):
    """An unknown energy model name or a malformed energy-model TOML file."""


class ConfigError(AshbenchError):
    """An unknown config name or key, or an invalid config value."""


class DataError(AshbenchError):
    """A malformed data set file (e.g. Karpathy JSON) or a missing image."""


class ResultsError(AshbenchError):
    """A results file of another schema, or results lacking the needed columns."""


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message (its type name when it has none)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
