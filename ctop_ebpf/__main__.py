try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while Python imports the command line: a stop, not a crash
    raise SystemExit(0) from None

raise SystemExit(main())
