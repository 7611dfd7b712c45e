"""Performance figures of onderwijsflow beside the targets of design §7, measured in one run.

One module per §7 target (`cli_start`, `engine`, `advance`, `advance_all`, `scheduler`,
`report`), each returning `table.Figure` rows with the project's figure, its floor (the bare
layer underneath) and, where one exists, its peer (`peers`: django-fsm-2, python-statemachine),
measured in the same run; shared helpers in `table`, `timing`, `floors`, `seeding` and
`environment`. Run ``python -m benchmarks`` from a checkout; `main` has the options.
"""
