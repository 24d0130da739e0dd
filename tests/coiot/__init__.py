"""CoIoT and mDNS tests (a package so the tests can share helpers from conftest)."""
