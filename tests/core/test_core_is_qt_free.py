import subprocess
import sys


def test_core_imports_without_qt():
    code = (
        "import sys, pkgutil, importlib, inspector.core as core\n"
        "for m in pkgutil.walk_packages(core.__path__, 'inspector.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'shiboken'))]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
