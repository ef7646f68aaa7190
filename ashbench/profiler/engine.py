"""The counting engine: one forward pass under ``torch.no_grad()`` and a TorchDispatchMode.

Every aten op is seen below autograd, so ops inside autograd functions and custom ops are
visible; JIT tracing is not involved. Module forward hooks keep the stack of fully-qualified
module names that are running; an op's counts are credited to every module on that stack (the
module that ran it and all its ancestors). A spiking-neuron module is counted whole from its
input and output, whatever kernel runs it (a Python loop, spikingjelly's ``sj_lif`` custom op,
a CUDA/Triton kernel): its forward runs with the counting mode suspended. So does a module counted whole
(``rules.WHOLE_MODULES``: torch's recurrent modules), counted as one op from its configuration, operands
and results. Composite functions (``rules.COMPOSITE_RULES``: ``scaled_dot_product_attention``) are wrapped
while the forward runs, run with the counting mode off and are counted as one op from their operands and
results. Both count the same on every backend.

Provenance is decided as the forward runs (which tensors hold events: ``tracking.py``); the counting
itself waits. Each op's rule and each neuron's spike count run after the forward, all together, where
they cost several times less than between the model's kernels: an op is counted with its operands as
they were when it ran (``SpikeTracker.as_of``; at most ``PENDING_BYTES`` of results held alive, past
which the held ops are counted at once). An op that writes to an argument first has everything held
counted; a tensor changed in place where the counting mode does not see it (inside a neuron or a
composite) voids the run, which is made again counting every op as it comes.

Nothing else stands between the model and PyTorch: no TorchFunctionMode (which would cost a Python
call per torch function and switch off PyTorch's fused inference paths), so the kernels that run are
those of a plain ``eval()`` forward.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from contextlib import nullcontext

import torch
from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode, _disable_current_modes

from ashbench.errors import AshbenchError, InputError, UnsupportedOpError, first_line
from ashbench.profiler import frameworks  # noqa: F401  (registers snnTorch, Norse, sinabs neurons)
from ashbench.profiler.aggregate import build_profile
from ashbench.profiler.counts import OP_FIELDS
from ashbench.profiler.inputs import resolve_batch
from ashbench.profiler.neurons import (
    NeuronStats,
    framework_of,
    neuron_steps,
    record_input,
    record_output,
    reset_neurons,
)
from ashbench.profiler.provenance import event_rule
from ashbench.profiler.result import Profile
from ashbench.profiler.rules import COMPOSITE_RULES, WHOLE_MODULES, classify
from ashbench.profiler.spikes import parse_semantics
from ashbench.profiler.tracking import NOW, SpikeTracker, _flat, tensors_of
from ashbench.profiler.walk import NEURON, PLAIN, ModelWalk

# func -> (handler / 'free' / None, name in reports, event rule without counts, event rule with counts,
# whether it writes to an argument): what an aten op overload is, looked up once per process
# (``classify``, ``provenance.event_rule``, the schema).
_OP_INFO: dict = {}
_FIELD_INDEX = {name: i for i, name in enumerate(OP_FIELDS)}


def _op_info(func) -> tuple:
    info = _OP_INFO.get(func)
    if info is None:
        info = _OP_INFO[func] = (classify(func), str(func), event_rule(func, False), event_rule(func, True),
                                 _writes_argument(func))
    return info


def _writes_argument(func) -> bool:
    schema = getattr(func, "_schema", None)
    return bool(getattr(schema, "is_mutable", True))  # unknown: assume it may write


class RuleFailure(Exception):
    """A counting rule raised: a profiler bug (reported as such, never as an input error)."""


class _Redo(Exception):
    """This run is void and the profile is made again with the options in ``_Run.redo``."""


class _UnwrappedComposite(_Redo):
    """A composite function ran its decomposition without passing through its wrapper (a reference
    taken before the profile started): the profile is made again under a TorchFunctionMode."""


# Ops and neuron outputs waiting for the end of the forward keep at most this many bytes of their results
# alive (their operands too, which were alive when they ran); past it they are counted at once.
PENDING_BYTES = 64 << 20
_OP, _NEURON = "op", "neuron"  # the kinds of pending items
TOGETHER_ELEMENTS = 1 << 16  # neuron outputs up to this size are counted together at a flush (a copy each)


# The op that only the math fallback of scaled_dot_product_attention runs (the softmax of its scores):
# seen outside a counted composite, SDPA was called through a reference the wrappers cannot reach.
_UNWRAPPED_MARKER = getattr(getattr(torch.ops.aten, "_safe_softmax", None), "default", None)


class _Run:
    """Mutable state of one counted forward pass."""

    def __init__(self, walk: ModelWalk, semantics, strict: bool, function_mode: bool = False, defer: bool = True):
        self.strict = strict
        self.function_mode = function_mode  # composites caught by a TorchFunctionMode (the fallback)
        self.defer = defer  # count ops and neuron outputs at the next flush (``flush_pending``), not as they come
        self.redo: dict = {}  # options of a new run when this one is void (set even if the model swallows the raise)
        self.pending: list = []  # ops and neuron outputs to count, in call order (``_OP`` / ``_NEURON`` items)
        self.pending_bytes = 0
        self.semantics = semantics
        self.sums_carry_events = semantics.kind in ("auto", "multi")  # a sum of spikes is a count of events
        self._event_slot = 3 if self.sums_carry_events else 2  # which event rule of _op_info applies
        self.walk = walk
        self.stack_key: tuple = ()  # names of the modules running, outermost first (a record's key)
        self.absorb_depth = 0  # > 0 inside a neuron or a counted composite op
        self.suspended: list = []  # contexts that switched the counting mode off inside a neuron
        self.suspend_depth = 0  # length of the module stack when the module that suspended it was pushed
        self.mode = None  # the _CountingMode counting this run (set when it is entered)
        self.records: dict[tuple, list] = {}
        self.neurons: dict[str, NeuronStats] = {}
        self.neuron_stacks: dict[str, tuple] = {}
        self.unsupported: dict[tuple, int] = defaultdict(int)
        self.warnings: list[str] = list(walk.warnings)
        self.frameworks: dict[int, tuple] = {}  # id(neuron module) -> (its NeuronFramework, time axis)
        self.tracker = SpikeTracker(semantics, walk.weights)

    # -- module tracking -------------------------------------------------------------------
    def push(self, name: str, kind: int) -> None:
        self.stack_key += (name,)
        if kind:  # a neuron, or a module counted whole: absorbed
            self.absorb_depth += 1
            if not self.suspended:
                self._suspend()
                self.suspend_depth = len(self.stack_key)

    def pop(self, kind: int) -> None:
        self.stack_key = self.stack_key[:-1]
        self.absorb_depth -= kind != PLAIN

    def _suspend(self) -> None:
        """Run a neuron's forward (or a module counted whole, or a composite) with the counting mode off: a
        neuron's inner ops are its membrane update (counted from its input and output), and running them
        natively keeps the neuron's time and memory those of a plain forward. The counting mode is
        normally the top of the dispatch-mode stack and is popped alone (a mode of the caller's below it
        keeps seeing the neuron's ops); otherwise (the model pushed a mode of its own) every mode is
        switched off, and so is the TorchFunctionMode of the fallback run."""
        depth = torch._C._len_torch_dispatch_stack()
        if self.mode is not None and depth and torch._C._get_dispatch_stack_at(depth - 1) is self.mode:
            torch._C._pop_torch_dispatch_stack(None)
            self.suspended.append(_Repush(self.mode))
        else:
            ctx = _disable_current_modes()
            ctx.__enter__()
            self.suspended.append(ctx)
        if self.function_mode:
            ctx = torch._C.DisableTorchFunction()
            ctx.__enter__()
            self.suspended.append(ctx)

    def resume(self) -> None:
        """Switch the counting mode back on (idempotent; also used after an exception)."""
        while self.suspended:
            self.suspended.pop().__exit__(None, None, None)

    def on_neuron(self, name: str, module, x, out) -> None:
        """Count one neuron call; runs while the counting modes are still suspended."""
        entry = self.frameworks.get(id(module))
        if entry is None:  # the module's framework and time axis, looked up once per profile
            framework = framework_of(module, self.walk.extra_neuron_types, self.walk.installed)
            axis = framework.time_axis(module) if framework is not None else None
            entry = self.frameworks[id(module)] = (framework, axis)
        framework, axis = entry
        spikes = framework.spikes(out) if framework is not None else None
        if not (torch.is_tensor(x) and torch.is_tensor(spikes)):
            self.warn(f"neuron '{name}' ({type(module).__name__}) returned no spike tensor; it is not counted")
            return
        stats = self.neurons.get(name)
        if stats is None:
            stats = self.neurons[name] = NeuronStats(type(module).__name__)
        self.neuron_stacks[name] = self.stack_key
        record_input(stats, module, x)
        self.tracker.mark(spikes)  # a spike tensor from here on; its values are checked when counted
        self.tracker.watch = False  # a recognised neuron ran: no need to look for unrecognised ones
        call = (stats, module, spikes, name, axis)
        if not self.defer:
            record_output(stats, module, spikes, self.semantics, name, axis)
            return
        self._hold((_NEURON, call, spikes._version), spikes.numel() * spikes.element_size())

    def _hold(self, item: tuple, nbytes: int) -> None:
        self.pending.append(item)
        self.pending_bytes += nbytes
        if self.pending_bytes > PENDING_BYTES:
            self.flush_pending()

    def flush_pending(self) -> None:
        """Count the ops and neuron outputs held since the last flush, in call order (with the counting
        mode off): each op as its provenance and values stood when it ran (``SpikeTracker.as_of``), each
        neuron output as emitted. Counted together they cost several times less than between the model's
        kernels (whose data fill the caches). A tensor changed in place since it was held (where the
        counting mode could not see it: an op that writes to an argument flushes first) voids the run,
        which is made again counting everything as it comes."""
        pending, self.pending, self.pending_bytes = self.pending, [], 0
        tracker = self.tracker
        counted = self._small_outputs_together(pending)
        try:
            for item in pending:
                if item[0] is _OP:
                    _, name, rule, args, kwargs, out, stack_key, clock, tensors, versions = item
                    for t, version in zip(tensors, versions):
                        if t._version != version:
                            self.redo["defer"] = False
                            raise _Redo(f"an operand of {name} was modified in place before it was counted")
                    tracker.as_of = clock
                    self._count(name, rule, args, kwargs, out, stack_key, tensors)
                    continue
                _, (stats, module, spikes, name, axis), version = item
                if spikes._version != version:
                    self.redo["defer"] = False
                    raise _Redo(f"the output of neuron '{name}' was modified in place")
                record_output(stats, module, spikes, self.semantics, name, axis, counted.get(id(item)))
        finally:
            tracker.as_of = NOW

    def _small_outputs_together(self, pending: list) -> dict:
        """id(pending neuron item) -> its 0/1 events per step, for the small outputs (at most
        ``TOGETHER_ELEMENTS``) unchanged since they were held, counted together in one
        ``unit_events_per_row_of`` per dtype and device (outputs of one row width adjacent: one row sum
        each): a few reductions instead of a few per call (each costs microseconds however small its
        tensor). When anything but 0/1 values is among them, each is checked and counted on its own."""
        groups: dict = {}
        for item in pending:
            if item[0] is _NEURON:
                _, (_stats, _module, spikes, _name, axis), version = item
                if spikes._version == version and spikes.numel() <= TOGETHER_ELEMENTS:
                    steps = neuron_steps(spikes, axis)
                    groups.setdefault((steps.dtype, steps.device), []).append((steps.shape[1], id(item), steps))
        counted = {}
        for members in groups.values():
            if len(members) < 2:
                continue
            members.sort(key=lambda member: member[0])  # by row width, call order kept within one (stable)
            per_row = self.semantics.unit_events_per_row_of([steps for _, _, steps in members])
            if per_row is not None:
                counted.update(zip([key for _, key, _ in members], per_row))
        return counted

    def warn(self, message: str) -> None:
        """A condition the report must state (each message once)."""
        if message not in self.warnings:
            self.warnings.append(message)

    # -- op counting -----------------------------------------------------------------------
    def on_op(self, func, info: tuple, args, kwargs, out) -> None:
        """Count one aten op that ran; ``info`` is its ``_op_info``. Its events are propagated at once
        (provenance is decided in call order); its counting rule runs at the next flush."""
        if self.absorb_depth:
            return
        if func is _UNWRAPPED_MARKER and not self.function_mode:
            self.redo["function_mode"] = True  # also when the model swallows the exception below
            raise _UnwrappedComposite(str(func))
        rule = info[0]
        if rule is None:
            self._unsupported(func)
            return
        if rule != "free":  # one that wrote to an argument (its version bumped after this returns): at once
            self._counted_op(info[1], rule, args, kwargs, out, at_once=info[4])
        events = info[self._event_slot]
        if events is not None:
            operands = args if events is True else events(args, kwargs)
            if operands is not None:
                self.tracker.propagate(operands, out)

    def _counted_op(self, name: str, rule, args, kwargs, out, at_once: bool = False) -> None:
        """Count an op with ``rule``, credited to the modules running: held for the next flush (``defer``),
        else (or ``at_once``) now. Its tensor operands (those of ``args``) are read for its memory traffic
        and checked unchanged at the flush."""
        tensors = tensors_of(args)
        if at_once or not self.defer:
            self._count(name, rule, args, kwargs, out, self.stack_key, tensors)
            return
        tracker = self.tracker
        item = (_OP, name, rule, args, kwargs, out, self.stack_key, tracker.clock, tensors,
                [t._version for t in tensors])
        tracker.clock += 1  # marks made from here on are newer than this op
        self._hold(item, _nbytes(out))

    def _count(self, name: str, rule, args, kwargs, out, stack_key: tuple, tensors: list) -> None:
        try:
            branch, counts = rule(self.tracker, args, kwargs, out)
        except Exception as exc:  # a bug in a rule must not pass for a user's bad input
            raise RuleFailure(f"counting rule for {name} failed: {type(exc).__name__}: {exc}") from exc
        self._add_bytes(counts, tensors, out)
        self._record(stack_key, name, branch, counts)

    def on_whole(self, name: str, module, args, kwargs, out) -> None:
        """Count one call of module ``name``, counted whole (``rules.WHOLE_MODULES``), as its own op, at once
        (its rule is arithmetic on the configuration: nothing to gain by holding it); runs while the counting
        mode is still suspended. Its operands: the tensors it was given, its parameters."""
        whole = WHOLE_MODULES[type(module)]
        operands = tensors_of(args) + tensors_of(tuple(kwargs.values())) if kwargs else tensors_of(args)
        operands += [p for p in module._parameters.values() if p is not None]
        self._count(whole.name(module), lambda ctx, a, k, o: whole.rule(ctx, module, a, k, o),
                    args, kwargs, out, self.stack_key + (name,), operands)

    def on_composite(self, name: str, rule, args, kwargs, run_it):
        """Count a composite torch function as one op with ``rule`` (``rules.Composite``): it runs with
        the counting mode off, like a neuron (the aten ops it decomposes into differ by backend: a fused
        kernel, or a decomposition; none is seen or counted), and is counted from its operands and results."""
        if self.absorb_depth:
            return run_it()
        self.absorb_depth += 1
        self._suspend()
        try:
            out = run_it()
            if self.defer:
                self._counted_op(name, rule, args, kwargs, out)
            else:
                with _disable_current_modes() if torch._C._len_torch_dispatch_stack() else _NO_CONTEXT:
                    self._counted_op(name, rule, args, kwargs, out)  # unseen by a caller's mode too
        finally:
            self.absorb_depth -= 1
            self.resume()
        return out

    def _unsupported(self, func) -> None:
        module = self.stack_key[-1] if self.stack_key else ""
        if self.strict:
            raise UnsupportedOpError(f"no counting rule for op {func} (in module '{module or 'model'}')")
        self.unsupported[(str(func), module)] += 1

    def _add_bytes(self, counts: dict, tensors: list, out) -> None:
        weight = read = 0
        params = self.tracker._params
        for a in tensors:
            if a.untyped_storage().data_ptr() in params:  # tracker.is_param, inlined
                weight += a.nbytes
            else:
                read += a.nbytes
        counts["weight_read_bytes"] = weight
        counts["activation_read_bytes"] = read
        counts["activation_write_bytes"] = _nbytes(out)

    def _record(self, stack_key: tuple, op: str, branch: str, counts: dict) -> None:
        key = (stack_key, op, branch)
        row = self.records.get(key)
        if row is None:
            row = self.records[key] = [0] * (len(OP_FIELDS) + 1)
        for field, value in counts.items():
            i = _FIELD_INDEX.get(field)
            if i is not None:
                row[i] += value
        row[-1] += 1


_NO_CONTEXT = nullcontext()


def _nbytes(out) -> int:
    """Bytes of an op's results (a tensor, or the tensors of a tuple)."""
    return out.nbytes if type(out) is torch.Tensor else sum(o.nbytes for o in tensors_of(out))


class _Repush:
    """Puts a dispatch mode popped by ``_Run._suspend`` back on the stack (``__exit__``, as a context)."""

    __slots__ = ("mode",)

    def __init__(self, mode):
        self.mode = mode

    def __exit__(self, *exc) -> None:
        torch._C._push_on_torch_dispatch_stack(self.mode)


class _CountingMode(TorchDispatchMode):
    def __init__(self, run: _Run):
        super().__init__()
        self.run = run
        run.mode = self

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        run = self.run
        info = _OP_INFO.get(func) or _op_info(func)
        if run.pending and info[4]:
            run.flush_pending()  # an op that writes to an argument may change a tensor a held count reads
        out = func(*args, **kwargs)
        run.on_op(func, info, args, kwargs, out)
        return out


class _CompositeMode(TorchFunctionMode):
    """The fallback for composites called through a reference the wrappers cannot reach: sees every
    torch-level call and counts each function of ``rules.COMPOSITE_RULES`` as one op. It costs a
    Python call per torch function and switches off PyTorch's fused inference paths (e.g.
    nn.MultiheadAttention runs its separate ops, each counted)."""

    def __init__(self, run: _Run):
        super().__init__()
        self.run = run
        # the originals, also while another thread's profile has the wrappers installed
        self.rules = {}
        for name, composite in COMPOSITE_RULES.items():
            function = getattr(composite.namespaces[0], name)
            self.rules[getattr(function, "__wrapped__", function)] = (name, composite)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        found = self.rules.get(func)
        if found is not None:
            name, composite = found
            return self.run.on_composite(name, composite.rule, args, kwargs, lambda: func(*args, **kwargs))
        return func(*args, **kwargs)


# The run counting composites in each thread (``_Wrapped``), and the wrappers' installation, shared by
# the profiles running at the same time (each installs what it needs, the last one out restores the originals).
_ACTIVE = threading.local()
_INSTALL_LOCK = threading.Lock()
_INSTALLED: dict = {"profiles": 0, "names": set(), "entries": []}


class _Wrapped:
    """For one forward: gradients off (what ``torch.no_grad()`` does, without its context object), the fast
    paths the dispatch mode cannot count switched off (``ModelWalk.fast_paths``: module, attribute; restored
    after), and the functions of ``rules.COMPOSITE_RULES`` replaced, in their namespaces, by wrappers that
    count a call as one op (``_Run.on_composite``) whatever backend runs it, for the run of the calling
    thread; calls from a thread without a profile pass through uncounted. Safe with profiles in several
    threads and nested in one (each adds what it needs); the originals are back when the last one ends.
    Under the function-mode fallback (``_CompositeMode``) neither the fast paths nor the wrappers are needed."""

    __slots__ = ("run", "previous", "fast_paths", "grad")

    def __init__(self, run: _Run):
        self.run = run
        self.fast_paths = [] if run.function_mode else run.walk.fast_paths

    def __enter__(self):
        self.grad = torch.is_grad_enabled()
        torch._C._set_grad_enabled(False)
        for module, attribute in self.fast_paths:
            setattr(module, attribute, False)
        if self.run.function_mode:
            return self
        self.previous = getattr(_ACTIVE, "run", None)
        _ACTIVE.run = self.run
        with _INSTALL_LOCK:
            for name in COMPOSITE_RULES.keys() - _INSTALLED["names"]:
                for entry in _wrappers(name):
                    setattr(entry[0], name, entry[3])
                    _INSTALLED["entries"].append(entry)
                _INSTALLED["names"].add(name)
            _INSTALLED["profiles"] += 1
        return self

    def __exit__(self, *exc) -> None:
        torch._C._set_grad_enabled(self.grad)
        for module, attribute in self.fast_paths:
            setattr(module, attribute, True)
        if self.run.function_mode:
            return
        _ACTIVE.run = self.previous
        with _INSTALL_LOCK:
            _INSTALLED["profiles"] -= 1
            if _INSTALLED["profiles"] == 0:
                for namespace, name, original, _wrapper, own in reversed(_INSTALLED["entries"]):
                    if own:
                        setattr(namespace, name, original)
                    else:  # found through the namespace's __getattr__ (torch._VF): leave it so again
                        delattr(namespace, name)
                _INSTALLED["entries"], _INSTALLED["names"] = [], set()


_WRAPPERS: dict = {}  # name -> (its Composite, [(namespace, original, wrapper, own)]), made once


def _wrappers(name: str) -> list:
    """(namespace, name, original, wrapper, whether the namespace holds the original itself) for each
    namespace of composite ``name``; made again only when its rule or a wrapped function changed."""
    composite = COMPOSITE_RULES[name]
    cached = _WRAPPERS.get(name)
    if cached is None or cached[0] is not composite or any(
            (vars(ns).get(name) is not original) if own else (name in vars(ns)) for ns, original, _, own in cached[1]):
        cached = _WRAPPERS[name] = (composite, [(ns, getattr(ns, name), _counted(name, composite, getattr(ns, name)),
                                                 name in vars(ns)) for ns in composite.namespaces])
    return [(ns, name, original, wrapper, own) for ns, original, wrapper, own in cached[1]]


def _counted(name: str, composite, original):
    rule = composite.rule

    def counted(*args, **kwargs):
        run = getattr(_ACTIVE, "run", None)
        if run is None:
            return original(*args, **kwargs)
        return run.on_composite(name, rule, args, kwargs, lambda: original(*args, **kwargs))

    counted.__wrapped__ = original
    counted.__doc__ = original.__doc__
    counted.composite = composite
    return counted


def _install_hooks(run: _Run) -> list:
    """Module tracking through global module hooks (filtered to this model's modules by id):
    nothing is attached to the model's own modules, so PyTorch's checks for attached hooks (the
    fused path of nn.TransformerEncoderLayer) see a plain model."""
    return [register_module_forward_pre_hook(_pre_hook(run, run.walk.kinds)),
            register_module_forward_hook(_post_hook(run, run.walk.kinds), with_kwargs=True)]


def _remove_hooks(handles: list) -> None:
    """Remove the hooks of ``_install_hooks``. ``RemovableHandle.remove`` leaves the ``with_kwargs`` flag of a
    global forward hook in torch's table (one entry per profile, for good: torch 2.13): it is dropped too."""
    flags = getattr(torch.nn.modules.module, "_global_forward_hooks_with_kwargs", {})
    for handle in handles:
        handle.remove()
        flags.pop(handle.id, None)


def _pre_hook(run: _Run, modules: dict):
    def hook(module, args):
        entry = modules.get(id(module))
        if entry is not None:
            run.push(*entry)

    return hook


def _post_hook(run: _Run, modules: dict):
    def hook(module, args, kwargs, out):
        entry = modules.get(id(module))
        if entry is None:
            return
        name, kind = entry
        run.pop(kind)
        if not kind:
            return
        try:
            if kind == NEURON:
                current = args[0] if args else next(iter(kwargs.values()), None)  # the input: first argument
                run.on_neuron(name, module, current, out)
            else:
                run.on_whole(name, module, args, kwargs, out)
        finally:
            if len(run.stack_key) < run.suspend_depth:  # the module that suspended the counting mode returned
                run.resume()

    return hook


def reset_state(model) -> None:
    """Reset the neuron state of every installed framework in ``model`` (a profile resets only those whose
    modules the model holds: ``walk.ModelWalk.reset``)."""
    reset_neurons(model)


def profile(model, inputs, *, layout: str = "B", batch_size: int | None = None, spikes: str = "auto",
            strict: bool = False, name: str | None = None, neuron_classes=()) -> Profile:
    """Count one forward pass of ``model(*inputs)`` and return a :class:`Profile`.

    ``inputs``: a tensor or a tuple/list of positional arguments. ``layout``: 'B' ([B, ...]) or
    'TB' ([T, B, ...]); the batch size is read from every tensor input at that position unless
    ``batch_size`` is given. ``spikes``: 'auto', 'binary', 'ternary' or 'multi:N' (see spikes.py):
    what neuron outputs and input spikes may hold; which tensors hold events is decided by
    provenance (tracking.py).
    ``strict``: raise UnsupportedOpError on an op without a counting rule.
    ``neuron_classes``: extra module types to count as spiking neurons.
    All counts in the Profile are per sample and summed over time steps.
    """
    semantics = parse_semantics(spikes)
    args = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    batch, input_t = resolve_batch(args, layout, batch_size)
    walk = ModelWalk(list(model.named_modules()), tuple(neuron_classes))  # the one walk of the module tree
    versions = [(t, t._version) for t in _flat(args) if torch.is_tensor(t)]  # a second run needs them unchanged
    options: dict = {}
    while True:  # at most three runs: each redo switches on one fallback for good (_Run.redo)
        run = _Run(walk, semantics, strict, **options)
        try:
            _counted_forward(model, args, run)
        except _Redo:
            pass
        if not run.redo:
            break
        if run.redo.items() <= options.items():  # a fallback asked for twice: a profiler bug
            raise RuleFailure(f"the profile's fallback run was void again ({run.redo})")
        if any(t._version != v for t, v in versions):
            raise InputError("the model modified its input tensors in place, and this profile needs a second "
                             "forward pass (see engine.py): pass copies of the inputs")
        options.update(run.redo)
    _final_warnings(run)
    return build_profile(list(model.named_modules()),  # walked again: a forward may add modules
                         run, name or type(model).__name__, batch, layout, semantics.name, input_t)


def _counted_forward(model, args: tuple, run: _Run) -> _Run:
    """Run ``model(*args)`` once under the counting mode, from reset neuron state, into ``run``."""
    run.tracker.mark_inputs(_flat(args))
    handles = _install_hooks(run)
    try:
        run.walk.reset(model)
        with _Wrapped(run), (_CompositeMode(run) if run.function_mode else _NO_CONTEXT), _CountingMode(run):
            try:
                model(*args)
            finally:
                run.resume()
        run.flush_pending()  # the counting mode is off again: their reductions are not counted
    except (AshbenchError, RuleFailure, _Redo):
        raise
    except Exception as exc:  # the user's model failed on the inputs: one line, whatever it raised
        raise InputError(f"model forward failed on the given inputs: {type(exc).__name__}: {first_line(exc)}") from exc
    finally:
        _remove_hooks(handles)
        run.walk.reset(model)
    return run


def _final_warnings(run: _Run) -> None:
    if run.unsupported:
        calls = sum(run.unsupported.values())
        kinds = len({op for op, _ in run.unsupported})
        run.warn(f"{kinds} op kind(s) without a counting rule ran {calls} time(s) and count as 0: every total and "
                 "energy is a lower bound (see unsupported_ops; --strict refuses instead)")
    if not run.neurons and run.tracker.spike_like_unmarked:
        run.warn("no recognised spiking neuron ran, yet an activation fed to a synaptic layer held only 0/1 "
                 "values: if it is a spike train, declare its neuron class (--neuron-class module:Class); "
                 "it was counted as real-valued MACs")
