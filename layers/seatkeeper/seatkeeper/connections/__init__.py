"""Connections & credentials: the connection attempt, its records and the saga's side (`service`), and the
SaaS client of a connected profile, made from injected ports (`client`).

May import: saas, profiles, notify, core. Independent of identity.
"""
