"""What the users of a snapshot mean for the licenses: the position (`position`), the reconciliation that
computes every profile's (`reconciliation`), reclaiming stale seats (`reclamation`) and keeping them
(`keep`), renewals (`renewals`), the overview's figures (`analytics`) and exports (`export`).

May import: sync, identity, saas, profiles, notify, core.
"""
