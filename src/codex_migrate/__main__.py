from codex_migrate.cli import main

main()
