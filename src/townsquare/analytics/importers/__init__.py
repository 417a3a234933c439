"""Importers of platform exports (CSV, XLSX): presets for known files and a generic mapper.

The face of the package is :mod:`.service` (run an import, preview, profiles). Readers and
converters are pure (:mod:`.source` reads, :mod:`.dates`, :mod:`.fields`, :mod:`.presets`,
:mod:`.generic` convert); :mod:`.writer` is the only module that writes.
"""
