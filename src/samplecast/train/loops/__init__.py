"""Training loops, one per module: :mod:`.lightning` trains one run under a Lightning ``Trainer``, :mod:`.vmap` trains
many runs of one depth as one batched model; both return :class:`~.outcome.RunOutcome`."""
