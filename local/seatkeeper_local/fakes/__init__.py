"""The fake servers the demo and the tests talk to: a paging SaaS app of our own (paging_app), the
third-party scim2-server run locally (scim_server), and identity providers in Okta's, Microsoft
Graph's and Google's shapes (okta, entra, google, sharing identity_provider), each served on a free
loopback port (serving).

It may import seatkeeper_local.ports; never the demo, the stack or the CLI. Kept free of imports.
"""
