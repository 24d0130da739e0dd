"""The Cloud Control API (the account's `auth_key`, v1 and v2) of the fake cloud, and the
account page that shows the key. Endpoints and the policies chosen where the docs are silent:
fake_cloud/README.md "Cloud Control API". Submodules are imported where they are used
(server.py, rest.py), so importing this package stays free of import cycles.
"""
