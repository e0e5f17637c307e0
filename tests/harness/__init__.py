"""Drives the real Codex CLI from npm, offline, against a local mock of the model API."""
