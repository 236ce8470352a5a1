"""The identity provider's view of an app's users: sign-ins, people (leavers), matching and exclusions,
and the apps an IdP knows about (`provider`).

May import: saas, profiles, core. Independent of connections.
"""
