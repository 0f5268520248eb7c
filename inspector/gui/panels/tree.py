"""The module tree: a QTreeView over a QAbstractItemModel built from plain ``ModuleNode`` data."""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLineEdit,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from inspector.core.forward.summary import ModuleNode
from inspector.core.graph.autograd import format_shape

COLUMNS = ("Name", "Module", "Parameters", "Output shape")
NAME, MODULE, PARAMS, SHAPE = range(4)
_ROOT = QModelIndex()  # the invalid index Qt uses for "no parent"


class ModuleTreeModel(QAbstractItemModel):
    """Rows are modules; the single top row is the model itself (class name, total parameters)."""

    def __init__(self, root: ModuleNode | None = None, parent=None) -> None:
        super().__init__(parent)
        self._root = root
        self._shapes: dict[str, tuple[int, ...]] = {}
        self._by_path: dict[str, ModuleNode] = {}
        if root is not None:
            self.set_root(root)

    def set_root(self, root: ModuleNode) -> None:
        self.beginResetModel()
        self._root = root
        self._shapes = {}
        self._by_path = {node.path: node for node in root.walk()}
        self.endResetModel()

    shapesChanged = Signal()

    def set_shapes(self, shapes: dict[str, tuple[int, ...]]) -> None:
        """Output shapes after the last forward. Only the shape column moves, and only what is
        on screen needs repainting: the view does that on ``shapesChanged`` (a dataChanged per
        row would walk all of a 5,000-module tree)."""
        if shapes == self._shapes:
            return
        self._shapes = dict(shapes)
        self.shapesChanged.emit()

    def node(self, index: QModelIndex) -> ModuleNode | None:
        return index.internalPointer() if index.isValid() else None

    def index_for_path(self, path: str) -> QModelIndex:
        node = self._by_path.get(path)
        if node is None:
            return QModelIndex()
        return self.createIndex(node.row, 0, node)

    # -- QAbstractItemModel ---------------------------------------------------------------
    def index(self, row: int, column: int, parent=_ROOT) -> QModelIndex:
        # Checked here rather than with hasIndex(): a proxy over a 5,000-module tree asks
        # this a hundred thousand times, and each hasIndex() calls back into Python twice.
        if self._root is None or not 0 <= column < len(COLUMNS) or row < 0:
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, self._root) if row == 0 else QModelIndex()
        children = parent.internalPointer().children
        if parent.column() != 0 or row >= len(children):
            return QModelIndex()
        return self.createIndex(row, column, children[row])

    def parent(self, index=_ROOT) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        node: ModuleNode = index.internalPointer()
        up = node.parent
        if up is None:
            return QModelIndex()
        return self.createIndex(up.row, 0, up)

    def rowCount(self, parent=_ROOT) -> int:
        if self._root is None:
            return 0
        if not parent.isValid():
            return 1
        if parent.column() != 0:
            return 0
        return len(parent.internalPointer().children)

    def columnCount(self, parent=_ROOT) -> int:
        return len(COLUMNS)

    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        node: ModuleNode = index.internalPointer()
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == NAME:
                return node.name
            if column == MODULE:
                return node.text
            if column == PARAMS:
                return f"{node.parameters:,}"
            if column == SHAPE:
                return format_shape(self._shapes.get(node.path), unknown="")
        elif role == Qt.ItemDataRole.ToolTipRole:
            return f"{node.path or node.name}\n{node.text}\n{node.parameters:,} parameters"
        elif role == Qt.ItemDataRole.TextAlignmentRole and column == PARAMS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None


class ModuleTreeView(QTreeView):
    """The tree, through a filter proxy (``set_filter``); selection speaks in module paths."""

    moduleSelected = Signal(str)  # the module's qualified path ("" for the model)
    EXPAND_ALL_UP_TO = 300  # modules; a bigger model opens showing its top-level children

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("moduleTree")
        self.tree_model = ModuleTreeModel()
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.tree_model)
        self.proxy.setRecursiveFilteringEnabled(True)  # a match keeps its ancestors visible
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)  # name, module text, any column
        self.setModel(self.proxy)
        self.tree_model.shapesChanged.connect(self.viewport().update)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(True)
        self.setUniformRowHeights(True)
        header = self.header()
        header.setStretchLastSection(False)
        header.setResizeContentsPrecision(100)  # size columns from 100 rows, not every module
        header.setSectionResizeMode(MODULE, QHeaderView.ResizeMode.Stretch)
        for column in (NAME, PARAMS, SHAPE):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.selectionModel().currentRowChanged.connect(self._on_current_changed)

    def set_root(self, root: ModuleNode) -> None:
        self.tree_model.set_root(root)
        self._expand()

    def _expand(self) -> None:
        if (
            len(self.tree_model._by_path) <= self.EXPAND_ALL_UP_TO
            or self.proxy.filterRegularExpression().pattern()
        ):
            self.expandAll()
        else:
            self.expandToDepth(0)  # the model's children; open further levels on demand

    def set_filter(self, text: str) -> None:
        """Show the modules whose name or type contains ``text`` (and their ancestors)."""
        # Collapse first: re-inserting thousands of rows under expanded parents took seconds.
        self.collapseAll()
        self.proxy.setFilterFixedString(text)
        self._expand()

    def view_index_for_path(self, path: str) -> QModelIndex:
        return self.proxy.mapFromSource(self.tree_model.index_for_path(path))

    def select_path(self, path: str) -> None:
        index = self.view_index_for_path(path)
        if index.isValid():
            self.setCurrentIndex(index)
            self.scrollTo(index)

    def current_path(self) -> str | None:
        node = self.tree_model.node(self.proxy.mapToSource(self.currentIndex()))
        return None if node is None else node.path

    @Slot(QModelIndex, QModelIndex)
    def _on_current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        node = self.tree_model.node(self.proxy.mapToSource(current))
        if node is not None:
            self.moduleSelected.emit(node.path)


class TreePanel(QWidget):
    """The module tree with a filter box above it."""

    def __init__(self, tree: ModuleTreeView, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("treePanel")
        self.tree = tree
        self.filter = QLineEdit()
        self.filter.setObjectName("moduleFilter")
        self.filter.setPlaceholderText("Filter modules by name or type (Ctrl+F)")
        self.filter.setClearButtonEnabled(True)
        self.filter.setToolTip("Shows the modules whose name or type contains this text")
        # Filtering a 5,000-module tree takes a few hundred ms: wait until typing pauses.
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(200)
        self._debounce.timeout.connect(lambda: tree.set_filter(self.filter.text()))
        self.filter.textChanged.connect(self._debounce.start)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter)
        layout.addWidget(tree, 1)

    def focus_filter(self) -> None:
        """Ctrl+F: type to filter the tree (the dock is shown if it was closed)."""
        dock = self.parentWidget()
        if dock is not None and not dock.isVisible():
            dock.show()
        self.filter.setFocus()
        self.filter.selectAll()
