"""Loads Vocalis's upstream_shim into every Python process started with this folder first on
PYTHONPATH (the fine-tune driver's children and, through the inherited environment, their
mp.spawn and DataLoader workers). Python imports `sitecustomize` at start-up even with `-s`.
A sitecustomize this one shadows (Debian ships one) is run afterwards."""
import importlib.util
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(_here))
try:
    import upstream_shim

    upstream_shim.install()
finally:
    sys.path.remove(os.path.dirname(_here))

for _entry in sys.path:
    if not _entry or os.path.abspath(_entry) == _here:
        continue
    _candidate = os.path.join(_entry, "sitecustomize.py")
    if os.path.isfile(_candidate):
        _spec = importlib.util.spec_from_file_location("_vocalis_shadowed_sitecustomize", _candidate)
        if _spec and _spec.loader:
            _spec.loader.exec_module(importlib.util.module_from_spec(_spec))
        break
