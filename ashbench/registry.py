"""One registry type for every extension point (timm style; no torch import).

Each place a user can extend ashbench is a :class:`Registry`: models to profile
(``ashbench.models.registry.MODELS``), spiking-neuron types of the profiler
(``ashbench.profiler.neurons.NEURON_TYPES``), energy-model kinds and built-in energy profiles
(``ashbench.energy.models``), ASH-Nets neurons and data sets (``ashbench.ashnet.neurons``,
``ashbench.ashnet.data.registry``), sweep axes (``ashbench.sweeps.spec.AXES``), table formats
(``ashbench.report.tables.FORMATS``) and plot kinds (``ashbench.report.figures.PLOTS``).

An entry is added with the decorator ``@REGISTRY.register("name")`` (or
``REGISTRY.register("name", obj)``); looking up an unknown name raises the registry's typed
``AshbenchError`` subclass with one line naming every valid entry. Names starting with ``test-``
are tiny entries for tests, registered like real ones.
"""

from __future__ import annotations

from typing import Generic, Iterator, TypeVar

from ashbench.errors import AshbenchError

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind. ``kind`` names an entry in messages ('model', 'data set')."""

    def __init__(self, kind: str, error: type[AshbenchError], plural: str | None = None):
        self.kind = kind
        self.plural = plural or f"{kind}s"
        self.error = error
        self._entries: dict[str, T] = {}
        self._items: list[tuple[str, T]] | None = None  # sorted, made again after a registration

    def register(self, name: str, obj: T | None = None):
        """Add ``obj`` under ``name``; without ``obj``, a decorator that adds what it decorates."""
        if obj is not None:
            return self._add(name, obj)
        return lambda target: self._add(name, target)

    def _add(self, name: str, obj: T) -> T:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = obj
        self._items = None
        return obj

    def get(self, name: str) -> T:
        """The entry called ``name``; the registry's error (one line, valid names listed) if none."""
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise self.error(f"unknown {self.kind} {name!r}; valid {self.plural}: {', '.join(self.names())}") from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def items(self) -> list[tuple[str, T]]:
        if self._items is None:
            self._items = sorted(self._entries.items(), key=lambda item: item[0])
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

