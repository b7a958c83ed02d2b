"""The commands behind ``python -m fastipc``.

:mod:`fastipc.__main__` parses the arguments and calls one ``run(args)``
coroutine from here: :mod:`.serve`, :mod:`.listen`, :mod:`.emit`,
:mod:`.demo`, and :mod:`.worker` for the processes the demo starts.
:mod:`.common` holds what they share. Every command uses fastipc's public
API only, as a user's program would.
"""
