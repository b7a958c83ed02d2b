"""The commands behind ``python -m fastipc``.

``fastipc.__main__`` parses the arguments and calls one ``run(args)``
coroutine from here: ``serve``, ``listen``, ``emit``,
``demo``, and ``worker`` for the processes the demo starts.
``common`` holds what they share. Every command uses fastipc's public
API only, as a user's program would.
"""
