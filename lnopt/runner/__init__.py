"""The standalone runner: ``lnopt run`` for a Core Lightning, LNbits or LND node, and the
one-shot commands that mirror the plugin's methods.

Parts: :mod:`~lnopt.runner.settings` (the settings file and options, checked as the plugin's),
:mod:`~lnopt.runner.commands` (the command line), :mod:`~lnopt.runner.daemon` (the long run and
its clean stop). The backend is built by :mod:`lnopt.backends.factory`; the store, optimizer and
scheduler are the plugin's own :class:`~lnopt.service.Service`.
"""
