"""The web UI's screens, one module each; they share helpers through ``ui.forms`` and
``ui.common``, never by importing one another."""
