"""Statistics, one module per family of methods (as pingouin).

Pure functions over arrays and DataFrames, no I/O, each tested against published reference values
(R output kept in ``tests/reference/``).
"""
