"""seatkeeper's domain: plain Python that tracks the SaaS subscriptions of a team and reclaims idle seats.

Subpackages by concern, whose imports run one way, down (ARCHITECTURE.md; `make lint` holds the
contracts in pyproject.toml's [tool.importlinter]), from the AWS adapters to the core:

    aws          -> one adapter module per AWS service and per aggregate (DynamoDB, Secrets Manager, ...)
    licensing    -> position, reconciliation, reclamation, keep, renewals, the overview
    sync         -> a sync run: fetch the users, commit the snapshot
    identity | connections   -> the identity provider's view | connections & credentials (peers)
    saas         -> talking to a SaaS app over HTTP: guard, auth, OAuth, templating, paging
    profiles     -> the integration profile: model, catalog, stored records, the profile service
    notify       -> the events seatkeeper announces, the interface of the notification channels
    core         -> errors, settings, money, cursors

This package imports nothing itself: a function imports the modules it uses, and no more.
"""
