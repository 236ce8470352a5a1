"""The integration profile, the vocabulary of the whole code base: its model (`model`), the catalog of
templates it is built from (`catalog`, `templates/`), how it is stored (`records`), how profiles refer to
each other and to their credential (`links`), and the service that creates and changes them (`service`).

May import: core. The network guard it checks URLs with is passed in (`service.UrlPolicy`).
"""
