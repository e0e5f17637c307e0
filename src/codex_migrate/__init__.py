"""codex-migrate: move OpenAI Codex conversation history between machines, and keep it usable."""

__version__ = "0.1.0"
