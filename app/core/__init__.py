"""The types every layer shares: a conversation turn, a model card, the effects a run may cause.

MATRIZ, memory, sessions and the API families all speak of these; defined here, each of them
imports this package and none has to import another for a type. So this package imports
nothing from the rest of `app` (tests/core checks it): it sits below all of them.
"""
