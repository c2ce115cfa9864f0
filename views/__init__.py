"""What a user asks to see, in plain Python: views as data, the filter
language, the engine that turns records into rows, and the batch printers.

spec.py       the shape of a view and a column (frozen data)
catalogue.py  every view; a column is one line
fields.py     the filter fields, typed (``--list-fields``)
filter/       the filter language: tree, parser, compiler
engine.py     filter, group, aggregate, sort; drill-down
pushdown.py   the part of a batch filter the kernel can apply
format.py, safe_text.py, output.py, loss.py   numbers and text for people, batch output, loss hint
"""
