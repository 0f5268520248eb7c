"""Record every step of a forward pass: module outputs *and* functional ops, in the order run.

Module hooks alone miss ``F.relu``, ``F.max_pool2d`` and ``torch.flatten`` called inside a
``forward``; a ``TorchFunctionMode`` sees those. Inside a leaf module (one with no children, such
as ``Conv2d``) the functional calls it makes are its own business: the module's output is the step.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch._C import (
    DisableTorchFunction,
    _get_function_stack_at,
    _len_torch_function_stack,
    _pop_torch_function_stack,
    _push_on_torch_function_stack,
)
from torch._C._functorch import maybe_current_level as _functorch_level
from torch.overrides import TorchFunctionMode

from inspector.core.forward.outputs import first_tensor as first_tensor
from inspector.core.forward.outputs import named_outputs as named_outputs
from inspector.core.forward.outputs import swap_tensors, tensor_parts
from inspector.core.model.quantized import is_packing


@dataclass(frozen=True)
class Step:
    """One recorded step of the forward pass."""

    index: int
    op: str  # "Conv2d" for a module, "relu", "max_pool2d", "flatten", ... for a function
    module: str  # qualified path of the module that produced it ("" for the model itself)
    is_module: bool  # True: the output of leaf module ``module``; False: a functional op in it
    shape: tuple[int, ...]
    part: str = ""  # which tensor of a tuple the op returned: "[0]", "[1][0]" (LSTM's h)

    @property
    def label(self) -> str:
        """What a person calls it: ``conv1`` for a leaf module, ``relu`` or ``layer1.0 › relu``,
        ``max[0]`` and ``lstm[1][0]`` for the tensors of a tuple."""
        if self.is_module:
            return self.module + self.part
        op = self.op + self.part
        return f"{self.module} › {op}" if self.module else op


@dataclass
class Capture:
    output: Any
    steps: list[Step] = field(default_factory=list)
    tensors: list[torch.Tensor | None] = field(default_factory=list)  # detached; None: not kept
    module_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)


@contextlib.contextmanager
def module_hooks(model: nn.Module, pre: Callable, post: Callable) -> Iterator[None]:
    """``pre``/``post`` forward hooks on every module of ``model`` while the block runs,
    removed after it whatever happens. TorchScript modules take no hooks: the block runs
    without them.

    The hooks are registered once for all modules (``register_module_forward_*hook``) and
    answer only for this model's modules on this thread: registering and removing two hooks
    on each of a ResNet-50's 260 modules cost ~2.5 ms per forward. Global hooks run before a
    module's own, so a module with forward hooks of its own (the user's) gets ``post`` as one
    of its hooks instead, after theirs: what their hooks compute stays inside the module."""
    if isinstance(model, torch.jit.ScriptModule):
        yield
        return
    mine = set(model.modules())
    hooked = {m for m in mine if m._forward_hooks}
    thread = threading.get_ident()

    def pre_hook(module: nn.Module, args: Any) -> None:
        if module in mine and threading.get_ident() == thread:
            pre(module, args)

    def post_hook(module: nn.Module, args: Any, output: Any) -> Any:
        if module in mine and module not in hooked and threading.get_ident() == thread:
            return post(module, args, output)  # not None: the output, edited
        return None

    handles = []
    try:
        handles.append(nn.modules.module.register_module_forward_pre_hook(pre_hook))
        handles.append(nn.modules.module.register_module_forward_hook(post_hook))
        handles.extend(module.register_forward_hook(post) for module in hooked)
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextlib.contextmanager
def _subtree_hooks(root: nn.Module, pre: Callable, post: Callable) -> Iterator[None]:
    """``pre``/``post`` forward hooks on ``root`` and its modules only (registered on each, after
    any of their own), removed after the block whatever happens."""
    handles = []
    try:
        for module in root.modules():
            handles.append(module.register_forward_pre_hook(pre))
            handles.append(module.register_forward_hook(post))
        yield
    finally:
        for handle in handles:
            handle.remove()


def set_training(model: nn.Module, training: bool) -> None:
    """``model.train(training)``, where the model allows it (a ``torch.export`` module does not:
    its mode was fixed when it was exported)."""
    with contextlib.suppress(NotImplementedError):
        model.train(training)


def op_name(func: Callable) -> str:
    """``F.relu`` → ``relu``; ``Tensor.__add__`` → ``add``; ``Tensor.T.__get__`` → ``T``."""
    name = getattr(func, "__name__", None) or type(func).__name__
    if name == "__get__":  # a property getter such as Tensor.T
        owner = getattr(func, "__self__", None)
        name = getattr(owner, "__name__", name)
    return name.strip("_") or name


class Cancelled(Exception):
    """Raised inside a forward or backward when the app asked the work to stop (quitting)."""


def check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("stopped on request")


_AUGMENTED = ("add", "sub", "mul", "matmul", "truediv", "floordiv", "mod", "pow")
_IN_PLACE_DUNDERS = {f"__i{op}__" for op in (*_AUGMENTED, "and", "or", "xor", "lshift", "rshift")}
_IN_PLACE_DUNDERS.add("__setitem__")  # y[:, 0] = 1
_KEEP_VALUES = {"requires_grad_", "share_memory_", "detach_", "retain_grad_"}  # no value changes


@functools.lru_cache(maxsize=1024)
def writes_in_place(func: Callable) -> bool:
    """``x.relu_()``, ``x.add_(y)``, ``x += y``, ``x[i] = v``: ops that overwrite their first
    argument."""
    name = getattr(func, "__name__", "")
    if name in _IN_PLACE_DUNDERS:
        return True
    return name.endswith("_") and not name.startswith("_") and name not in _KEEP_VALUES


def _memory(value: Any) -> int | None:
    """Where a tensor's values live: its storage's address, the same for a tensor and every
    slice or view of it. None for what has no storage of its own (sparse tensors)."""
    if not isinstance(value, torch.Tensor) or value.layout != torch.strided:
        return None
    try:
        return value.untyped_storage().data_ptr()
    except (RuntimeError, NotImplementedError, TypeError):
        return None


def _overwritten(func: Callable, args: tuple, kwargs: dict) -> list[Any]:
    """What ``func(*args, **kwargs)`` writes into: its first argument when it works in place,
    and any ``out=`` tensors."""
    targets = [args[0]] if args and (kwargs.get("inplace") is True or writes_in_place(func)) else []
    out = kwargs.get("out")
    if out is not None:
        targets.extend(out if isinstance(out, (tuple, list)) else [out])
    return targets


class _FunctionRecorder(TorchFunctionMode):
    def __init__(
        self,
        sink: Callable[[Callable, Any], Any],
        overwrite: Callable[[Any], None],
        cancel: threading.Event | None = None,
    ) -> None:
        super().__init__()
        self._sink = sink
        self._overwrite = overwrite
        self._cancel = cancel

    def __torch_function__(self, func, types, args=(), kwargs=None):
        check(self._cancel)  # every op is a chance to stop a long forward when the app quits
        kwargs = kwargs or {}
        targets = _overwritten(func, args, kwargs)
        for target in targets:
            self._overwrite(target)
        out = func(*args, **kwargs)
        edited = self._sink(func, out)
        if edited is None:
            return out
        if targets and isinstance(out, torch.Tensor):  # the model may go on with what was
            with DisableTorchFunction():  # written into, not with what came back
                out.copy_(edited)
            return out
        return edited


def capture_forward(
    model: nn.Module,
    *inputs: Any,
    keep: Callable[[Step], bool] | None = None,
    train_mode: bool = False,
    cancel: threading.Event | None = None,
    scope: str = "",
    edit: Callable[[Step, torch.Tensor], torch.Tensor | None] | None = None,
) -> Capture:
    """Run ``model(*inputs)`` and record every step; ``keep(step)`` chooses which tensors to keep.

    With ``scope`` (a module's path) only that module's own steps are recorded, numbered from
    0, with hooks on its modules alone and the function mode on only while it runs: the rest of
    the model runs as it would without us. What it kept is copied when the module returns, for
    the model may write into it afterwards where nothing is watching.

    ``edit(step, tensor)`` may return a tensor to replace the step's value (``core.edits``): the
    model goes on with it, so every later step is computed from the edited one.

    The caller chooses grad mode. Every hook and the function mode are removed in ``finally``
    and the model's train/eval mode is restored, whatever the forward does.
    """
    capture = Capture(output=None)
    root = model.get_submodule(scope) if scope else None
    modules = list(model.named_modules())
    names = {module: name for name, module in modules}
    # A quantized Linear holds its packed weights as a child it never calls: still a leaf.
    leaves = {module for _, module in modules if all(map(is_packing, module.children()))}
    in_place = {module for module in leaves if getattr(module, "inplace", False) is True}
    stack: list[str] = []  # enclosing modules, innermost last
    leaf_depth = 0  # > 0 while inside a leaf module's forward
    recorder = _FunctionRecorder(
        lambda func, out: on_function(func, out),
        lambda target: keep_before_overwrite(target),
        cancel,
    )
    # Inside a leaf the function mode only costs (a Python call per op, ~3 ms of a ResNet-50's
    # forward): it steps aside there, and comes back when the leaf returns.
    aside = False

    def record(op: str, module: str, is_module: bool, tensor: torch.Tensor, part: str = "") -> Any:
        """Called with torch functions off (in a hook, or inside the mode's handler): our own
        ``shape`` and ``detach`` are no steps of the model, and cost no dispatch. Returns the
        edited value, or None when ``edit`` left the step alone."""
        if _functorch_level() is not None:  # inside torch.vmap: its tensors may not escape
            return None
        step = Step(len(capture.steps), op, module, is_module, tuple(tensor.shape), part)
        capture.steps.append(step)
        edited = None if edit is None else edit(step, tensor)
        if keep is None or keep(step):
            kept_steps.append(step.index)
            capture.tensors.append((tensor if edited is None else edited).detach())
        else:
            capture.tensors.append(None)
        return edited

    def record_parts(op: str, module: str, is_module: bool, output: Any) -> Any:
        """Each tensor of a tuple a step; ``output`` with the edited ones swapped in, or None."""
        swaps = {}
        for part, value in tensor_parts(output):
            edited = record(op, module, is_module, value, part)
            if edited is not None:
                swaps[id(value)] = edited
        return swap_tensors(output, swaps) if swaps else None

    kept_steps: list[int] = []  # a ResNet-50 keeps 48 of its ~170 steps: only they are checked
    memory: dict[int, int | None] = {}  # kept step → its storage, looked up when first needed

    def keep_before_overwrite(target: Any) -> None:
        """``target`` is about to be overwritten in place (``nn.ReLU(inplace=True)``, ``out +=
        identity``, ``y[:, 0] = 1``): a kept step whose values share its storage keeps a copy
        of what they were. (A leaf module without an ``inplace`` flag that writes into its
        input is not seen: the function mode steps aside inside leaves.)"""
        address = _memory(target)
        if address is None:
            return
        for i in kept_steps:
            if i not in memory:
                memory[i] = _memory(capture.tensors[i])
            if memory[i] == address:
                capture.tensors[i] = capture.tensors[i].clone()
                memory[i] = _memory(capture.tensors[i])

    def step_aside() -> None:
        nonlocal aside
        depth = _len_torch_function_stack()
        if depth and _get_function_stack_at(depth - 1) is recorder:
            _pop_torch_function_stack()
            aside = True

    def come_back() -> None:
        nonlocal aside
        if aside:
            _push_on_torch_function_stack(recorder)
            aside = False

    def pre_hook(module: nn.Module, args: Any) -> None:
        nonlocal leaf_depth
        check(cancel)
        stack.append(names.get(module, "?"))
        if module is root and module not in leaves:
            _push_on_torch_function_stack(recorder)  # its own functional steps
        if module in leaves:
            if args and module in in_place:
                with DisableTorchFunction():
                    keep_before_overwrite(args[0])
            leaf_depth += 1
            if leaf_depth == 1:
                step_aside()

    def post_hook(module: nn.Module, args: Any, output: Any) -> Any:
        nonlocal leaf_depth
        edited = None
        with DisableTorchFunction():  # 95 of a ResNet-18's 122 dispatches were our own
            name = stack.pop() if stack else names.get(module, "?")
            tensor = first_tensor(output)
            if tensor is not None:
                capture.module_shapes[name] = tuple(tensor.shape)
            if module in leaves:
                leaf_depth -= 1
                if leaf_depth == 0:
                    edited = record_parts(type(module).__name__, name, True, output)
                    come_back()
            if module is root:
                leave_scope()
        return edited

    def leave_scope() -> None:
        """Off with the function mode, and a copy of what was kept (see ``scope``)."""
        depth = _len_torch_function_stack()
        if depth and _get_function_stack_at(depth - 1) is recorder:
            _pop_torch_function_stack()
        for i in kept_steps:
            if i not in copied:
                capture.tensors[i] = capture.tensors[i].clone()
                copied.add(i)

    copied: set[int] = set()

    def on_function(func: Callable, out: Any) -> Any:
        if leaf_depth == 0 and stack:
            if isinstance(out, torch.Tensor):
                return record(op_name(func), stack[-1], False, out)
            if isinstance(out, (tuple, list)):  # chunk, max(dim), topk: each tensor a step
                return record_parts(op_name(func), stack[-1], False, out)
        return None

    was_training = model.training
    # model.train() walks every module (~1 ms of a ResNet-50): only when a mode differs.
    switch = any(m.training != train_mode for _, m in modules)
    try:
        if switch:
            set_training(model, train_mode)
        if root is not None:
            with _subtree_hooks(root, pre_hook, post_hook):
                try:
                    capture.output = model(*inputs)
                finally:
                    aside = False  # a leaf that raised: the mode is off, and stays off
                    leave_scope()
            return capture
        with module_hooks(model, pre_hook, post_hook), recorder:
            try:
                capture.output = model(*inputs)
            finally:
                come_back()  # a leaf that raised: the mode must be on top for its exit
        if not capture.steps:  # compiled code hides its insides: show at least what came out
            tensor = first_tensor(capture.output)
            if tensor is not None:
                stack.append("")
                record("output", "", False, tensor)
    finally:
        if switch:
            set_training(model, was_training)
    return capture
