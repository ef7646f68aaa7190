"""Reports: one table renderer for every format (``tables``), the ``ashbench energy`` report
(``profile_report``) and figures (``figures``). Nothing here imports torch."""
