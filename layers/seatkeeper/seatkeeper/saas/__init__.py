"""Talking to a SaaS app over HTTP: the network guard (`network_guard`), the one client with its auth,
retries and rate-limit gate (`http`), the OAuth client (`oauth`), requests written as templates
(`templating`), paging through a list endpoint (`paging`) and reading its records (`records`); and the
notification channels that are web APIs, Slack (`slack`) and Teams (`teams`).
Knows the profile's description of an app, nothing of licenses, syncs or AWS.

May import: profiles, core.
"""
