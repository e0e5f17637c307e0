"""Drives the real Codex CLI from npm, offline, against a local mock of the model API.

Modules:

* ``install``: ``codex_binary(version)`` installs pinned ``@openai/codex`` builds (``CODEX_NEW``,
  ``CODEX_OLD``) into ``<repo>/.cache/codex/<version>/`` (``$CODEX_MIGRATE_TEST_CACHE``).
* ``mock_api``: the mock Responses API (``RUN: <cmd>`` in a prompt makes it call the shell tool).
* ``codex``: ``CodexRunner`` runs ``codex exec`` / ``exec resume`` / archive in a clean env.
* ``app_server``: ``AppServer`` speaks the app-server protocol; ``list_threads_of_copy`` lists a
  home without changing it.
* ``homes``: ``copy_home`` (self-contained copies), rollout finding and reading helpers.
* ``scenario``: ``build_home(version, root)`` fills a home with real sessions; ``Scenario``.
* ``fixtures``: the checked-in homes under ``tests/fixtures/`` (``scripts/make_fixtures.py``).

Nothing here ever uses the real ``~/.codex``: every Codex process gets ``CODEX_HOME`` set to
the home under test and ``HOME`` set to a private temp folder.
"""
