"""A model's module tree as plain data, for the tree panel (which never touches the model)."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field

from torch import nn

from inspector.core.model.quantized import is_packing, packed_count


@dataclass
class ModuleNode:
    path: str  # qualified name, "" for the model itself
    name: str  # the attribute name ("conv1"), or the class name for the root
    type_name: str  # "Conv2d"
    text: str  # what print(model) shows for it on its first line
    parameters: int  # recursive count
    children: list[ModuleNode] = field(default_factory=list)
    parent: ModuleNode | None = field(default=None, repr=False, compare=False)
    row: int = 0  # position among its parent's children (a tree model asks for it constantly)

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


def module_text(module: nn.Module) -> str:
    """``Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))`` for a leaf, the class name otherwise."""
    if any(True for _ in module.children()):
        extra = module.extra_repr()
        return f"{module._get_name()}({extra})" if extra else module._get_name()
    return repr(module).replace("\n", " ")


def summarize(model: nn.Module) -> ModuleNode:
    """The module tree with parameter counts (shared parameters counted once per module)."""

    packed: dict[int, int] = {}  # a quantized module's weights, which parameters() misses

    def build(module: nn.Module, path: str, name: str, parent: ModuleNode | None) -> ModuleNode:
        count = sum(p.numel() for p in {id(p): p for p in module.parameters()}.values())
        own = packed_count(module)
        node = ModuleNode(path, name, module._get_name(), module_text(module), count + own, [],
                          parent)  # fmt: skip
        shown = [(n, c) for n, c in module.named_children() if not is_packing(c)]
        for row, (child_name, child) in enumerate(shown):  # packed weights: in their module
            child_path = f"{path}.{child_name}" if path else child_name
            child_node = build(child, child_path, child_name, node)
            child_node.row = row
            node.children.append(child_node)
            own += packed.pop(id(child_node))
        node.parameters = count + own
        packed[id(node)] = own
        return node

    return build(model, "", model._get_name(), None)


def first_with_weights(root: ModuleNode, ran: Container[str] | None = None) -> str | None:
    """The first leaf module that has parameters (``conv1`` for the LeNet): what the weights
    panel opens on; with ``ran`` (the modules a forward called), the first of those, so that
    the activations are not empty (T5's ``shared`` embedding is called by other names)."""
    leaves = (n.path for n in root.walk() if not n.children and n.parameters > 0)
    return next((p for p in leaves if ran is None or p in ran), None)


def leaf_count(root: ModuleNode) -> int:
    """How many modules of the tree have no children (a shared one once per place)."""
    return sum(1 for node in root.walk() if not node.children)
