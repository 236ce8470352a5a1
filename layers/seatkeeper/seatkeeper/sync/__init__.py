"""A sync run: the fetch step that reads the app's users and the IdP's sign-ins (`fetch`), then the
commit that turns them into the profile's snapshot, the runs themselves and reading the snapshot (`runs`).

May import: identity, saas, profiles, notify, core.
"""
