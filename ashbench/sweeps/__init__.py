"""Comparisons: sweep specs (``spec``), their execution (``runner``), the tidy runs table
(``runs_table``) and accuracy-vs-efficiency tables over seeds (``comparison``)."""
