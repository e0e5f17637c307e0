"""``sync``: the same Codex history on several machines, through a folder a sync engine carries.

:mod:`.config` (codex-sync.toml: machines, portable roots), :mod:`.layout` (the folder, its
manifests, files in flight), :mod:`.push`, :mod:`.pull` and :mod:`.engine` (one run).
"""
