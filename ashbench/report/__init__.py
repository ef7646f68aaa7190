"""Reports: one table renderer for every format (``tables``; formats in ``tables.FORMATS``), the
``ashbench energy`` report (``profile_report``) and figures (``figures``; plot kinds in
``figures.PLOTS``). Nothing here imports torch, and nothing here uses pyplot or sets a matplotlib
backend."""
