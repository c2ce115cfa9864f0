"""The full-screen TUI, in the csysdig/htop tradition (Textual; never bcc or the probes).

app.py          CtopApp: runs model.source.run_pipeline as a worker, keeps the latest
                tick's records, one coalescing TickArrived message per tick
screens/        main (header, breadcrumb, live table, history, prompt, footer), help,
                pickers (views, sort, actions), confirm, start-up and error
widgets/        the live table (keyed diff into a DataTable), header, breadcrumb,
                filter/search prompt, history panel
navigation.py   the drill-down stack (plain Python)
cells.py        safe, fixed-width cells (views.safe_text.printable, never markup)
actions.py      signals (os.kill) and container stop/restart (Docker SDK)
keys.py         every key, for the help screen
ctop.tcss       layout and theme

(The synthetic scenario of the TUI tests and ``make screenshots`` live in tests/.)
"""
