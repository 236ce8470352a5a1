"""The demo story told on the local stack (story), the calls and waits it makes on the HTTP API
(client), the data it seeds (seeding), and its identity-provider chapter (identity_provider).
`python -m seatkeeper_local.demo` tells it.

It may import the stack, the fakes, seatkeeper_local.report and the domain package; never the CLI.
Kept free of imports.
"""
