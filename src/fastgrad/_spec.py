"""The machinery behind fastgrad's optimizer classes: the :class:`Spec`
that presents one row of the C optimizer table (``csrc/fg_optim_table.def``)
to Python, and the :class:`Optimizer` base class built from it
(construction, learning rate, ``state_dict``/``load_state_dict``,
pickling). The optimizers themselves are in ``fastgrad.optimizers``.
"""
from __future__ import annotations

import inspect
import string
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping, Sequence, Union

import numpy as np

from fastgrad import _validate
from fastgrad._optim import Engine, descriptors, rule_violation

__all__ = ["Spec", "Optimizer", "SPECS", "CLASSES", "docs_table"]

LearningRate = Union[float, Callable[[int], float]]
Params = Union[np.ndarray, Sequence[np.ndarray]]

_DESCRIPTORS = {d["name"]: d for d in descriptors()}

#: Every optimizer's spec by its C name ("sgd", "adam", ...), in the order
#: the classes are defined (fastgrad.optimizers). ``minimize``'s first-order
#: methods are rows of its C method table over the same C descriptors.
SPECS: dict[str, "Spec"] = {}

#: The class of each spec, by the same keys.
CLASSES: dict[str, type["Optimizer"]] = {}


@dataclass(frozen=True)
class Spec:
    """How Python presents one row of the C optimizer table.

    The C row (``fastgrad._optim.descriptors()``) is the one place for the
    hyperparameters' names, defaults and allowed values, the state buffers
    and the scalar state; the spec adds what only Python needs.

    Parameters
    ----------
    name : str
        The C row's name, also ``minimize``'s method name and the kernel's
        prefix (``<name>_step``).
    torch_name : str
        The ``torch.optim`` class with the same rule.
    pairs : mapping
        One argument for two C hyperparameters: ``{"betas": ("beta1", "beta2")}``.
    keyword_only : tuple of str
        C hyperparameters that are keyword-only arguments of the class.
    fixed : tuple of str
        C hyperparameters that are not arguments: their C default holds
        (AdamW's ``decoupled_weight_decay``).
    torch_group : mapping
        torch's ``param_groups`` keys that mean nothing here, with torch's values.
    state_at_init : bool
        torch creates the state in ``__init__`` (Adagrad), not at the first step.
    kernel_positional : tuple of str, optional
        The kernel's positional arguments after ``param, grad`` (Python
        names). Default: the state buffers every option uses, ``step``,
        ``lr``, then the real-valued hyperparameters; everything else is
        keyword-only.
    kernel_names : mapping
        The kernel's name for a C name where they differ.
    """

    name: str
    torch_name: str
    pairs: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    keyword_only: tuple[str, ...] = ()
    fixed: tuple[str, ...] = ()
    torch_group: Mapping[str, Any] = field(default_factory=dict)
    state_at_init: bool = False
    kernel_positional: tuple[str, ...] | None = None
    kernel_names: Mapping[str, str] = field(default_factory=dict)
    # From the C row:
    kind: int = field(init=False)
    lr_default: float = field(init=False)
    hyper: tuple[dict, ...] = field(init=False)
    state: tuple[dict, ...] = field(init=False)
    scalar: tuple[dict, ...] = field(init=False)
    rule: str | None = field(init=False)
    #: (argument name, indices of its C hyperparameters), fixed ones included, in C order
    arguments: tuple[tuple[str, tuple[int, ...]], ...] = field(init=False)

    def __post_init__(self) -> None:
        row = _DESCRIPTORS[self.name]
        for key in ("kind", "lr_default", "rule"):
            object.__setattr__(self, key, row[key])
        for key in ("hyper", "state", "scalar"):
            object.__setattr__(self, key, tuple(row[key]))
        index = {h["name"]: i for i, h in enumerate(self.hyper)}
        paired = {c: arg for arg, cs in self.pairs.items() for c in cs}
        args: list[tuple[str, tuple[int, ...]]] = []
        for i, h in enumerate(self.hyper):
            arg = paired.get(h["name"], h["name"])
            if arg in self.pairs:
                if h["name"] == self.pairs[arg][0]:
                    args.append((arg, tuple(index[c] for c in self.pairs[arg])))
            else:
                args.append((arg, (i,)))
        object.__setattr__(self, "arguments", tuple(args))

    # ---- values --

    def defaults(self) -> list[float]:
        """The C defaults, in C order."""
        return [h["default"] for h in self.hyper]

    def python_value(self, arg: str, hyper: Sequence[float]) -> Any:
        """Argument ``arg``'s value as Python shows it (a bool, a float, a pair)."""
        idx = dict(self.arguments)[arg]
        vals = [bool(hyper[i]) if self.hyper[i]["kind"] == "flag" else float(hyper[i])
                for i in idx]
        return tuple(vals) if arg in self.pairs else vals[0]

    def _convert(self, arg: str, idx: tuple[int, ...], value: Any) -> list[float]:
        if arg in self.pairs:
            if not (isinstance(value, (tuple, list, np.ndarray)) and len(value) == 2):
                raise ValueError(f"{arg} must be a pair of floats, got {value!r}")
            return [self._convert(f"{arg}[{k}]", (i,), v)[0]
                    for k, (i, v) in enumerate(zip(idx, value))]
        h = self.hyper[idx[0]]
        if h["kind"] == "flag":
            return [1.0 if _validate.flag(arg, value) else 0.0]
        return [_validate.real(arg, value, low=h["low"], high=h["high"],
                               low_open=h["low_open"], high_open=h["high_open"])]

    def hyper_values(self, values: Mapping[str, Any],
                     current: Sequence[float] | None = None) -> list[float]:
        """Validated C hyperparameters from argument values: a missing
        keyword-only or fixed argument keeps ``current`` (default: the C
        default); any other missing argument is an error."""
        out = list(self.defaults() if current is None else current)
        optional = set(self.keyword_only) | set(self.fixed)
        for arg, idx in self.arguments:
            if arg not in values:
                if arg in optional:
                    continue
                raise ValueError(f"{self.torch_name} needs a value for {arg!r}")
            for i, v in zip(idx, self._convert(arg, idx, values[arg])):
                out[i] = v
        bad = rule_violation(self.kind, out)
        if bad is not None:
            raise ValueError(f"{self.rule}; got {bad}={self.python_value(bad, out)!r}")
        return out

    def used(self, i: int, hyper: Sequence[float]) -> bool:
        """Whether state buffer i is used with these hyperparameters."""
        cond = self.state[i]["used_if"]
        return cond is None or hyper[self._index(cond)] != 0.0

    def initial(self, i: int, hyper: Sequence[float]) -> float:
        """The value a fresh state buffer i starts from."""
        src = self.state[i]["initial_from"]
        return self.state[i]["initial"] if src is None else hyper[self._index(src)]

    def _index(self, c_name: str) -> int:
        return [h["name"] for h in self.hyper].index(c_name)

    def group(self, hyper: Sequence[float], lr: float) -> dict[str, Any]:
        """torch's param_group (without ``params``) for these values."""
        g: dict[str, Any] = {"lr": lr}
        g.update((arg, self.python_value(arg, hyper)) for arg, _ in self.arguments)
        g.update(self.torch_group)
        return g

    # ---- presentation --

    def signature(self) -> inspect.Signature:
        """The class's signature: ``params``, ``lr``, the hyperparameters,
        ``check_finite``; keyword-only ones, then ``threads``, after ``*``."""
        P = inspect.Parameter
        pos = [P("params", P.POSITIONAL_OR_KEYWORD), P("lr", P.POSITIONAL_OR_KEYWORD,
                                                      default=self.lr_default)]
        kw: list[inspect.Parameter] = []
        hyper = self.defaults()
        for arg, _ in self.arguments:
            if arg in self.fixed:
                continue
            kind = P.KEYWORD_ONLY if arg in self.keyword_only else P.POSITIONAL_OR_KEYWORD
            (kw if kind == P.KEYWORD_ONLY else pos).append(
                P(arg, kind, default=self.python_value(arg, hyper)))
        pos.append(P("check_finite", P.POSITIONAL_OR_KEYWORD, default=False))
        kw.append(P("threads", P.KEYWORD_ONLY, default=1))
        return inspect.Signature(pos + kw)

    def doc_defaults(self) -> dict[str, str]:
        """``${name}`` substitutions for docstrings: each argument's default,
        and the lines every class docstring (indented by four) shares."""
        out = {p.name: repr(p.default) for p in self.signature().parameters.values()
               if p.default is not p.empty}
        out["torch"] = f"torch.optim.{self.torch_name}"
        out["params_lr"] = (
            "params : ndarray or sequence of ndarray\n"
            "        Writeable, C-contiguous float32/float64 arrays of native byte order,\n"
            "        updated in place.\n"
            f"    lr : float or callable, default {out['lr']}\n"
            "        Learning rate, or a schedule ``lr(step)`` with steps counted from 1.")
        out["example"] = "Example\n    -------\n    >>> import numpy as np, fastgrad as fg"
        return out


def _check_lr(lr: Any) -> tuple[float, Callable[[int], float] | None]:
    """(fixed lr, schedule): a callable lr is a schedule, checked at step 1."""
    if callable(lr):
        _validate.real("lr (schedule value at step 1)", lr(1), low=0.0)
        return 0.0, lr
    return _validate.nonneg("lr", lr), None


def _param_list(params: Params) -> tuple[list[np.ndarray], bool]:
    """Validated list of parameter arrays, and whether one array was given."""
    if isinstance(params, np.ndarray):
        return [_validate.inplace_array("params", params)], True
    if isinstance(params, (str, bytes)) or not isinstance(params, Sequence):
        raise TypeError(f"params must be a numpy.ndarray or a sequence of them, "
                        f"got {type(params).__name__}")
    arrays = [_validate.inplace_array(f"params[{i}]", a) for i, a in enumerate(params)]
    if not arrays:
        raise ValueError("params is an empty sequence")
    return arrays, False


def _restore(cls: type, params: Params, kwargs: dict[str, Any],
             state: dict[str, Any]) -> "Optimizer":
    opt = cls(params, **kwargs)
    opt.load_state_dict(state)
    return opt


class Optimizer(Engine):
    """What every optimizer class shares: construction from its spec, the
    learning rate and schedules, ``state_dict``/``load_state_dict`` and
    pickling. A subclass is a docstring and a ``_spec``; its signature,
    defaults and validation come from the spec (and the C row below it)."""

    _spec: ClassVar[Spec]
    __signature__: ClassVar[inspect.Signature]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        spec = cls.__dict__.get("_spec")
        if spec is None:
            return
        SPECS[spec.name] = spec
        CLASSES[spec.name] = cls
        cls.__signature__ = spec.signature()
        if cls.__doc__:
            cls.__doc__ = string.Template(cls.__doc__).substitute(spec.doc_defaults())

    def __init__(self, params: Params, *args: Any, **kwargs: Any) -> None:
        if getattr(type(self), "_spec", None) is None:
            raise TypeError("Optimizer is a base class; use fastgrad.SGD, fastgrad.Adam, ...")
        spec = self._spec
        bound = type(self).__signature__.bind(params, *args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        arrays, self._single = _param_list(values.pop("params"))
        fixed, schedule = _check_lr(values.pop("lr"))
        self._check_finite = _validate.flag("check_finite", values.pop("check_finite"))
        self._threads = _validate.integer("threads", values.pop("threads"), low=1, high=64)
        self._hyper = spec.hyper_values(values)
        self._init_kwargs = {k: v for k, v in bound.arguments.items() if k != "params"}
        #: per parameter, its state buffers by name (those these options use)
        self._state: list[dict[str, np.ndarray]] = [
            {row["name"]: np.full_like(p, spec.initial(i, self._hyper))
             for i, row in enumerate(spec.state) if spec.used(i, self._hyper)}
            for p in arrays]
        self._bind(spec.kind)
        self._set_hyper(self._hyper)
        self._set_scalars([s["initial"] for s in spec.scalar])
        self._set_lr(fixed, schedule)
        self._setup(arrays, [[s.get(row["name"]) for row in spec.state] for s in self._state],
                    self._single)

    # ---- learning rate --

    @property
    def lr(self) -> LearningRate:
        """The learning rate: a float, or the schedule callable given."""
        fixed, schedule = self._get_lr()
        return schedule if schedule is not None else fixed

    @lr.setter
    def lr(self, value: LearningRate) -> None:
        self._set_lr(*_check_lr(value))

    def lr_at(self, step: int) -> float:
        """The learning rate used by step number ``step`` (counting from 1)."""
        fixed, schedule = self._get_lr()
        if schedule is None:
            return fixed
        return _validate.real(f"lr (schedule value at step {step})", schedule(step), low=0.0)

    # ---- state --

    def state_dict(self) -> dict[str, Any]:
        """A snapshot in torch.optim's layout, with NumPy copies of the state.

        ``{"state": {i: {"step": float, <buffer or scalar name>: value, ...}},
        "param_groups": [{<hyperparameters>, "params": [0, 1, ...]}]}``.
        State appears after the first step (torch's lazy state; Adagrad's from
        the start). Unlike torch, SGD records "step" too, so that a restored
        optimizer's schedule continues where it was.
        Safe to keep while training goes on: nothing in it is shared.
        """
        spec = self._spec
        self._enter()
        try:
            state: dict[int, dict[str, Any]] = {}
            if self.steps > 0 or spec.state_at_init:
                scalars = {s["name"]: v for s, v in zip(spec.scalar, self._get_scalars())}
                for i, buffers in enumerate(self._state):
                    entry: dict[str, Any] = {"step": float(self.steps), **scalars}
                    entry.update((name, a.copy()) for name, a in buffers.items())
                    state[i] = entry
            group = spec.group(self._hyper, self.lr_at(max(self.steps, 1)))
            group["params"] = list(range(len(self.params)))
        finally:
            self._exit()
        return {"state": state, "param_groups": [group]}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a snapshot taken by ``state_dict`` (or converted from
        torch's: tensors as NumPy arrays): hyperparameters, step count,
        buffers and scalar state, copied into this optimizer's own arrays. A
        schedule given as ``lr`` is kept.

        All or nothing: the whole dict is checked first (every key present,
        values of the right type and range, buffers of the right shape, one
        step count), and on any error nothing changes.
        """
        self._enter()
        try:
            loaded = self._check_state_dict(state_dict)
            self._apply_state(*loaded)
        finally:
            self._exit()

    def _check_state_dict(self, sd: Mapping[str, Any]) -> tuple:
        spec = self._spec
        try:
            groups, states = sd["param_groups"], sd["state"]
        except (TypeError, KeyError):
            raise ValueError("state_dict must have 'state' and 'param_groups' entries") from None
        if not isinstance(groups, Sequence) or len(groups) != 1:
            raise ValueError("state_dict['param_groups'] must hold one group; fastgrad "
                             "optimizers have one")
        group = groups[0]
        if not isinstance(group, Mapping) or not isinstance(states, Mapping):
            raise ValueError("state_dict['param_groups'][0] and state_dict['state'] must be dicts")
        ids = group.get("params", ())
        if not isinstance(ids, Sequence) or len(ids) != len(self.params):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             f"the size of optimizer's group ({len(ids)} != {len(self.params)})")
        ids = [_validate.integer(f"param_groups[0]['params'][{i}]", pid, low=None)
               for i, pid in enumerate(ids)]
        if "lr" not in group:
            raise ValueError("state_dict's param_group has no 'lr'")
        lr = _validate.nonneg("lr", group["lr"])
        hyper = spec.hyper_values(group, current=self._hyper)
        for i, row in enumerate(spec.state):
            if spec.used(i, hyper) != spec.used(i, self._hyper):
                raise ValueError(f"{row['used_if']} cannot switch between zero and non-zero "
                                 f"after construction (it decides whether the "
                                 f"{row['name']!r} buffer exists)")
        entries = {}
        for key, entry in states.items():
            pid = int(key) if isinstance(key, str) and key.lstrip("-").isdigit() else key
            if pid not in ids:
                raise ValueError(f"state has an entry for {key!r}, which is not one of the "
                                 f"group's params {ids}")
            if entry:
                entries[pid] = entry
        if entries and len(entries) != len(ids):
            missing = [pid for pid in ids if pid not in entries]
            raise ValueError(f"state has no entry for params {missing}")
        steps, scalars = 0, [s["initial"] for s in spec.scalar]
        buffers: list[dict[str, np.ndarray]] = [{} for _ in ids]
        for i, pid in enumerate(ids if entries else ()):
            entry_steps, entry_scalars = self._check_entry(pid, entries[pid], hyper, i,
                                                           buffers[i])
            if i and (entry_steps, entry_scalars) != (steps, scalars):
                raise ValueError(f"state[{pid}] has step {entry_steps} and scalar state "
                                 f"{entry_scalars}, state[{ids[0]}] {steps} and {scalars}; "
                                 "fastgrad optimizers step all parameters together")
            steps, scalars = entry_steps, entry_scalars
        return lr, hyper, steps, scalars, buffers, bool(entries)

    def _check_entry(self, pid: int, entry: Any, hyper: list[float], i: int,
                     into: dict[str, np.ndarray]) -> tuple[int, list[float]]:
        spec = self._spec
        if not isinstance(entry, Mapping):
            raise ValueError(f"state[{pid}] must be a dict, got {type(entry).__name__}")
        known = {"step"} | {r["name"] for r in spec.state} | {s["name"] for s in spec.scalar}
        unknown = sorted(map(str, set(entry) - known))
        if unknown:
            raise ValueError(f"state[{pid}] has unknown entries {unknown}")
        if "step" not in entry:
            raise ValueError(f"state[{pid}] has no 'step' (torch's SGD keeps none: add the "
                             "number of steps taken)")
        step = _validate.real(f"state[{pid}]['step']", entry["step"], low=0.0, high=2.0**53)
        if step != int(step):
            raise ValueError(f"state[{pid}]['step'] must be a whole number, got {step!r}")
        for k, row in enumerate(spec.state):
            name, value = row["name"], entry.get(row["name"])
            if not spec.used(k, hyper):
                if value is not None:
                    raise ValueError(f"state[{pid}] has {name!r}, which these options do "
                                     "not use")
                continue
            if value is None:
                raise ValueError(f"state[{pid}] has no {name!r}")
            arr = _validate.input_array(f"state[{pid}][{name!r}]", value)
            if arr.shape != self.params[i].shape:
                raise ValueError(f"state[{pid}][{name!r}] has shape {arr.shape} but "
                                 f"params[{i}] has shape {self.params[i].shape}")
            into[name] = arr
        scalars = []
        for s in spec.scalar:
            if s["name"] not in entry:
                raise ValueError(f"state[{pid}] has no {s['name']!r}")
            scalars.append(_validate.real(f"state[{pid}][{s['name']!r}]", entry[s["name"]]))
        return int(step), scalars

    def _apply_state(self, lr: float, hyper: list[float], steps: int, scalars: list[float],
                     buffers: list[dict[str, np.ndarray]], has_state: bool) -> None:
        spec = self._spec
        self._hyper = hyper
        self._set_hyper(hyper)
        fixed, schedule = self._get_lr()
        if schedule is None:
            self._set_lr(lr, None)
        for mine, theirs in zip(self._state, buffers):
            for k, row in enumerate(spec.state):
                arr = mine.get(row["name"])
                if arr is None:
                    continue
                if has_state:
                    np.copyto(arr, theirs[row["name"]], casting="unsafe")
                else:
                    arr.fill(spec.initial(k, hyper))
        self._set_scalars(scalars)
        self._set_steps(steps)

    def __reduce__(self) -> tuple:
        params = self.params[0] if self._single else self.params
        return (_restore, (type(self), params, self._init_kwargs, self.state_dict()))

    def __repr__(self) -> str:
        group = self._spec.group(self._hyper, self.lr_at(max(self.steps, 1)))
        items = ", ".join(f"{k}={v!r}" for k, v in group.items())
        return f"{type(self).__name__}({len(self.params)} params, steps={self.steps}, {items})"


def docs_table() -> str:
    """The README's table of optimizers (Markdown): class, torch class,
    hyperparameters with their defaults, state."""
    lines = ["| class | torch.optim | hyperparameters (defaults) | state |",
             "|---|---|---|---|"]
    for name, spec in SPECS.items():
        sig = spec.signature().parameters.values()
        hyper = ", ".join(f"`{p.name}={p.default!r}`" for p in sig if p.default is not p.empty
                          and p.name not in ("check_finite", "threads"))
        state = ", ".join(f"`{n}`" for n in [r["name"] for r in spec.state]
                          + [s["name"] for s in spec.scalar])
        lines.append(f"| `{CLASSES[name].__name__}` | `{spec.torch_name}` | {hyper} | {state} |")
    return "\n".join(lines)
