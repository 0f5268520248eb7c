"""Opening any model: built-ins, ``file.py:Name``, TorchScript, ``torch.export`` archives, and
weights for them. Every refusal is a ``ModelLoadError`` whose message is one sentence naming
what is wrong (the file, the line, the class, the argument, the keys)."""

from __future__ import annotations

import importlib.util
import inspect
import sys
import traceback
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from inspector.core.feed.named import ModelInputs, bind, parse_input_flag
from inspector.core.feed.stated import example_inputs, stated_inputs
from inspector.core.files.checkpoint_fit import fit_weights
from inspector.core.files.checkpoints import (
    ModelLoadError,
    apply_state_dict,
    read_state_dict,
    torch_load,
)
from inspector.core.files.program_checks import refuse_beyond_a_model
from inspector.core.files.pt2_scan import exported_program_code, pt2_code_parts
from inspector.core.forward.capture import set_training
from inspector.core.model.input_inference import infer_input_spec
from inspector.core.model.inputs import LENET_INPUT, InputSpec, parse_dtype, parse_shape
from inspector.core.model.nets import LENET_WEIGHTS, Net, untrained_lenet
from inspector.core.model.zoo import ResNet50, transformer_encoder

BUILTIN = {
    "lenet": "the tutorial's LeNet with the bundled MNIST weights (input 1×1×32×32)",
    "resnet50": "a ResNet-50-shaped CNN, untrained (input 1×3×64×64)",
    "transformer": "a 48-layer nn.TransformerEncoder, d_model 128, untrained (input 1×16×128)",
}


@dataclass(frozen=True)
class OpenedModel:
    model: nn.Module
    name: str
    input: InputSpec
    warning: str | None = None
    spec: str = "lenet"
    weights: str | None = None
    note: str | None = None  # how the model is inspected, e.g. through a compiled module's original
    inputs: ModelInputs | None = None  # every input, named (``input``: the main one's spec)


def open_model(
    spec: str = "lenet",
    weights: Path | str | None = None,
    trust: bool = False,
    input_shape: str | tuple[int, ...] | None = None,
    input_dtype: str | None = None,
    probe: bool | None = None,
    inputs: Sequence[str] = (),
) -> OpenedModel:
    """Open ``spec`` (a built-in name, ``path.py:Name``, a TorchScript ``.pt`` or a ``.pt2``),
    load ``weights`` into it, and settle the input it takes: ``input_shape`` ("1,16") and
    ``input_dtype`` ("long", "float32", ... see ``parse_dtype``) where given, the rest from what
    the model says (``input_inference.infer_input_spec``); ``inputs`` ("mask=1,16:bool") set or
    add the inputs of a model with several (``core.feed.stated``). A ``torch.compile``d model
    is inspected through its original module, and ``note`` says so. ``probe``: whether to open
    and run it in a child process first (``_probe_first``: None, the model files that may
    crash the interpreter; True, a ``.py`` too, for a session's or the remembered model)."""
    try:
        shape = parse_shape(input_shape) if isinstance(input_shape, str) else input_shape
        dtype = parse_dtype(input_dtype)
        given = [parse_input_flag(text) for text in inputs or ()]
    except ValueError as exc:
        raise ModelLoadError(str(exc)) from exc
    key = spec.strip()
    if probe is not False and key.lower() not in BUILTIN:
        _probe_first(key, weights, trust, input_shape, input_dtype, bool(probe), inputs)
    warning = None
    example: tuple | None = None
    if key.lower() in BUILTIN:
        model, name, warning, example = _builtin(key.lower(), weights)
        weights_done = True
    else:
        model, name, example = _from_file(key, trust)
        weights_done = False
    model, unwrapped = unwrap_compiled(model)
    note = compiled_note(unwrapped)
    if weights is not None and not weights_done:
        note = " ".join(filter(None, (note, load_weights(model, Path(weights), trust)))) or None
    set_training(model, False)
    examples = None
    if example and isinstance(example[0], torch.Tensor):  # a .pt2's example inputs
        examples = example_inputs(model, example)
        example = examples.main.spec.shape if examples is not None else None
        dtype = dtype or (examples.main.spec.dtype if examples is not None else None)
    try:
        input_spec = infer_input_spec(
            model, shape or example, mnist=key.lower() == "lenet", dtype=dtype
        )
        if examples is not None and shape is None:
            input_spec = examples.main.spec
        if examples is not None:
            examples = examples.with_spec(examples.primary, input_spec)
        model_inputs = stated_inputs(model, input_spec, given, examples)
        bind(model, model_inputs)
    except ValueError as exc:
        raise ModelLoadError(f"{name}: {exc}") from exc
    weights_name = None if weights is None else str(weights)
    return OpenedModel(
        model, name, model_inputs.main.spec, warning, spec, weights_name, note, model_inputs
    )


def _probe_first(
    key: str, weights, trust: bool, shape, dtype, from_elsewhere: bool, inputs=()
) -> None:
    """Open and run it once in a child process first (``probe``) where it may crash the
    interpreter: TorchScript and ``.pt2`` (after the checks that refuse them unopened), a
    checkpoint opened with trust, a ``.py`` from a session or the remembered model."""
    from inspector.core.files.probe import probe

    path = Path(key)
    if python_spec(key) is not None:
        if not from_elsewhere:
            return
    elif not path.is_file() or path.suffix == ".py":
        return
    elif path.suffix == ".pt2":
        refuse_beyond_a_model(path)
        if not trust:
            _refuse_code(path, pt2_code_parts(path))
    elif _is_torchscript(path):
        refuse_beyond_a_model(path)
    elif not trust:
        return  # refused unless it loads weights_only, which builds no model
    probe(key, weights, trust, shape, dtype, inputs=tuple(inputs or ()))


def is_compiled(module: nn.Module) -> bool:
    """A ``torch.compile`` wrapper (``OptimizedModule``): it holds the original as ``_orig_mod``."""
    return (
        isinstance(getattr(module, "_orig_mod", None), nn.Module)
        and type(module).__name__ == "OptimizedModule"
    )


def unwrap_compiled(model: nn.Module) -> tuple[nn.Module, list[str]]:
    """The model with every ``torch.compile`` wrapper replaced by its original module, and the
    paths that were unwrapped (``""`` for the model itself).

    Inspection needs the eager modules: hooks see every layer, and no compiler (dynamo,
    inductor, a C++ toolchain) runs. Nothing is called here: the compiled code is never built.
    The weights are shared, so the model computes exactly what the compiled one does."""
    unwrapped: list[str] = []
    while is_compiled(model):
        model = model._orig_mod
        unwrapped.append("")
    if isinstance(model, torch.jit.ScriptModule):
        return model, unwrapped
    for path, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if is_compiled(child):
                original = child
                while is_compiled(original):
                    original = original._orig_mod
                setattr(module, child_name, original)
                unwrapped.append(f"{path}.{child_name}" if path else child_name)
    return model, unwrapped


def compiled_note(unwrapped: list[str]) -> str | None:
    """What the note says about the compiled modules ``unwrap_compiled`` found."""
    if not unwrapped:
        return None
    if "" in unwrapped:
        return (
            "This is a torch.compile'd model: it is inspected through its original module "
            "(_orig_mod), run eagerly so that every layer shows; the weights are the same."
        )
    shown = ", ".join(unwrapped[:3]) + (
        f" and {len(unwrapped) - 3} more" if len(unwrapped) > 3 else ""
    )
    return (
        f"The torch.compile'd submodules ({shown}) are inspected through their original modules, "
        "run eagerly so that every layer shows; the weights are the same."
    )


def bundled_lenet(weights: Path | None = LENET_WEIGHTS) -> OpenedModel:
    """The start-up model. Never refuses: missing or broken weights give an untrained LeNet and
    a warning, so the app always opens."""
    name, untrained = "LeNet (untrained)", "Showing an untrained LeNet."
    if weights is None:
        return OpenedModel(
            untrained_lenet(), name, LENET_INPUT, "No weights: the LeNet is untrained."
        )
    if not Path(weights).exists():
        warning = f"Weights file not found: {weights}. {untrained}"
        return OpenedModel(untrained_lenet(), name, LENET_INPUT, warning)
    try:
        model = Net()
        model.load_state_dict(read_state_dict(Path(weights)))
    except Exception as exc:  # unreadable, corrupt, wrong keys or shapes: say which, carry on
        warning = f"Could not load weights from {weights}: {exc}. {untrained}"
        return OpenedModel(untrained_lenet(), name, LENET_INPUT, warning)
    model.eval()
    return OpenedModel(model, "LeNet (MNIST)", LENET_INPUT)


def _builtin(key: str, weights) -> tuple[nn.Module, str, str | None, tuple[int, ...]]:
    if key == "lenet":
        if weights is None:
            loaded = bundled_lenet(LENET_WEIGHTS)
            return loaded.model, loaded.name, loaded.warning, (1, 1, 32, 32)
        model = Net()  # weights the user asked for must fit, or the open is refused
        load_weights(model, Path(weights))
        return model, f"LeNet ({Path(weights).name})", None, (1, 1, 32, 32)
    model = ResNet50() if key == "resnet50" else transformer_encoder()
    if weights is not None:
        load_weights(model, Path(weights), trust=False)
    return model, key, None, (1, 3, 64, 64) if key == "resnet50" else (1, 16, 128)


def python_spec(spec: str) -> tuple[str, str] | None:
    """``nets.py:Net`` → ``("nets.py", "Net")``: the file and the name in a spec that builds a
    model from Python code; None for any other spec (a built-in, a ``.pt``, a ``.pt2``)."""
    path_text, sep, name = spec.strip().rpartition(":")
    return (path_text, name) if sep and path_text.endswith(".py") else None


def _from_file(spec: str, trust: bool) -> tuple[nn.Module, str, tuple | None]:
    python = python_spec(spec)
    if python is not None:
        path_text, attr = python
        return _from_python(Path(path_text), attr), attr, None
    path = Path(spec)
    if path.suffix == ".py":
        raise ModelLoadError(f"{path.name}: say which model to build, as {path.name}:ClassName")
    if not path.exists():
        raise ModelLoadError(f"{spec}: no such file (and not a built-in: {', '.join(BUILTIN)})")
    if not path.is_file():
        raise ModelLoadError(f"{spec}: not a regular file (a folder, a device or a pipe)")
    if path.suffix == ".pt2":
        return _from_export(path, trust)
    if _is_torchscript(path):
        refuse_beyond_a_model(path)
        try:
            model = torch.jit.load(str(path), map_location="cpu")
        except Exception as exc:
            raise ModelLoadError(f"{path.name}: not a loadable TorchScript archive: {exc}") from exc
        return model, path.stem, None
    obj = torch_load(path, trust)
    if isinstance(obj, nn.Module):
        return obj, type(obj).__name__, None
    raise ModelLoadError(
        f"{path.name} holds {'a state_dict' if isinstance(obj, dict) else type(obj).__name__}, "
        "not a model: open the model's .py file and give this file as its weights"
    )


def _is_torchscript(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(
            n.endswith(("/constants.pkl", "/code/__torch__.py")) or "/code/" in n
            for n in archive.namelist()
        )


def _from_export(path: Path, trust: bool = False) -> tuple[nn.Module, str, tuple | None]:
    """A ``torch.export`` archive. Without ``trust`` it is checked before ``torch.export.load``
    (pickled parts, compiled code, symbolic shapes sympy would evaluate) and again before
    ``.module()`` (guards it would exec, calls to anything but operators). Whatever no model
    does (``program_checks``) is refused even with ``trust``."""
    refuse_beyond_a_model(path)
    if not trust:
        _refuse_code(path, pt2_code_parts(path))
    try:
        program = torch.export.load(str(path))
    except Exception as exc:
        raise ModelLoadError(f"{path.name}: not a loadable torch.export archive: {exc}") from exc
    refuse_beyond_a_model(path, program)
    if not trust:
        _refuse_code(path, exported_program_code(program))
    args = tuple(program.example_inputs[0]) if program.example_inputs else ()
    return program.module(), path.stem, args or None


def _refuse_code(path: Path, parts: list[str]) -> None:
    if parts:
        more = f" and {len(parts) - 2} more" if len(parts) > 2 else ""
        raise ModelLoadError(
            f"{path.name} has parts that would run code when opened ({'; '.join(parts[:2])}"
            f"{more}): it would unpickle or execute them, so open it only if you trust it, "
            "with --trust-checkpoint (or the dialog's tick box)",
            "\n".join(parts),
        )


def _from_python(path: Path, attr: str) -> nn.Module:
    if not path.exists():
        raise ModelLoadError(f"{path}: no such file")
    if not path.is_file():
        raise ModelLoadError(f"{path}: not a regular file (a folder, a device or a pipe)")
    module_name = f"_net_inspector_user_{abs(hash(path.resolve()))}"
    try:
        source = path.read_text()
        compile(source, str(path), "exec")
    except SyntaxError as exc:
        raise ModelLoadError(
            f"{path.name}, line {exc.lineno}: syntax error: {exc.msg}", traceback.format_exc()
        ) from exc
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look modules up here
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ModelLoadError(
            f"{path.name} raised {type(exc).__name__} while loading: {exc}", traceback.format_exc()
        ) from exc
    finally:
        sys.path.remove(str(path.parent))
    factory = getattr(module, attr, None)
    if factory is None:
        found = [n for n, v in vars(module).items() if _is_model_factory(v, module_name)]
        hint = f" (it defines: {', '.join(found)})" if found else ""
        raise ModelLoadError(f"{path.name} has no {attr!r}{hint}")
    required = _required_arguments(factory)
    if required:
        raise ModelLoadError(
            f"{attr}() needs the argument{'s' if len(required) > 1 else ''} "
            f"{', '.join(repr(r) for r in required)}: give defaults or a factory with no arguments"
        )
    try:
        model = factory()
    except Exception as exc:
        raise ModelLoadError(
            f"{attr}() raised {type(exc).__name__}: {exc}", traceback.format_exc()
        ) from exc
    if not isinstance(model, nn.Module):
        raise ModelLoadError(f"{attr}() returned {type(model).__name__}, not a torch.nn.Module")
    return model


def _is_model_factory(value, module_name: str) -> bool:
    if inspect.isclass(value):
        return issubclass(value, nn.Module) and value.__module__ == module_name
    return inspect.isfunction(value) and value.__module__ == module_name


def _required_arguments(factory) -> list[str]:
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return []
    return [
        name
        for name, p in signature.parameters.items()
        if p.default is inspect.Parameter.empty
        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]


def load_weights(model: nn.Module, path: Path, trust: bool = False) -> str:
    """Load a state_dict (a file, a ``save_pretrained`` folder, a sharded index), refusing (and
    naming the keys) if it does not fit the model once wrapper prefixes and tied weights are
    dealt with (``checkpoint_fit``); returns the one-line note on those ("" when none)."""
    fitted = fit_weights(model, path, trust)
    apply_state_dict(model, fitted.state, fitted.source, same_dtypes=False)
    return fitted.note
