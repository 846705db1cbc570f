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
- :mod:`~lnopt.sim.competitors`: the other channels toward our peers re-pricing as the run goes;
- :mod:`~lnopt.sim.liquidity`: one liquidity rule for every channel, and paid rebalancing;
- :mod:`~lnopt.sim.warmup` (with :mod:`~lnopt.sim.warmup_state`): the history every policy
  starts from, not scored;
- :mod:`~lnopt.sim.scenario`: every parameter above from a YAML file;
- :mod:`~lnopt.sim.policy`, :mod:`~lnopt.sim.baselines`, :mod:`~lnopt.sim.lnopt_policy`,
  :mod:`~lnopt.sim.policies` (every policy by name): the fee policies compared;
- :mod:`~lnopt.sim.engine`, :mod:`~lnopt.sim.metrics`, :mod:`~lnopt.sim.hindsight`,
  :mod:`~lnopt.sim.compare`, :mod:`~lnopt.sim.stats`, :mod:`~lnopt.sim.report`,
  :mod:`~lnopt.sim.plot`, :mod:`~lnopt.sim.commands`: running, measuring and showing
  comparisons;
- :mod:`~lnopt.sim.tuning` and :mod:`~lnopt.sim.tune_command`: each tool's free setting tuned
  on seeds of its own.
"""
