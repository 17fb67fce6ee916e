"""bordersim benchmarks: ``python -m benchmarks`` (or ``make bench``); ``--smoke`` for a quick check.

Workloads (each in a fresh Python process, so its peak RSS is its own):

* ``naive``: the reference, the route decision written one Mesa agent at a time
  (:mod:`benchmarks.naive`), replaying the deciders of a window of a real
  history run, and bordersim's batched choice on the very same deciders;
* ``history``: the whole 2017-2024 history scenario at several scales (1.0 is
  every person of the US pool as an agent);
* ``ensemble``: ``bordersim compare`` of six bundled options, one worker and
  then all workers, to measure how well replications use the cores.

The table (CSV and markdown, with a description of the machine) goes to
``benchmarks/results/``. See ``docs/performance.md``.
"""
