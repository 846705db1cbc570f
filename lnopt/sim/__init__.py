"""The simulator: a Lightning-like network, payment demand, routing and fee policies.

- :mod:`~lnopt.sim.network` (with :mod:`~lnopt.sim.distributions`): a real snapshot or a
  generated graph, and our node joining it;
- :mod:`~lnopt.sim.demand`: who pays whom, how much, when;
- :mod:`~lnopt.sim.senders`: the senders' wallet software: fee budgets, splitting, fuzz;
- :mod:`~lnopt.sim.world`: one seed's network, our node, starting balances and payments;
- :mod:`~lnopt.sim.topology`, :mod:`~lnopt.sim.routing`, :mod:`~lnopt.sim.payments`,
  :mod:`~lnopt.sim.ledger`, :mod:`~lnopt.sim.mission`: path finding, attempts, retries and
  balances;
- :mod:`~lnopt.sim.gossip` and :mod:`~lnopt.sim.node`: how our fee changes spread, and our
  node's forwarding record, behind :class:`lnopt.backends.sim.SimBackend`;
- :mod:`~lnopt.sim.policy`, :mod:`~lnopt.sim.baselines`, :mod:`~lnopt.sim.lnopt_policy`,
  :mod:`~lnopt.sim.policies` (every policy by name): the fee policies compared;
- :mod:`~lnopt.sim.engine`, :mod:`~lnopt.sim.metrics`, :mod:`~lnopt.sim.hindsight`,
  :mod:`~lnopt.sim.compare`, :mod:`~lnopt.sim.report`, :mod:`~lnopt.sim.plot`,
  :mod:`~lnopt.sim.commands`: running, measuring and showing comparisons.
"""
